"""Fault tests run against a private MariaDB server started by the test (never the shared one)."""

from tests.faults.mariadb import mariadb, mariadb_template, private_mariadb

__all__ = ["mariadb", "mariadb_template", "private_mariadb"]
