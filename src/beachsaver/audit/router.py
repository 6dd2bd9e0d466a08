from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from beachsaver.audit.models import AuditEntry
from beachsaver.audit.schemas import AuditEntryOut
from beachsaver.core import errors
from beachsaver.core.deps import AdminUser, DbSession
from beachsaver.core.envelope import ListEnvelope, ok
from beachsaver.core.fields import MAX_ID
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.core.time import to_utc

router = APIRouter(prefix="/api/logs", tags=["audit"], route_class=ApiRoute)

SORT = {"id": AuditEntry.id, "at": AuditEntry.at, "created_at": AuditEntry.at, "action": AuditEntry.action}
FILTER = {
    "action": lambda v: AuditEntry.action == v.upper(),
    "actor_id": lambda v: AuditEntry.actor_id == int(v),
    "user_id": lambda v: AuditEntry.actor_id == int(v),
    "target_type": lambda v: AuditEntry.target_type == v.upper(),
    "target_id": lambda v: AuditEntry.target_id == int(v),
}


@router.get("", response_model=ListEnvelope[AuditEntryOut], summary="Audit log in my scope, newest first")
def list_logs(
    db: DbSession,
    principal: AdminUser,
    paging: PageParams = Depends(page_params),
    user_id: int | None = Query(None, ge=1, le=MAX_ID, description="entries whose actor is this account"),
    action: str | None = Query(None, max_length=64, description="ENTITY_VERB, e.g. AUTH_LOGIN"),
    from_: AwareDatetime | None = Query(None, alias="from", description="instant with offset; inclusive"),
    to: AwareDatetime | None = Query(None, description="instant with offset; inclusive"),
) -> dict[str, Any]:
    if from_ is not None and to is not None and to_utc(from_) > to_utc(to):
        raise errors.ValidationFailed.field("query.to", "'to' is before 'from'")
    stmt = select(AuditEntry).where(AuditEntry.org_id.in_(principal.scope_org_ids(db)))
    if user_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == user_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action.upper())
    if from_ is not None:
        stmt = stmt.where(AuditEntry.at >= to_utc(from_))
    if to is not None:
        stmt = stmt.where(AuditEntry.at <= to_utc(to))
    stmt = stmt.where(*parse_filter(paging, FILTER))
    rows, meta = paginate(db, stmt, paging, parse_sort(paging, SORT, [AuditEntry.id.desc()]))
    return ok([AuditEntryOut.model_validate(r) for r in rows], meta)
