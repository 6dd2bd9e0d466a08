"""The delivery loop, as a process (``beachsaver worker``) or as a thread of the API process.

Settings (``BEACHSAVER_`` prefix; read with defaults until they join ``Settings``):
``WORKER_INTERVAL_S`` (5: pause between rounds when the queue is drained) and
``WORKER_IN_PROCESS`` (default: on for SQLite, off for MariaDB/MySQL, where ``beachsaver
worker`` runs as its own process or processes).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from beachsaver.audit import service as audit
from beachsaver.config import Settings
from beachsaver.core.db import is_sqlite, session_scope
from beachsaver.core.runtime import Runtime
from beachsaver.notifications import delivery
from beachsaver.notifications import service as _notification_service  # registers the security alert handler
from beachsaver.notifications.providers import setting

log = logging.getLogger("beachsaver.worker")

_ = _notification_service


def interval_s(settings: Settings) -> float:
    return max(float(setting(settings, "worker_interval_s", 5)), 0.05)


def in_process_enabled(settings: Settings) -> bool:
    """Whether the API process should run the delivery loop itself."""
    value = getattr(settings, "worker_in_process", None)
    if value is None:
        return is_sqlite(settings.resolved_database_url)
    return bool(value)


def tick(runtime: Runtime, stop: threading.Event | None = None) -> int:
    """One round: seal the audit entries committed since the last round, deliver everything due
    (batch by batch), refresh the queue gauge, retry spooled direct alerts. Returns the
    deliveries attempted."""
    settings = runtime.settings
    batch = max(int(setting(settings, "notify_batch_size", 50)), 1)
    audit.seal_all(runtime.session_factory)
    total = 0
    while stop is None or not stop.is_set():
        done = delivery.deliver_pending(runtime.session_factory, settings, batch)
        total += done
        if done < batch:
            break
    with session_scope(runtime.session_factory) as db:
        delivery.queue_status(db)
    if (Path(settings.data_dir) / delivery.SPOOL_FILE).is_file():
        delivery.flush_alert_spool(settings)
    return total


def run_scheduled(runtime: Runtime) -> None:
    """Run the scheduled jobs that are due (each claimed by one worker only)."""
    from beachsaver.ops.jobs import run_due

    run_due(runtime)


def run_forever(
    runtime: Runtime, stop: threading.Event, *, interval: float | None = None, schedule: bool = True
) -> None:
    """Deliver the outbox every ``interval`` seconds until ``stop`` is set."""
    pause = interval if interval is not None else interval_s(runtime.settings)
    log.info("delivery loop started (every %.1fs)", pause)
    while not stop.is_set():
        try:
            tick(runtime, stop)
        except Exception:  # the database may be down: log, wait, try again
            log.exception("delivery round failed")
        if schedule:
            try:
                run_scheduled(runtime)
            except Exception:
                log.exception("scheduling round failed")
        stop.wait(pause)
    log.info("delivery loop stopped")


def start_in_process(runtime: Runtime, *, interval: float | None = None) -> Callable[[], None]:
    """Start the loop in a daemon thread of this process; returns the function that stops it
    (waits for the round in progress, at most ``provider_timeout_s`` + 10 s)."""
    from beachsaver.ops.dbwatch import start_db_watch

    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(runtime, stop), kwargs={"interval": interval}, name="beachsaver-delivery", daemon=True
    )
    thread.start()
    stop_watch = start_db_watch(runtime)

    def stop_loop() -> None:
        stop.set()
        stop_watch()
        thread.join(timeout=float(runtime.settings.provider_timeout_s) + 10)

    return stop_loop


def run_worker(settings: Settings, *, interval: float | None = None) -> None:
    """``beachsaver worker``: the loop in the foreground until SIGTERM or SIGINT."""
    from beachsaver.core.runtime import build_runtime

    runtime = build_runtime(settings)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current round", signum)
        stop.set()

    from beachsaver.ops.dbwatch import start_db_watch

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    stop_watch = start_db_watch(runtime)
    try:
        run_forever(runtime, stop, interval=interval)
    finally:
        stop_watch()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runtime.engine.dispose()
