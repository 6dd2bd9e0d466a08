"""Beaches: each belongs to a district; names are unique within the district."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.beaches.models import Beach
from beachsaver.beaches.schemas import BeachCreate, BeachUpdate
from beachsaver.core import errors
from beachsaver.core.deps import Principal
from beachsaver.core.enums import OrgType
from beachsaver.core.time import utcnow
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization

FIELDS = ("org_id", "beach_name", "si", "gu_gun", "dong_eub", "workplace", "latitude", "longitude", "coastline_m")


def present(beach: Beach) -> dict[str, Any]:
    return {
        "id": beach.id,
        "org_id": beach.org_id,
        "beach_name": beach.beach_name,
        "si": beach.si,
        "gu_gun": beach.gu_gun,
        "dong_eub": beach.dong_eub,
        "workplace": beach.workplace,
        "latitude": float(beach.latitude),
        "longitude": float(beach.longitude),
        "coastline_m": float(beach.coastline_m) if beach.coastline_m is not None else None,
        "created_at": beach.created_at,
        "updated_at": beach.updated_at,
    }


def snapshot(beach: Beach) -> dict[str, Any]:
    return {name: getattr(beach, name) for name in FIELDS}


def get_visible(db: Session, principal: Principal, beach_id: int, *, for_update: bool = False) -> Beach:
    """Admins: beaches of their subtree. Workers: beaches of their district."""
    stmt = select(Beach).where(Beach.id == beach_id)
    if for_update:
        stmt = stmt.with_for_update()
    beach = db.execute(stmt).scalar_one_or_none()
    if beach is None or not principal.can_see_org(db, beach.org_id):
        raise errors.NotFound()
    return beach


def list_query(db: Session, principal: Principal, *, org_id: int | None = None, q: str | None = None) -> Select[Any]:
    scope = principal.scope_org_ids(db)
    stmt = select(Beach).where(Beach.org_id.in_(scope))
    if org_id is not None:
        org = org_service.get(db, org_id)
        if org is None or org.id not in scope:
            raise errors.NotFound()
        stmt = stmt.where(Beach.org_id.in_(org_service.subtree_ids(db, org)))
    if q:
        stmt = stmt.where(func.lower(Beach.beach_name).contains(q.lower(), autoescape=True))
    return stmt


def _district_in_scope(db: Session, principal: Principal, org_id: int) -> Organization:
    org = org_service.get(db, org_id)
    if org is None or not principal.can_see_org(db, org.id):
        raise errors.NotFound()
    if org.type != OrgType.DISTRICT:
        raise errors.ValidationFailed.field("org_id", "a beach belongs to a district")
    return org


def _name_taken(db: Session, org_id: int, name: str, *, except_id: int | None = None) -> bool:
    stmt = select(Beach.id).where(Beach.org_id == org_id, func.lower(Beach.beach_name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Beach.id != except_id)
    return db.execute(stmt.limit(1)).first() is not None


def create(db: Session, principal: Principal, body: BeachCreate) -> Beach:
    org = _district_in_scope(db, principal, body.org_id)
    if _name_taken(db, org.id, body.beach_name):
        raise errors.Conflict("duplicate_name")
    now = utcnow()
    beach = Beach(
        org_id=org.id,
        beach_name=body.beach_name,
        si=body.si,
        gu_gun=body.gu_gun,
        dong_eub=body.dong_eub,
        workplace=body.workplace,
        latitude=body.latitude,
        longitude=body.longitude,
        coastline_m=body.coastline_m,
        created_at=now,
        updated_at=now,
    )
    db.add(beach)
    db.flush()
    audit.record(
        db,
        "BEACH_CREATE",
        actor_id=principal.id,
        target_type="BEACH",
        target_id=beach.id,
        org_id=beach.org_id,
        after=snapshot(beach),
    )
    return beach


def update(db: Session, principal: Principal, beach: Beach, body: BeachUpdate) -> Beach:
    changes = {name: getattr(body, name) for name in FIELDS if name in body.model_fields_set}
    if "org_id" in changes and changes["org_id"] != beach.org_id:
        _district_in_scope(db, principal, changes["org_id"])
    target_org = changes.get("org_id", beach.org_id)
    target_name = changes.get("beach_name", beach.beach_name)
    if (target_org != beach.org_id or target_name != beach.beach_name) and _name_taken(
        db, target_org, target_name, except_id=beach.id
    ):
        raise errors.Conflict("duplicate_name")
    changes = {k: v for k, v in changes.items() if getattr(beach, k) != v}
    if not changes:
        return beach
    before = snapshot(beach)
    for name, value in changes.items():
        setattr(beach, name, value)
    beach.updated_at = utcnow()
    db.flush()
    audit.record(
        db,
        "BEACH_UPDATE",
        actor_id=principal.id,
        target_type="BEACH",
        target_id=beach.id,
        org_id=beach.org_id,
        before={k: before[k] for k in changes},
        after={k: getattr(beach, k) for k in changes},
    )
    return beach
