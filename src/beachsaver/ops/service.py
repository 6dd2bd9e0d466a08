"""Incidents: the guide's form with a timeline, exported as Markdown for the post-incident report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.time import iso_z, utcnow
from beachsaver.ops.models import Incident, IncidentUpdate

FIELDS = (
    "title",
    "severity",
    "status",
    "symptoms",
    "scope",
    "first_actions",
    "owner",
    "contact",
    "cause",
    "prevention",
)


def create_incident(db: Session, *, actor_id: int, org_id: int, body: Any) -> Incident:
    incident = Incident(
        title=body.title,
        severity=body.severity,
        detected_at=body.detected_at or utcnow(),
        symptoms=body.symptoms,
        scope=body.scope,
        first_actions=body.first_actions,
        owner=body.owner,
        contact=body.contact,
        org_id=org_id,
        created_by=actor_id,
    )
    db.add(incident)
    db.flush()
    db.add(IncidentUpdate(incident_id=incident.id, author_id=actor_id, status="OPEN", note="incident opened"))
    audit.record(
        db,
        "INCIDENT_CREATE",
        actor_id=actor_id,
        target_type="INCIDENT",
        target_id=incident.id,
        org_id=org_id,
        after={"title": body.title, "severity": str(body.severity)},
    )
    return incident


def update_incident(db: Session, *, actor_id: int, incident: Incident, body: Any) -> Incident:
    changed = {
        name: getattr(body, name)
        for name in FIELDS
        if name in body.model_fields_set and getattr(body, name) is not None
    }
    before = {name: getattr(incident, name) for name in changed}
    for name, value in changed.items():
        setattr(incident, name, value)
    if changed.get("status") in ("RESOLVED", "CLOSED") and incident.resolved_at is None:
        incident.resolved_at = utcnow()
    if body.update or "status" in changed:
        db.add(
            IncidentUpdate(
                incident_id=incident.id,
                author_id=actor_id,
                status=changed.get("status"),
                note=body.update or f"status → {changed['status']}",
            )
        )
    db.flush()
    audit.record(
        db,
        "INCIDENT_UPDATE",
        actor_id=actor_id,
        target_type="INCIDENT",
        target_id=incident.id,
        org_id=incident.org_id,
        before={k: str(v) for k, v in before.items()},
        after={k: str(v) for k, v in changed.items()},
    )
    return incident


def get_in_scope(db: Session, incident_id: int, scope: list[int]) -> Incident:
    incident = db.get(Incident, incident_id)
    if incident is None or incident.org_id not in scope:
        raise errors.NotFound()
    return incident


def timeline(db: Session, incident_ids: list[int]) -> dict[int, list[IncidentUpdate]]:
    out: dict[int, list[IncidentUpdate]] = {i: [] for i in incident_ids}
    if incident_ids:
        for row in db.execute(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id.in_(incident_ids))
            .order_by(IncidentUpdate.at, IncidentUpdate.id)
        ).scalars():
            out[row.incident_id].append(row)
    return out


def present(incident: Incident, updates: list[IncidentUpdate]) -> dict[str, Any]:
    data = {
        name: getattr(incident, name)
        for name in (
            "id",
            "title",
            "severity",
            "status",
            "detected_at",
            "symptoms",
            "scope",
            "first_actions",
            "owner",
            "contact",
            "cause",
            "prevention",
            "resolved_at",
            "created_at",
            "updated_at",
        )
    }
    data["timeline"] = [{"at": u.at, "author_id": u.author_id, "status": u.status, "note": u.note} for u in updates]
    return data


def to_markdown(incident: Incident, updates: list[IncidentUpdate]) -> str:
    def block(title: str, value: str | None) -> list[str]:
        return [f"## {title}", "", value or "—", ""]

    lines = [
        f"# 장애 보고서 / Incident report #{incident.id}: {incident.title}",
        "",
        "| 항목 | 내용 |",
        "|---|---|",
        f"| 발생 일시 / Detected | {iso_z(incident.detected_at)} |",
        f"| 심각도 / Severity | {incident.severity} |",
        f"| 상태 / Status | {incident.status} |",
        f"| 담당자 / Owner | {incident.owner or '—'} |",
        f"| 연락처 / Contact | {incident.contact or '—'} |",
        f"| 해결 일시 / Resolved | {iso_z(incident.resolved_at) or '—'} |",
        "",
    ]
    lines += block("증상 / Symptoms", incident.symptoms)
    lines += block("영향 범위 / Scope", incident.scope)
    lines += block("초기 조치 / First actions", incident.first_actions)
    lines += block("원인 / Cause", incident.cause)
    lines += block("재발 방지 / Prevention", incident.prevention)
    lines += ["## 경과 / Timeline", ""]
    lines += [f"- {iso_z(u.at)} — {u.status + ': ' if u.status else ''}{u.note}" for u in updates]
    return "\n".join(lines) + "\n"


def backups(settings: Any) -> list[dict[str, Any]]:
    """The target's backups, newest first; 503 STORAGE_UNAVAILABLE when the target cannot be read."""
    from beachsaver.ops import backup

    try:
        infos = backup.list_backups(settings)
    except Exception as exc:
        raise errors.StorageUnavailable() from exc
    return [
        {
            "id": info.id,
            "label": info.label,
            "status": info.status,
            "created_at": info.created_at,
            "size": info.size,
            "seconds": info.manifest.get("seconds"),
            "encrypted": bool(info.manifest.get("encrypted")),
            "error": info.manifest.get("error"),
        }
        for info in reversed(infos)
    ]
