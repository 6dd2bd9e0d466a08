"""Database engine, sessions and the per-request transaction boundary.

One transaction per request or job: the boundary (``session_scope`` / the ``get_db``
dependency) commits or rolls back; services only flush. Callbacks that must leave the process
(messages, files) are queued with ``after_commit`` and run only once the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from time import monotonic
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import PoolResetState
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PING_TIMEOUT_S = 1.5
QUERY_TIMEOUT_S = 30
#: A pooled connection given back less than this long ago is taken without a liveness ping: it
#: has just answered, and under load the ping is one more round trip (a few ms when the CPUs
#: are busy) in every request. A connection lost meanwhile fails its first statement (503) and
#: the pool replaces it.
PING_AFTER_IDLE_S = 1.0
#: MySQL's server status flag "a transaction is open" (SERVER_STATUS_IN_TRANS in mysql_com.h)
SERVER_STATUS_IN_TRANS = 1

# Positive integer ids everywhere; SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable to MySQL DATETIME), hands out aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def normalise_database_url(url: str) -> str:
    """Accept ``mysql://``, ``mariadb://`` and ``mysql+pymysql://``; pick the PyMySQL driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
        query = dict(parsed.query)
        query.setdefault("charset", "utf8mb4")
        parsed = parsed.set(query=query)
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    url = normalise_database_url(url)
    if is_sqlite(url):
        db_path = make_url(url).database
        if db_path and db_path != ":memory:":
            from pathlib import Path

            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_pre_ping=False,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Autocommit off in the driver; SQLAlchemy emits BEGIN (IMMEDIATE for writes below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers serialise at BEGIN instead of failing on lock upgrade mid-transaction.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Fail fast when the server is gone or hangs: a short handshake and liveness ping, a short
    # wait for a pooled connection, and the long read timeout only for real statements.
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=3,
        pool_recycle=1800,
        isolation_level="READ COMMITTED",
        connect_args={"connect_timeout": 2, "read_timeout": PING_TIMEOUT_S, "write_timeout": QUERY_TIMEOUT_S},
        pool_reset_on_return=None,  # _rollback_if_open below (D47)
    )

    @event.listens_for(engine, "reset")
    def _rollback_if_open(dbapi_conn: Any, _record: Any, state: PoolResetState) -> None:
        # A connection given back to the pool is rolled back only when the server says that a
        # transaction is still open (the status flags of its last answer). SQLAlchemy's default
        # sends a ROLLBACK on every return, after the COMMIT that ends each request: a round
        # trip per request for nothing. A connection given back mid-transaction (raw use, an
        # error) is still rolled back, so no lock or uncommitted write outlives its user.
        if state.terminate_only:
            return
        status = getattr(dbapi_conn, "server_status", None)
        if status is None or status & SERVER_STATUS_IN_TRANS:
            dbapi_conn.rollback()

    @event.listens_for(engine, "connect")
    def _query_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn._read_timeout = QUERY_TIMEOUT_S

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")  # cleared when the connection is replaced
        if returned_at is not None and monotonic() - returned_at < PING_AFTER_IDLE_S:
            return
        dbapi_conn._read_timeout = PING_TIMEOUT_S
        try:
            dbapi_conn.ping(reconnect=False)
        except Exception as exc:
            raise DisconnectionError() from exc
        finally:
            dbapi_conn._read_timeout = QUERY_TIMEOUT_S

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current transaction has committed (dropped on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


def run_after_commit(session: Session) -> None:
    callbacks: list[Callable[[], None]] = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            import logging

            logging.getLogger("beachsaver.db").exception("after-commit callback failed")


def discard_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


def commit(session: Session) -> None:
    """Commit, then run what waits for the commit."""
    session.commit()
    run_after_commit(session)


def rollback(session: Session) -> None:
    """Roll back, and drop what waited for a commit."""
    session.rollback()
    discard_after_commit(session)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A job or CLI transaction: commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        commit(session)
    except BaseException:
        rollback(session)
        raise
    finally:
        session.close()


def rows_affected(db: Session, statement: Any) -> int:
    """Execute an UPDATE/DELETE and return how many rows it changed (used for compare-and-set)."""
    from sqlalchemy.engine import CursorResult

    result = db.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
