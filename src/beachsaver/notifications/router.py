"""Notifications API: my notifications, read marks, channel preferences, broadcasts, devices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from beachsaver.core.deps import AdminUser, CurrentUserOrPending, DbSession
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.notifications import service
from beachsaver.notifications.models import Notification
from beachsaver.notifications.schemas import (
    BroadcastIn,
    BroadcastOut,
    Category,
    DeviceIn,
    DeviceOut,
    NotificationOut,
    NotificationStatus,
    Preferences,
    ReadBody,
    ReadOut,
)

#: No prefix: the device registration lives under /api/users; everything else under PREFIX.
router = APIRouter(tags=["notifications"], route_class=ApiRoute)
PREFIX = "/api/notifications"

SORT = {"created_at": Notification.created_at, "id": Notification.id, "read_at": Notification.read_at}
FILTER = {
    "status": lambda v: Notification.status == NotificationStatus(v).value,
    "category": lambda v: Notification.category == Category(v).value,
}


@router.get(PREFIX, response_model=ListEnvelope[NotificationOut], summary="My notifications, newest first")
def list_notifications(
    db: DbSession,
    principal: CurrentUserOrPending,
    paging: PageParams = Depends(page_params),
    status: NotificationStatus | None = Query(None, description="UNREAD or READ"),
    category: Category | None = Query(None),
) -> dict[str, Any]:
    stmt = service.list_query(
        principal, status=status.value if status else None, category=category.value if category else None
    )
    stmt = stmt.where(*parse_filter(paging, FILTER))
    order = parse_sort(paging, SORT, [Notification.created_at.desc(), Notification.id.desc()])
    rows, meta = paginate(db, stmt, paging, order)
    return ok([NotificationOut.model_validate(r) for r in rows], meta)


@router.post(
    f"{PREFIX}/read", response_model=Envelope[ReadOut], summary="Mark notifications read ({ids} or {all: true})"
)
def mark_read(body: ReadBody, db: DbSession, principal: CurrentUserOrPending) -> dict[str, Any]:
    updated = service.mark_read(db, principal, ids=body.ids, all_=bool(body.all))
    return ok({"updated": updated})


@router.get(
    f"{PREFIX}/preferences",
    response_model=Envelope[dict[str, dict[str, bool]]],
    summary="My channels per category",
)
def get_preferences(principal: CurrentUserOrPending) -> dict[str, Any]:
    return ok(service.effective_preferences(principal.user))


@router.put(
    f"{PREFIX}/preferences",
    response_model=Envelope[dict[str, dict[str, bool]]],
    summary="Choose channels per category (ASSIGNMENT and SECURITY cannot be switched off)",
)
def put_preferences(body: Preferences, db: DbSession, principal: CurrentUserOrPending) -> dict[str, Any]:
    return ok(service.update_preferences(db, principal.user, body))


@router.post(
    f"{PREFIX}/broadcast", response_model=Envelope[BroadcastOut], summary="Admins: emergency notice to my scope"
)
def broadcast(body: BroadcastIn, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    result = service.broadcast(
        db,
        principal,
        title=body.title,
        message=body.message,
        roles=body.roles,
        org_ids=body.org_ids,
        channels=[c.value for c in body.channels] if body.channels else None,
    )
    return ok(result)


@router.post(
    "/api/users/me/devices",
    status_code=201,
    response_model=Envelope[DeviceOut],
    responses={200: {"model": Envelope[DeviceOut], "description": "The token was already registered to me"}},
    tags=["users"],
    summary="Register my push token (201 new; 200 when already mine)",
)
def register_device(
    body: DeviceIn, db: DbSession, principal: CurrentUserOrPending, response: Response
) -> dict[str, Any]:
    device, created = service.register_device(
        db, principal.user, fcm_token=body.fcm_token, platform=body.platform.value
    )
    if not created:
        response.status_code = 200
    return ok(DeviceOut.model_validate(device))
