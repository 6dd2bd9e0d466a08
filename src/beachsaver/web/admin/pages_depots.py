"""The console's depots pages (ADM-05c, G-17's depot-status view): collection depots by state on
a list and a map, one depot with its photos, and resolving an ISSUE (a form sent to
``POST /api/collection-depots/{id}/resolve``).

Reads use the depots service's visibility clause, the one ``GET /api/collection-depots`` uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from beachsaver.core.deps import DbSession, Principal
from beachsaver.core.enums import DepotStatus
from beachsaver.core.envelope import page_meta
from beachsaver.core.paging import paginate
from beachsaver.depots import service as depot_service
from beachsaver.depots.models import CollectionDepot, DepotImage
from beachsaver.reports.models import Report
from beachsaver.web import common
from beachsaver.web.admin.pages_reports import (
    STATUS_COLOURS,
    beach_names,
    error_texts,
    number,
    parse_int,
    thumbnails,
    user_names,
)
from beachsaver.web.common import WebRoute, render
from beachsaver.web.listing import local_time, page_params, pager, path_id, tile_url

router = APIRouter(route_class=WebRoute)
MAP_LIMIT = 500


def depot_query(
    db: Session, principal: Principal, status: str, report_id: int | None, q: str
) -> Select[tuple[CollectionDepot]]:
    stmt = select(CollectionDepot).where(depot_service.visible_clause(db, principal))
    if status:
        stmt = stmt.where(CollectionDepot.status == status)
    if report_id is not None:
        stmt = stmt.where(CollectionDepot.report_id == report_id)
    if q:
        stmt = stmt.where(
            or_(
                CollectionDepot.name.icontains(q, autoescape=True),
                CollectionDepot.address.icontains(q, autoescape=True),
            )
        )
    return stmt


def _when(depot: CollectionDepot) -> tuple[str, str]:
    """The time that matters for the depot's state, and which one it is."""
    if depot.status == DepotStatus.COMPLETED:
        return "completed", local_time(depot.collection_completed_at)
    if depot.status == DepotStatus.IN_ROUTE:
        return "claimed", local_time(depot.claimed_at)
    if depot.status == DepotStatus.ISSUE:
        return "issue", local_time(depot.updated_at)
    return "requested", local_time(depot.created_at)


def _first_photos(db: Session, depots: list[CollectionDepot]) -> dict[int, int]:
    """Each depot's photo for the list: the completion photo, else the first request photo."""
    out: dict[int, int] = {d.id: d.completion_image_id for d in depots if d.completion_image_id}
    missing = [d.id for d in depots if d.id not in out]
    if missing:
        for row in db.execute(
            select(DepotImage).where(DepotImage.depot_id.in_(missing)).order_by(DepotImage.position)
        ).scalars():
            out.setdefault(row.depot_id, row.image_id)
    return out


def depot_rows(db: Session, depots: list[CollectionDepot]) -> list[dict[str, Any]]:
    collectors = user_names(db, (d.collector_id for d in depots))
    report_ids = {d.report_id for d in depots}
    report_beach: dict[int, int | None] = {
        rid: beach_id
        for rid, beach_id in db.execute(select(Report.id, Report.beach_id).where(Report.id.in_(report_ids))).tuples()
    }
    beaches = beach_names(db, report_beach.values())
    photo_of = _first_photos(db, depots)
    images = thumbnails(db, photo_of.values())
    rows = []
    for d in depots:
        when_kind, when = _when(d)
        rows.append(
            {
                "id": d.id,
                "name": d.name or f"#{d.id}",
                "address": d.address,
                "report_id": d.report_id,
                "beach": beaches.get(report_beach.get(d.report_id) or 0, ""),
                "status": d.status,
                "collector": collectors.get(d.collector_id or 0, ""),
                "when_kind": when_kind,
                "when": when,
                "estimated_kg": number(d.estimated_kg),
                "collected": number(d.collected_amount),
                "issue_note": d.issue_note,
                "photo": images.get(photo_of.get(d.id, 0)),
            }
        )
    return rows


def depot_features(request: Request, depots: list[CollectionDepot]) -> list[dict[str, Any]]:
    from beachsaver.web import i18n

    lang = common.language(request)
    return [
        {
            "lat": float(d.latitude),
            "lng": float(d.longitude),
            "label": f"{d.name or '#' + str(d.id)} · " + i18n.text(f"depot_status.{d.status}", lang),
            "status": d.status,
            "href": f"/admin/depots/{d.id}",
        }
        for d in depots
        if d.latitude is not None and d.longitude is not None
    ]


@router.get("/depots")
def depot_list(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    query = dict(request.query_params)
    problems: dict[str, str] = {}
    status = query.get("status", "").strip().upper()
    if status and status not in DepotStatus.__members__:
        problems["status"] = "reports.error.choice"
        status = ""
    report_id = parse_int(query.get("report_id", ""), "report_id", problems)
    q = query.get("q", "").strip()[:100]
    params = page_params(query.get("page", ""), query.get("size", ""))
    rows: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    meta = page_meta(params.page, params.size, 0)
    if not problems:
        stmt = depot_query(db, principal, status, report_id, q)
        order: list[Any] = [CollectionDepot.created_at.desc(), CollectionDepot.id.desc()]
        found, meta = paginate(db, stmt, params, order)
        rows = depot_rows(db, found)
        on_map = list(
            db.execute(stmt.where(CollectionDepot.latitude.is_not(None)).order_by(*order).limit(MAP_LIMIT)).scalars()
        )
        features = depot_features(request, on_map)
    return render(
        request,
        "admin/depots/list.html",
        400 if problems else 200,
        nav="depots",
        rows=rows,
        status=status,
        report_id=report_id,
        q=q,
        statuses=list(DepotStatus),
        pager=pager(request, meta),
        errors=error_texts(request, problems),
        features=features,
        map_limited=meta["total"] > MAP_LIMIT,
        map_limit=MAP_LIMIT,
        tile_url=tile_url(request),
        status_class=STATUS_COLOURS,
    )


@router.get("/depots/{depot_id}")
def depot_detail(request: Request, db: DbSession, depot_id: str) -> Response:
    principal = common.admin_principal(request, db)
    depot = depot_service.get_visible(db, principal, path_id(depot_id))
    data = depot_service.present_many(db, [depot])[0]
    report = db.get(Report, depot.report_id)
    people = user_names(db, [depot.collector_id, report.user_id if report else None])
    images = thumbnails(db, [*data["image_ids"], depot.completion_image_id, depot.issue_image_id])
    beach = beach_names(db, [report.beach_id if report else None])
    when_kind, when = _when(depot)
    return render(
        request,
        "admin/depots/detail.html",
        nav="depots",
        depot=data,
        row=depot,
        report=report,
        people=people,
        beach=beach.get(report.beach_id or 0, "") if report else "",
        images=images,
        when_kind=when_kind,
        when=when,
        time=local_time,
        num=number,
        features=depot_features(request, [depot]),
        tile_url=tile_url(request),
        status_class=STATUS_COLOURS,
    )
