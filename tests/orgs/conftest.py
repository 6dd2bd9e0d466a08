"""The users world as the fixture ``w``."""

from tests.users.world import w  # noqa: F401 (a fixture)
