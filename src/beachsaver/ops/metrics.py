"""Figures computed when Prometheus scrapes the API: they live in the database or the backup
target, so every replica reports the same values, including runs made by other processes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import func, select

from beachsaver.audit.models import AuditEntry
from beachsaver.core.metrics import JOB_RUNS, SECURITY_EVENTS
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import to_utc, utcnow
from beachsaver.ops.models import JobSchedule

CACHE_S = 30.0
UNSEALED_DOC = "Audit entries committed but not chained yet (the worker seals them every few seconds)"
OLDEST_UNSEALED_DOC = "Age of the oldest audit entry not chained yet (0: none)"


def audit_backlog(runtime: Runtime) -> tuple[int, float]:
    """The audit entries the sealer has not chained yet: how many, and the oldest one's age in
    seconds (docs/decisions.md D40). A stopped worker shows as a growing age."""
    with runtime.session_factory() as db:
        count, oldest = db.execute(select(func.count(), func.min(AuditEntry.at)).where(AuditEntry.seq.is_(None))).one()
        db.rollback()
    age = max(0.0, (utcnow() - to_utc(oldest)).total_seconds()) if oldest is not None else 0.0
    return int(count), round(age, 1)


class OperationsCollector(Collector):
    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self._lock = threading.Lock()
        self._cached_at = 0.0
        self._jobs: dict[str, float] = {}
        self._backup_ts = 0.0
        self._unsealed = 0
        self._oldest_unsealed_s = 0.0

    def _refresh(self, runtime: Runtime) -> None:
        now = time.monotonic()
        if now - self._cached_at < CACHE_S:
            return
        with self._lock:
            self._cached_at = now
            try:
                with runtime.session_factory() as db:
                    rows = db.execute(select(JobSchedule.name, JobSchedule.last_run_at)).all()
                    db.rollback()
                self._jobs = {name: at.timestamp() for name, at in rows if at is not None}
            except Exception:
                pass
            with contextlib.suppress(Exception):
                self._unsealed, self._oldest_unsealed_s = audit_backlog(runtime)
            try:
                from beachsaver.ops import backup

                newest_ok = [b for b in backup.list_backups(runtime.settings) if b.status == "OK"]
                self._backup_ts = newest_ok[-1].created_at.timestamp() if newest_ok else 0.0
            except Exception:
                pass

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runtime = self.runtime
        if runtime is None:  # no app in this process yet: the families exist, without samples
            yield GaugeMetricFamily(
                "beachsaver_job_last_success_timestamp_seconds", "Last successful run of each job", labels=["job"]
            )
            for name, doc in (
                ("beachsaver_backup_last_success_timestamp_seconds", "Newest successful backup"),
                ("beachsaver_audit_unsealed_entries", UNSEALED_DOC),
                ("beachsaver_audit_oldest_unsealed_seconds", OLDEST_UNSEALED_DOC),
                ("beachsaver_db_pool_size", "Connections the pool may hold"),
                ("beachsaver_db_pool_in_use", "Connections checked out"),
            ):
                yield GaugeMetricFamily(name, doc)
            return
        self._refresh(runtime)
        jobs = GaugeMetricFamily(
            "beachsaver_job_last_success_timestamp_seconds", "Last successful run of each job", labels=["job"]
        )
        for name, ts in sorted(self._jobs.items()):
            jobs.add_metric([name], ts)
        yield jobs
        yield GaugeMetricFamily(
            "beachsaver_backup_last_success_timestamp_seconds",
            "Newest successful backup (0: none yet)",
            value=self._backup_ts,
        )
        yield GaugeMetricFamily("beachsaver_audit_unsealed_entries", UNSEALED_DOC, value=self._unsealed)
        yield GaugeMetricFamily(
            "beachsaver_audit_oldest_unsealed_seconds", OLDEST_UNSEALED_DOC, value=self._oldest_unsealed_s
        )
        pool = runtime.engine.pool
        size = getattr(pool, "size", lambda: 1)() + max(0, getattr(pool, "_max_overflow", 0))
        yield GaugeMetricFamily("beachsaver_db_pool_size", "Connections the pool may hold", value=size)
        yield GaugeMetricFamily(
            "beachsaver_db_pool_in_use", "Connections checked out", value=getattr(pool, "checkedout", lambda: 0)()
        )


COLLECTOR = OperationsCollector()
REGISTRY.register(COLLECTOR)


def install(runtime: Runtime) -> None:
    """Point the process's collector at this runtime and start every counter at zero."""
    COLLECTOR.runtime = runtime
    from beachsaver.ops import tasks  # noqa: F401 - registers the jobs
    from beachsaver.ops.jobs import REGISTRY as JOBS

    SECURITY_EVENTS.labels(kind="lockout")
    for name in JOBS:
        for outcome in ("success", "failure"):
            JOB_RUNS.labels(job=name, outcome=outcome)
