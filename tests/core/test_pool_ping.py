"""The pool's liveness ping on checkout: skipped for a connection that has just been given back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from beachsaver.core import db as core_db
from tests.conftest import MYSQL_URL


@pytest.mark.skipif(not MYSQL_URL, reason="MariaDB/MySQL only (BEACHSAVER_TEST_MYSQL_URL)")
def test_a_connection_idle_for_a_while_is_pinged_a_just_returned_one_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import pymysql

    assert MYSQL_URL is not None
    pings: list[Any] = []
    original = pymysql.connections.Connection.ping

    def counting_ping(self: Any, reconnect: bool = True) -> Any:
        pings.append(self)
        return original(self, reconnect=reconnect)

    monkeypatch.setattr(pymysql.connections.Connection, "ping", counting_ping)
    clock = {"now": 1000.0}
    monkeypatch.setattr(core_db, "monotonic", lambda: clock["now"])
    engine = core_db.make_engine(MYSQL_URL, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:  # a new connection: pinged
            conn.execute(text("SELECT 1"))
        assert len(pings) == 1
        clock["now"] += core_db.PING_AFTER_IDLE_S / 2
        with engine.connect() as conn:  # given back just now: no ping
            conn.execute(text("SELECT 1"))
        assert len(pings) == 1
        clock["now"] += core_db.PING_AFTER_IDLE_S * 2
        with engine.connect() as conn:  # idle for a while: pinged again
            conn.execute(text("SELECT 1"))
        assert len(pings) == 2
    finally:
        engine.dispose()
