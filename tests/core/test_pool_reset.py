"""A pooled MariaDB connection is rolled back on return only when a transaction is still open."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from beachsaver.core import db as core_db
from tests.conftest import MYSQL_URL

pytestmark = pytest.mark.skipif(not MYSQL_URL, reason="MariaDB/MySQL only (BEACHSAVER_TEST_MYSQL_URL)")


@pytest.fixture
def engine() -> Iterator[Engine]:
    assert MYSQL_URL is not None
    engine = core_db.make_engine(MYSQL_URL, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS pool_reset_probe"))
        conn.execute(text("CREATE TABLE pool_reset_probe (id INT PRIMARY KEY) ENGINE=InnoDB"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS pool_reset_probe"))
    engine.dispose()


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    import pymysql

    calls: list[Any] = []
    original = pymysql.connections.Connection.rollback

    def counting_rollback(self: Any) -> Any:
        calls.append(self)
        return original(self)

    monkeypatch.setattr(pymysql.connections.Connection, "rollback", counting_rollback)
    return calls


def test_a_committed_session_goes_back_without_a_rollback(engine: Engine, rollbacks: list[Any]) -> None:
    session = core_db.make_session_factory(engine)()
    session.execute(text("INSERT INTO pool_reset_probe (id) VALUES (1)"))
    session.commit()
    session.close()
    assert rollbacks == []
    with engine.connect() as conn:  # the same pooled connection, in a clean state
        assert conn.execute(text("SELECT COUNT(*) FROM pool_reset_probe")).scalar_one() == 1


def test_a_connection_given_back_mid_transaction_is_rolled_back(engine: Engine, rollbacks: list[Any]) -> None:
    raw = engine.raw_connection()  # used as a driver connection: no SQLAlchemy transaction to end
    cursor = raw.cursor()
    cursor.execute("INSERT INTO pool_reset_probe (id) VALUES (2)")
    cursor.close()
    raw.close()  # back to the pool with the insert neither committed nor rolled back
    assert len(rollbacks) == 1
    assert MYSQL_URL is not None
    other = core_db.make_engine(MYSQL_URL, pool_size=1, max_overflow=0)
    try:
        with other.begin() as conn:  # the row lock is gone and the row was never written
            conn.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
            conn.execute(text("INSERT INTO pool_reset_probe (id) VALUES (2)"))
    finally:
        other.dispose()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM pool_reset_probe")).scalar_one() == 1
