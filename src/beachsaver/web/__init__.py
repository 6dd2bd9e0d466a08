"""The two browser clients served by the same process: the admin console (/admin) and the
worker app (/app). Pages are rendered on the server from the domain services; actions go to
the JSON API with the session cookie and a CSRF header (see ``common``)."""
