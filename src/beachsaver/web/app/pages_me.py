"""The worker app's own pages: notifications (WRK-07), performance (WRK-06) and settings
(WRK-08). They read through the same services as ``/api/notifications``,
``/api/users/me/performance`` and ``/api/users/me``; the changes (mark read, nickname, channel
choices) are sent to those APIs by the page (static/js/api.js and app-depots.js). A citizen
waiting for approval may use notifications and settings, as the API allows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import DbSession, Principal, get_principal_or_pending
from beachsaver.core.enums import ADMIN_ROLES, WORKER_ROLES, DepotStatus, ReportType, Role
from beachsaver.core.paging import paginate
from beachsaver.core.phone import mask_phone
from beachsaver.core.time import to_utc, utcnow
from beachsaver.depots.models import CollectionDepot
from beachsaver.notifications import service as notification_service
from beachsaver.notifications.models import Notification
from beachsaver.notifications.schemas import NotificationOut
from beachsaver.statistics import kpis
from beachsaver.web import common
from beachsaver.web.app.pages_depots import kg_text
from beachsaver.web.common import WebRoute, render
from beachsaver.web.listing import PAGE_SIZES, local_time, page_params, pager

router = APIRouter(route_class=WebRoute)

NOTIFICATION_PAGE_SIZE = 15  # G-14: the notification lists' default, beside C-01's choices
NOTIFICATION_PAGE_SIZES = (*PAGE_SIZES, NOTIFICATION_PAGE_SIZE)
STATUSES = ("UNREAD", "READ")


def _account(request: Request, db: DbSession) -> Principal:
    """The signed-in account, a citizen waiting for approval included."""
    if not request.cookies.get(common.ACCESS_COOKIE):
        raise errors.Unauthenticated()
    return get_principal_or_pending(request, db)


def ago(value: datetime, now: datetime) -> tuple[str, dict[str, int]]:
    """A relative time as a catalogue id and its parameters ("2분 전", "1시간 전"...)."""
    seconds = max(0, int((now - to_utc(value)).total_seconds()))
    if seconds < 60:
        return "fieldops.ago_now", {}
    if seconds < 3600:
        return "fieldops.ago_minutes", {"n": seconds // 60}
    if seconds < 86400:
        return "fieldops.ago_hours", {"n": seconds // 3600}
    return "fieldops.ago_days", {"n": seconds // 86400}


def _safe_link(link: str | None) -> str | None:
    """Only the service's own paths are offered as links."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


# ---- notifications ----------------------------------------------------------------------------


@router.get("/notifications")
def notifications_page(
    request: Request,
    db: DbSession,
    status: str = Query("", max_length=10),
    category: str = Query("", max_length=20),
    page: str = "",
    size: str = "",
) -> Response:
    principal = _account(request, db)
    status, category = status.upper(), category.upper()
    if status and status not in STATUSES:
        raise errors.ValidationFailed.field("query.status", "must_be_one_of")
    if category and category not in notification_service.CATEGORIES:
        raise errors.ValidationFailed.field("query.category", "must_be_one_of")
    params = page_params(page, size, NOTIFICATION_PAGE_SIZE)
    stmt = notification_service.list_query(principal, status=status or None, category=category or None)
    rows, meta = paginate(db, stmt, params, [Notification.created_at.desc(), Notification.id.desc()])
    now = utcnow()
    items: list[dict[str, Any]] = []
    for row in rows:
        item = NotificationOut.model_validate(row).model_dump()
        item["ago"], item["ago_params"] = ago(row.created_at, now)
        item["at_text"] = local_time(row.created_at)
        item["at_iso"] = to_utc(row.created_at).isoformat()
        item["link"] = _safe_link(item["link"])
        items.append(item)
    return render(
        request,
        "app/notifications/list.html",
        nav="notifications",
        items=items,
        pager=pager(request, meta, NOTIFICATION_PAGE_SIZES),
        status=status,
        category=category,
        categories=notification_service.CATEGORIES,
        unread=notification_service.unread_count(db, principal),
    )


# ---- performance ------------------------------------------------------------------------------


@router.get("/performance")
def performance_page(request: Request, db: DbSession) -> Response:
    """My figures this month and all time (the body of GET /api/users/me/performance), and the
    pickups I completed last."""
    principal = _account(request, db)
    if principal.role not in WORKER_ROLES or str(principal.user.status) == "PENDING_APPROVAL":
        return render(request, "app/performance/index.html", nav="performance", figures=None, recent=[])
    figures = kpis.performance(db, principal)
    recent: list[dict[str, Any]] = []
    if principal.role == Role.COLLECTOR:
        rows = db.execute(
            select(CollectionDepot)
            .where(CollectionDepot.collector_id == principal.id, CollectionDepot.status == DepotStatus.COMPLETED)
            .order_by(CollectionDepot.collection_completed_at.desc(), CollectionDepot.id.desc())
            .limit(10)
        ).scalars()
        recent = [
            {
                "id": d.id,
                "name": d.name or f"#{d.id}",
                "kg": kg_text(d.collected_amount),
                "at": local_time(d.collection_completed_at),
            }
            for d in rows
        ]
    return render(
        request,
        "app/performance/index.html",
        nav="performance",
        figures=figures,
        report_types=[str(t) for t in ReportType],
        recent=recent,
        is_collector=principal.role == Role.COLLECTOR,
    )


# ---- settings ---------------------------------------------------------------------------------


def locked_channels(principal: Principal) -> set[str]:
    """``CATEGORY.CHANNEL`` pairs the preferences API refuses to switch off (assignment and
    security notices on their default channels)."""
    is_admin = principal.role in ADMIN_ROLES
    return {
        f"{category}.{channel}"
        for category in notification_service.LOCKED_CATEGORIES
        for channel in notification_service.USER_CHANNELS
        if notification_service.default_preference(category, channel, is_admin=is_admin)
    }


@router.get("/settings")
def settings_page(request: Request, db: DbSession) -> Response:
    principal = _account(request, db)
    user = principal.user
    vehicle = user.vehicle
    return render(
        request,
        "app/settings/index.html",
        nav="settings",
        phone=mask_phone(user.phone_last4),
        email=user.email,
        preferences=notification_service.effective_preferences(user),
        channels=notification_service.USER_CHANNELS,
        locked=locked_channels(principal),
        vehicle=vehicle,
        vehicle_verified=vehicle is not None and vehicle.verified_at is not None,
        pending=str(user.status) == "PENDING_APPROVAL",
    )
