"""The database watcher: one alert when the database is lost, one notice when it is back.

A daemon thread (started by the worker and by the API process that runs the scheduler in
process) opens a fresh connection every ``interval_s`` seconds and runs ``SELECT 1``. After
``failures`` consecutive failures it sends ONE alert — directly, from this process, through
``ops.alerts.send_alert`` (Slack, e-mail, SMS; spooled to a file when sending fails), never
through the database outbox, which is the thing that is down. When the database answers again
it sends one recovery notice. With the defaults (every 5 s, 3 failures, 3 s connect and read timeouts)
the alert leaves at most about 25 s after the database is lost; the target is 60 s.

Settings (``BEACHSAVER_`` prefix; read with defaults until they join ``Settings``):
``DB_WATCH_INTERVAL_S`` (5), ``DB_WATCH_FAILURES`` (3), ``OPS_PHONES`` (comma-separated phones
for the SMS; none by default). Recipients of the e-mail: ``BEACHSAVER_JOB_OWNER_EMAILS`` for
``db-watch``, else ``BEACHSAVER_OPS_EMAIL``; Slack: ``BEACHSAVER_SLACK_WEBHOOK_URL``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from beachsaver.config import Settings
from beachsaver.core.db import is_sqlite, normalise_database_url
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import utcnow
from beachsaver.ops import alerts

log = logging.getLogger("beachsaver.dbwatch")

WATCH_NAME = "db-watch"
CONNECT_TIMEOUT_S = 3


def _setting(settings: Settings, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value is None or value == "" else value


def _describe(settings: Settings) -> str:
    """``host:port/database`` (no user, no password) for the messages."""
    url = make_url(normalise_database_url(settings.resolved_database_url))
    if is_sqlite(url.render_as_string(hide_password=True)):
        return f"sqlite:{url.database}"
    return f"{url.host or 'localhost'}:{url.port or 3306}/{url.database or ''}"


def probe_engine(settings: Settings, runtime_engine: Engine | None = None) -> Engine:
    """The engine the watcher pings with: a fresh connection each time (no pool: a full pool is
    not an outage, and a pooled connection can look alive after the server went away), with a
    short connect timeout. On SQLite the runtime's engine is used."""
    url = normalise_database_url(settings.resolved_database_url)
    if is_sqlite(url):
        return runtime_engine or create_engine(url)
    return create_engine(
        url,
        poolclass=NullPool,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": CONNECT_TIMEOUT_S,
            "write_timeout": CONNECT_TIMEOUT_S,
        },
    )


class DbWatch:
    """The state machine; ``check()`` is one round (the thread calls it every ``interval_s``)."""

    def __init__(
        self,
        settings: Settings,
        ping: Callable[[], None],
        *,
        interval_s: float | None = None,
        failures: int | None = None,
    ) -> None:
        self.settings = settings
        self.ping = ping
        self.interval_s = float(interval_s if interval_s is not None else _setting(settings, "db_watch_interval_s", 5))
        self.threshold = max(int(failures if failures is not None else _setting(settings, "db_watch_failures", 3)), 1)
        self.consecutive = 0
        self.down_since: datetime | None = None
        self.alerted_at: datetime | None = None
        self.last_error = ""
        self.alerts_sent = 0
        self.recoveries_sent = 0

    @property
    def alerted(self) -> bool:
        return self.alerted_at is not None

    def check(self) -> bool:
        """Ping once and act on the result; True when the database answered."""
        try:
            self.ping()
        except Exception as exc:
            self._failed(exc)
            return False
        self._answered()
        return True

    def _failed(self, exc: Exception) -> None:
        now = utcnow()
        self.consecutive += 1
        self.down_since = self.down_since or now
        self.last_error = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"[:300]
        log.warning("database check failed (%d in a row): %s", self.consecutive, type(exc).__name__)
        if self.consecutive >= self.threshold and not self.alerted:
            self.alerted_at = now
            self.alerts_sent += 1
            self._send(
                subject="Beach-Saver: database unavailable",
                body=(
                    f"The database {_describe(self.settings)} has not answered since "
                    f"{self.down_since:%Y-%m-%d %H:%M:%SZ} ({self.consecutive} checks in a row, every "
                    f"{self.interval_s:g} s). The API answers 503 DB_UNAVAILABLE until it is back. "
                    f"Last error: {self.last_error}. Detected by {_where()}."
                ),
                key=f"db-down:{_describe(self.settings)}:{self.down_since:%Y%m%dT%H%M%S}",
            )

    def _answered(self) -> None:
        if self.alerted and self.down_since is not None:
            now = utcnow()
            self.recoveries_sent += 1
            self._send(
                subject="Beach-Saver: database available again",
                body=(
                    f"The database {_describe(self.settings)} answers again since {now:%Y-%m-%d %H:%M:%SZ}, "
                    f"after {(now - self.down_since).total_seconds():.0f} s unavailable. Detected by {_where()}."
                ),
                key=f"db-up:{_describe(self.settings)}:{self.down_since:%Y%m%dT%H%M%S}",
            )
            log.info("database available again")
        self.consecutive = 0
        self.down_since = None
        self.alerted_at = None

    def _send(self, *, subject: str, body: str, key: str) -> None:
        settings = self.settings
        phones = [p.strip() for p in str(_setting(settings, "ops_alert_phones", "")).split(",") if p.strip()]
        try:
            delivered = alerts.send_alert(
                settings,
                subject=subject,
                body=body,
                emails=alerts.owner_emails(settings, WATCH_NAME),
                phones=phones,
                key=key,
            )
        except Exception:  # never let the watcher die on a provider bug
            log.exception("sending the database alert failed")
            return
        if not delivered:
            log.error("database alert could not be sent on every channel (spooled)")

    def run(self, stop: threading.Event) -> None:
        log.info("database watch started (every %gs, alert after %d failures)", self.interval_s, self.threshold)
        while not stop.is_set():
            started = time.monotonic()
            self.check()
            stop.wait(max(self.interval_s - (time.monotonic() - started), 0.05))
        log.info("database watch stopped")


def _where() -> str:
    return f"{socket.gethostname()} (pid {os.getpid()})"


class DbWatchThread:
    """The running watcher; calling it stops it (``start_db_watch`` returns one)."""

    def __init__(self, runtime: Runtime, *, interval_s: float | None, failures: int | None) -> None:
        self.runtime = runtime
        self.engine = probe_engine(runtime.settings, runtime.engine)
        engine = self.engine

        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        self.watch = DbWatch(runtime.settings, ping, interval_s=interval_s, failures=failures)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=self.watch.run, args=(self.stop_event,), name="beachsaver-dbwatch", daemon=True
        )
        self.thread.start()

    def __call__(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=CONNECT_TIMEOUT_S + float(self.runtime.settings.provider_timeout_s) * 3 + 5)
        if self.engine is not self.runtime.engine:
            self.engine.dispose()


def start_db_watch(
    runtime: Runtime, *, interval_s: float | None = None, failures: int | None = None
) -> Callable[[], None]:
    """Start the watcher in a daemon thread; returns the function that stops it (a
    ``DbWatchThread``, whose ``.watch`` shows the state)."""
    return DbWatchThread(runtime, interval_s=interval_s, failures=failures)
