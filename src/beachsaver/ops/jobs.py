"""The scheduled-job framework: one registry, a run record per execution, metrics and alerts.

``beachsaver jobs run NAME`` runs one job now (for cron); the worker runs them on their
schedules. A job is a function ``(runtime) -> int`` returning the rows it processed; it owns
its transactions (usually one ``session_scope``). Run records are kept for runs that did work
or failed.
"""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from beachsaver.core.db import session_scope
from beachsaver.core.metrics import JOB_DURATION, JOB_RUNS
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import to_utc, utcnow
from beachsaver.ops import alerts
from beachsaver.ops.models import JobRun, JobSchedule

log = logging.getLogger("beachsaver.jobs")

JobFunc = Callable[[Runtime], int]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    every_s: int
    description: str


REGISTRY: dict[str, JobSpec] = {}


def job(name: str, every_s: int, description: str) -> Callable[[JobFunc], JobFunc]:
    def register(func: JobFunc) -> JobFunc:
        REGISTRY[name] = JobSpec(name=name, func=func, every_s=every_s, description=description)
        return func

    return register


@dataclass
class RunResult:
    job: str
    outcome: str
    rows: int
    error: str | None
    seconds: float
    run_id: int | None


def run(runtime: Runtime, name: str) -> RunResult:
    """Run one job now, record it, export metrics, alert the owner on failure."""
    from beachsaver.ops import tasks  # noqa: F401 - registers the jobs

    spec = REGISTRY.get(name)
    if spec is None:
        raise KeyError(name)
    with session_scope(runtime.session_factory) as db:
        record = JobRun(job=name, host=socket.gethostname()[:100], outcome="RUNNING")
        db.add(record)
        db.flush()
        run_id = record.id
    started = time.perf_counter()
    rows, error = 0, None
    try:
        rows = int(spec.func(runtime) or 0)
        outcome = "SUCCESS"
    except Exception as exc:
        outcome = "FAILURE"
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("job %s failed: %s\n%s", name, error, traceback.format_exc())
    seconds = time.perf_counter() - started
    JOB_RUNS.labels(job=name, outcome=outcome.lower()).inc()
    JOB_DURATION.labels(job=name).observe(seconds)
    kept: int | None = run_id
    try:
        with session_scope(runtime.session_factory) as db:
            finished = db.get(JobRun, run_id)
            if finished is not None:
                if outcome == "SUCCESS" and rows == 0:
                    db.delete(finished)
                    kept = None
                else:
                    finished.outcome = outcome
                    finished.rows = rows
                    finished.error = error
                    finished.finished_at = utcnow()
    except Exception:
        log.exception("could not record the run of %s", name)
    if outcome == "SUCCESS":
        _mark_success(runtime, name)
    else:
        alerts.send_alert(
            runtime.settings,
            subject=f"Beach-Saver job failed: {name}",
            body=f"The scheduled job '{name}' failed at {utcnow():%Y-%m-%d %H:%M:%SZ}: {error}",
            emails=alerts.owner_emails(runtime.settings, name),
            key=f"job-failure:{name}:{run_id}",
        )
    return RunResult(job=name, outcome=outcome, rows=rows, error=error, seconds=seconds, run_id=kept)


def _mark_success(runtime: Runtime, name: str) -> None:
    """``job_schedules.last_run_at`` is the last successful run (exported at scrape time)."""
    try:
        with session_scope(runtime.session_factory) as db:
            schedule = db.get(JobSchedule, name)
            if schedule is None:
                db.add(JobSchedule(name=name, next_run_at=utcnow(), last_run_at=utcnow()))
            else:
                schedule.last_run_at = utcnow()
    except Exception:
        log.exception("could not record the success of %s", name)


def due_jobs(runtime: Runtime) -> list[str]:
    """Claim the jobs whose time has come (row-locked so two workers never take the same one)."""
    from beachsaver.ops import tasks  # noqa: F401 - registers the jobs

    now = utcnow()
    claimed: list[str] = []
    with session_scope(runtime.session_factory) as db:
        existing = {s.name: s for s in db.execute(select(JobSchedule)).scalars()}
        for name, spec in REGISTRY.items():
            if spec.every_s <= 0:
                continue  # run by its own loop (the worker delivers continuously) or by hand
            if name not in existing:
                db.add(JobSchedule(name=name, next_run_at=now + timedelta(seconds=min(spec.every_s, 60))))
        db.flush()
    for name, spec in REGISTRY.items():
        if spec.every_s <= 0:
            continue
        with session_scope(runtime.session_factory) as db:
            stmt = select(JobSchedule).where(JobSchedule.name == name, JobSchedule.next_run_at <= now)
            if runtime.engine.dialect.name == "mysql":
                stmt = stmt.with_for_update(skip_locked=True)
            schedule = db.execute(stmt).scalar_one_or_none()
            if schedule is None:
                continue
            schedule.next_run_at = max(to_utc(schedule.next_run_at), now - timedelta(seconds=spec.every_s)) + timedelta(
                seconds=spec.every_s
            )
            if to_utc(schedule.next_run_at) <= now:
                schedule.next_run_at = now + timedelta(seconds=spec.every_s)
            claimed.append(name)
    return claimed


def run_due(runtime: Runtime) -> list[RunResult]:
    return [run(runtime, name) for name in due_jobs(runtime)]
