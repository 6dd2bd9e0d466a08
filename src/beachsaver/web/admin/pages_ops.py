"""The console's operations area (platform and city admins): the service's state at a glance,
incidents with their timeline, inspection records, backups and scheduled job runs."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select, text

from beachsaver.core import errors
from beachsaver.core.deps import DbSession, Principal
from beachsaver.core.enums import Role
from beachsaver.core.paging import paginate
from beachsaver.core.time import to_utc, utcnow
from beachsaver.ops import service as ops_service
from beachsaver.ops.models import Incident, Inspection, JobRun
from beachsaver.ops.schemas import IncidentStatus, Severity
from beachsaver.web import common
from beachsaver.web.common import WebRoute, render
from beachsaver.web.listing import page_params, pager

router = APIRouter(route_class=WebRoute)
OPS_ROLES = (Role.PLATFORM_ADMIN, Role.CITY_ADMIN)


def _ops_admin(request: Request, db: DbSession) -> Principal:
    principal = common.admin_principal(request, db)
    common.require_page_roles(principal, *OPS_ROLES)
    return principal


def _components(request: Request) -> dict[str, dict[str, Any]]:
    """The readiness checks of /health/ready, each run on its own (all shown, not the first failure)."""
    runtime = request.app.state.runtime
    found: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        found["db"] = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception:
        found["db"] = {"ok": False}
    for name, check in getattr(request.app.state, "readiness_checks", {}).items():
        try:
            found[name] = dict(check(runtime))
        except Exception:
            found[name] = {"ok": False}
    return found


@router.get("/ops")
def overview(request: Request, db: DbSession) -> Response:
    # First, before this request's session holds SQLite's write lock (BEGIN IMMEDIATE): the
    # checks open sessions of their own. Shown only to the admins checked next.
    components = _components(request)
    principal = _ops_admin(request, db)
    scope = principal.scope_org_ids(db)
    open_incidents = list(
        db.execute(
            select(Incident)
            .where(Incident.org_id.in_(scope), Incident.status.in_(["OPEN", "MITIGATED"]))
            .order_by(Incident.detected_at.desc())
            .limit(10)
        ).scalars()
    )
    inspection = db.execute(select(Inspection).order_by(Inspection.at.desc()).limit(1)).scalar_one_or_none()
    since = utcnow() - timedelta(days=1)
    failed_runs = list(
        db.execute(
            select(JobRun)
            .where(JobRun.outcome == "FAILED", JobRun.started_at >= since)
            .order_by(JobRun.started_at.desc())
            .limit(10)
        ).scalars()
    )
    try:
        backups = ops_service.backups(request.app.state.settings)
        backup_error = False
    except errors.StorageUnavailable:
        backups, backup_error = [], True
    newest_ok = next((b for b in backups if b["status"] == "OK"), None)
    backup_age_h = round((utcnow() - to_utc(newest_ok["created_at"])).total_seconds() / 3600, 1) if newest_ok else None
    return render(
        request,
        "admin/ops/overview.html",
        nav="operations",
        components=components,
        incidents=open_incidents,
        inspection=inspection,
        failed_runs=failed_runs,
        newest_backup=newest_ok,
        backup_age_h=backup_age_h,
        backup_error=backup_error,
    )


@router.get("/ops/incidents")
def incidents(request: Request, db: DbSession, status: str = "", page: str = "", size: str = "") -> Response:
    principal = _ops_admin(request, db)
    stmt = select(Incident).where(Incident.org_id.in_(principal.scope_org_ids(db)))
    if status:
        if status not in {s.value for s in IncidentStatus}:
            raise errors.ValidationFailed.field("query.status", "must_be_one_of")
        stmt = stmt.where(Incident.status == status)
    rows, meta = paginate(db, stmt, page_params(page, size), [Incident.detected_at.desc(), Incident.id.desc()])
    return render(
        request,
        "admin/ops/incidents.html",
        nav="operations",
        incidents=rows,
        pager=pager(request, meta),
        status=status,
        statuses=[s.value for s in IncidentStatus],
        severities=[s.value for s in Severity],
    )


@router.get("/ops/incidents/{incident_id}")
def incident_detail(request: Request, db: DbSession, incident_id: int) -> Response:
    principal = _ops_admin(request, db)
    incident = ops_service.get_in_scope(db, incident_id, principal.scope_org_ids(db))
    shown = ops_service.present(incident, ops_service.timeline(db, [incident.id])[incident.id])
    return render(
        request,
        "admin/ops/incident.html",
        nav="operations",
        incident=shown,
        statuses=[s.value for s in IncidentStatus],
        severities=[s.value for s in Severity],
    )


@router.get("/ops/inspections")
def inspections(request: Request, db: DbSession, page: str = "", size: str = "") -> Response:
    _ops_admin(request, db)
    order = [Inspection.at.desc(), Inspection.id.desc()]
    rows, meta = paginate(db, select(Inspection), page_params(page, size), order)
    return render(request, "admin/ops/inspections.html", nav="operations", inspections=rows, pager=pager(request, meta))


@router.get("/ops/backups")
def backups(request: Request, db: DbSession) -> Response:
    _ops_admin(request, db)
    try:
        rows, unavailable = ops_service.backups(request.app.state.settings), False
    except errors.StorageUnavailable:
        rows, unavailable = [], True
    return render(request, "admin/ops/backups.html", nav="operations", backups=rows[:100], unavailable=unavailable)


@router.get("/ops/job-runs")
def job_runs(
    request: Request,
    db: DbSession,
    job: str = Query("", max_length=40),
    outcome: str = Query("", max_length=16),
    page: str = "",
    size: str = "",
) -> Response:
    _ops_admin(request, db)
    stmt = select(JobRun)
    if job:
        stmt = stmt.where(JobRun.job == job)
    if outcome:
        stmt = stmt.where(JobRun.outcome == outcome.upper())
    rows, meta = paginate(db, stmt, page_params(page, size), [JobRun.started_at.desc(), JobRun.id.desc()])
    from beachsaver.ops import tasks  # noqa: F401 - registers the jobs
    from beachsaver.ops.jobs import REGISTRY

    return render(
        request,
        "admin/ops/job_runs.html",
        nav="operations",
        runs=rows,
        pager=pager(request, meta),
        job=job,
        outcome=outcome.upper(),
        jobs=sorted(REGISTRY),
    )
