"""The console's operations area: incidents, inspections, backups and job runs (platform and city admins)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import DbSession, Principal, require_roles
from beachsaver.core.enums import Role
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.fields import IdPath
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_sort
from beachsaver.ops import service
from beachsaver.ops.models import Incident, Inspection, JobRun
from beachsaver.ops.schemas import BackupOut, IncidentCreate, IncidentOut, IncidentPatch, InspectionOut, JobRunOut

router = APIRouter(prefix="/api/ops", tags=["operations"], route_class=ApiRoute)
OpsAdmin = Depends(require_roles(Role.PLATFORM_ADMIN, Role.CITY_ADMIN))


@router.get("/incidents", response_model=ListEnvelope[IncidentOut], summary="Incidents in my scope")
def list_incidents(
    db: DbSession,
    principal: Principal = OpsAdmin,
    paging: PageParams = Depends(page_params),
    status: str | None = Query(None, max_length=16),
) -> dict[str, Any]:
    stmt = select(Incident).where(Incident.org_id.in_(principal.scope_org_ids(db)))
    if status:
        stmt = stmt.where(Incident.status == status.upper())
    sort = {
        "created_at": Incident.created_at,
        "id": Incident.id,
        "detected_at": Incident.detected_at,
        "severity": Incident.severity,
    }
    rows, meta = paginate(db, stmt, paging, parse_sort(paging, sort, [Incident.created_at.desc(), Incident.id.desc()]))
    updates = service.timeline(db, [r.id for r in rows])
    return ok([service.present(r, updates[r.id]) for r in rows], meta)


@router.post("/incidents", status_code=201, response_model=Envelope[IncidentOut], summary="Open an incident")
def create_incident(body: IncidentCreate, db: DbSession, principal: Principal = OpsAdmin) -> dict[str, Any]:
    incident = service.create_incident(db, actor_id=principal.id, org_id=principal.org.id, body=body)
    return ok(service.present(incident, service.timeline(db, [incident.id])[incident.id]))


@router.get("/incidents/{incident_id}", response_model=Envelope[IncidentOut], summary="One incident")
def get_incident(incident_id: IdPath, db: DbSession, principal: Principal = OpsAdmin) -> dict[str, Any]:
    incident = service.get_in_scope(db, incident_id, principal.scope_org_ids(db))
    return ok(service.present(incident, service.timeline(db, [incident.id])[incident.id]))


@router.patch("/incidents/{incident_id}", response_model=Envelope[IncidentOut], summary="Update, add to the timeline")
def update_incident(
    incident_id: IdPath, body: IncidentPatch, db: DbSession, principal: Principal = OpsAdmin
) -> dict[str, Any]:
    incident = service.get_in_scope(db, incident_id, principal.scope_org_ids(db))
    service.update_incident(db, actor_id=principal.id, incident=incident, body=body)
    return ok(service.present(incident, service.timeline(db, [incident.id])[incident.id]))


@router.get(
    "/incidents/{incident_id}/export.md",
    summary="The post-incident report as Markdown",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}}},
)
def export_incident(incident_id: IdPath, db: DbSession, principal: Principal = OpsAdmin) -> Response:
    incident = service.get_in_scope(db, incident_id, principal.scope_org_ids(db))
    text = service.to_markdown(incident, service.timeline(db, [incident.id])[incident.id])
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="incident-{incident.id}.md"'},
    )


@router.get("/inspections", response_model=ListEnvelope[InspectionOut], summary="Inspection records")
def list_inspections(
    db: DbSession, principal: Principal = OpsAdmin, paging: PageParams = Depends(page_params)
) -> dict[str, Any]:
    rows, meta = paginate(
        db,
        select(Inspection),
        paging,
        parse_sort(paging, {"at": Inspection.at, "id": Inspection.id}, [Inspection.at.desc(), Inspection.id.desc()]),
    )
    return ok([InspectionOut.model_validate(r, from_attributes=True) for r in rows], meta)


@router.get("/job-runs", response_model=ListEnvelope[JobRunOut], summary="Scheduled job runs")
def list_job_runs(
    db: DbSession,
    principal: Principal = OpsAdmin,
    paging: PageParams = Depends(page_params),
    job: str | None = Query(None, max_length=40),
    outcome: str | None = Query(None, max_length=16),
) -> dict[str, Any]:
    stmt = select(JobRun)
    if job:
        stmt = stmt.where(JobRun.job == job)
    if outcome:
        stmt = stmt.where(JobRun.outcome == outcome.upper())
    rows, meta = paginate(
        db,
        stmt,
        paging,
        parse_sort(
            paging, {"started_at": JobRun.started_at, "id": JobRun.id}, [JobRun.started_at.desc(), JobRun.id.desc()]
        ),
    )
    return ok([JobRunOut.model_validate(r, from_attributes=True) for r in rows], meta)


@router.get(
    "/backups",
    response_model=ListEnvelope[BackupOut],
    summary="Backups in the configured target, newest first",
    description="Read from the target's manifests (the bookkeeping lives with the backups, not in the database).",
)
def list_backups(
    request: Request, principal: Principal = OpsAdmin, paging: PageParams = Depends(page_params)
) -> dict[str, Any]:
    rows = service.backups(request.app.state.runtime.settings)
    start = (paging.page - 1) * paging.size
    total = len(rows)
    meta = {"page": paging.page, "size": paging.size, "total": total, "total_pages": -(-total // paging.size)}
    return ok(rows[start : start + paging.size], meta)


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = "firing"
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class AlertmanagerPayload(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = "firing"
    alerts: list[AlertmanagerAlert] = []


@router.post("/alerts/webhook", response_model=Envelope[dict[str, int]], summary="Alertmanager → SMS relay")
def alert_webhook(
    body: AlertmanagerPayload,
    request: Request,
    channel: str = Query("sms", pattern="^(sms)$"),
    team: str = Query("ops", pattern="^(ops|security|dev|management)$"),
) -> dict[str, Any]:
    """Alertmanager's webhook receiver texts the team's phones (token: BEACHSAVER_ALERT_WEBHOOK_TOKEN)."""
    from beachsaver.ops.alerts import send_alert

    settings = request.app.state.runtime.settings
    token = getattr(settings, "alert_webhook_token", None)
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given, token):
        raise errors.Unauthenticated()
    phones_setting = settings.security_alert_phones if team == "security" else getattr(settings, "ops_alert_phones", "")
    phones = [p.strip() for p in (phones_setting or "").split(",") if p.strip()]
    sent = 0
    for alert in body.alerts:
        name = alert.labels.get("alertname", "alert")
        summary = alert.annotations.get("summary", name)
        delivered = send_alert(
            settings,
            subject=f"{alert.status.upper()} {name}",
            body=summary,
            phones=phones,
            slack=False,
            key=f"am:{name}:{alert.labels.get('instance', '')}:{alert.status}",
        )
        sent += len(phones) if delivered else 0
    return ok({"alerts": len(body.alerts), "sent": sent})
