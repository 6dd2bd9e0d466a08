"""The background worker: outbox delivery (and, later, the scheduled jobs).

``beachsaver worker`` runs ``loop.run_forever`` until SIGTERM; on the single-server SQLite
default the API process runs the same loop in a thread (``loop.start_in_process``).
"""
