"""Console: the audit log (``/admin/audit``): the entries of the admin's scope, newest first,
filtered by actor, action, target and period, paged.

The list is the API's own: ``audit.router.list_logs`` (``GET /api/logs``: scope, filters and
order) is called with the page's filters; the period's days are cut in Asia/Seoul.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from beachsaver.audit import router as audit_api
from beachsaver.core import errors
from beachsaver.core.deps import DbSession
from beachsaver.core.time import SEOUL
from beachsaver.users.models import User
from beachsaver.web import common, listing
from beachsaver.web.admin import analytics_support as support
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)

TARGET_TYPE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")


def _pretty(data: dict[str, Any] | None) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, default=str)


@router.get("/audit")
def audit_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    query = support.Query(request.query_params)
    actor_id = query.ident("actor_id")
    action = query.text("action", 64).upper()
    target_type = query.text("target_type", 32).upper()
    target_id = query.ident("target_id")
    day_from, day_to = query.day("from"), query.day("to")
    if target_type and not set(target_type) <= TARGET_TYPE_CHARS:
        query.problems.append({"field": "target_type", "message": "invalid_format"})
    if action and not set(action) <= TARGET_TYPE_CHARS:
        query.problems.append({"field": "action", "message": "invalid_format"})
    paging = query.paging()
    filters = {
        "actor_id": actor_id or "",
        "action": action,
        "target_type": target_type,
        "target_id": target_id or "",
        "from": query.text("from"),
        "to": query.text("to"),
    }
    values: dict[str, Any] = {
        "nav": "audit",
        "filters": filters,
        "rows": [],
        "pager": None,
        "errors": {},
        "actors": {},
        "local": listing.local_time,
        "pretty": _pretty,
    }
    try:
        query.check()
        target_filter = ",".join(
            part
            for part in (
                f"target_type={target_type}" if target_type else "",
                f"target_id={target_id}" if target_id else "",
            )
            if part
        )
        paging.filter = target_filter or None
        result = audit_api.list_logs(
            db,
            principal,
            paging,
            user_id=actor_id,
            action=action or None,
            from_=datetime.combine(day_from, time.min, SEOUL) if day_from else None,
            to=datetime.combine(day_to + timedelta(days=1), time.min, SEOUL) - timedelta(microseconds=1)
            if day_to
            else None,
        )
    except errors.ValidationFailed as exc:
        values["errors"] = support.field_errors(exc, common.language(request))
        return render(request, "admin/audit/list.html", 400, **values)
    rows = result["data"]
    actor_ids = {r.actor_id for r in rows if r.actor_id is not None}
    if actor_ids:
        found = db.execute(select(User.id, User.nickname).where(User.id.in_(actor_ids)))
        values["actors"] = {int(uid): str(nick) for uid, nick in found}
    values["rows"] = rows
    values["pager"] = listing.pager(request, result["meta"])
    return render(request, "admin/audit/list.html", **values)
