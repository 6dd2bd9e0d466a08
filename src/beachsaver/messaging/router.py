"""Dev-only message outbox (404 outside dev)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import DbSession
from beachsaver.core.envelope import Envelope, UtcDateTime, ok
from beachsaver.core.http import ApiRoute
from beachsaver.core.phone import normalise_phone
from beachsaver.messaging.models import DevMessage

router = APIRouter(prefix="/api/dev", tags=["dev"], route_class=ApiRoute)


class DevMessageOut(BaseModel):
    id: int
    channel: str
    to: str
    phone: str | None
    purpose: str | None
    code: str | None
    subject: str | None
    body: str
    created_at: UtcDateTime


def require_dev_outbox(request: Request) -> None:
    """Resolved before the query parameters are checked, so that a disabled outbox is a 404."""
    if not request.app.state.runtime.settings.dev_outbox_enabled:
        raise errors.NotFound()


@router.get(
    "/messages",
    response_model=Envelope[list[DevMessageOut]],
    summary="Dev outbox (dev only): messages the service sent, newest first",
    dependencies=[Depends(require_dev_outbox)],
)
def dev_messages(
    db: DbSession,
    phone: str | None = Query(None, max_length=20, description="any accepted phone form"),
    channel: str | None = Query(None, max_length=16, description="ALIMTALK, SMS, EMAIL, PUSH, SLACK, …"),
    size: int = Query(20, ge=1, le=100, description="at most 100"),
) -> dict[str, Any]:
    stmt = select(DevMessage)
    if phone:
        normalised = normalise_phone(phone)
        if normalised is None:
            raise errors.ValidationFailed.field("query.phone", "not a Korean mobile number")
        stmt = stmt.where(DevMessage.phone == normalised)
    if channel:
        stmt = stmt.where(DevMessage.channel == channel.strip().upper())
    rows = db.execute(stmt.order_by(DevMessage.id.desc()).limit(size)).scalars().all()
    return ok([DevMessageOut.model_validate(r, from_attributes=True) for r in rows])
