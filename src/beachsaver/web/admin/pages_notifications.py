"""Console: my notifications (ADM-06) and the emergency broadcast, ``/admin/notifications``.

The list reads through ``notifications.service`` (the API's query: the admin's own
notifications); marking read and broadcasting are forms sent to ``POST /api/notifications/read``
and ``POST /api/notifications/broadcast`` by ``api.js``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from beachsaver.core import errors
from beachsaver.core.deps import DbSession
from beachsaver.core.enums import Role
from beachsaver.core.paging import paginate
from beachsaver.notifications import service as notification_service
from beachsaver.notifications.models import Notification
from beachsaver.notifications.schemas import Category, NotificationStatus, UserChannel
from beachsaver.web import common, listing
from beachsaver.web.admin import analytics_support as support
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)

ORDER = [Notification.created_at.desc(), Notification.id.desc()]


@router.get("/notifications")
def notifications_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    query = support.Query(request.query_params)
    status = query.choice("status", [s.value for s in NotificationStatus])
    category = query.choice("category", [c.value for c in Category])
    paging = query.paging()
    filters = {"status": status or "", "category": category or ""}
    values: dict[str, Any] = {
        "nav": "notifications",
        "filters": filters,
        "statuses": [s.value for s in NotificationStatus],
        "categories": [c.value for c in Category],
        "roles": [r.value for r in Role],
        "channels": [c.value for c in UserChannel],
        "orgs": listing.org_choices(db, principal),
        "unread": notification_service.unread_count(db, principal),
        "rows": [],
        "pager": None,
        "errors": {},
        "local": listing.local_time,
    }
    try:
        query.check()
    except errors.ValidationFailed as exc:
        values["errors"] = support.field_errors(exc, common.language(request))
        return render(request, "admin/notifications/list.html", 400, **values)
    stmt = notification_service.list_query(principal, status=status, category=category)
    rows, meta = paginate(db, stmt, paging, ORDER)
    values["rows"] = rows
    values["pager"] = listing.pager(request, meta)
    return render(request, "admin/notifications/list.html", **values)
