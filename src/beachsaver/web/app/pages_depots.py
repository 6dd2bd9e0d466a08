"""The worker app's pickup pages (WRK-04e, G-27): the depots of the collector's district, nearest
first from the device's position, on a map with a numbered visiting order, with claim, completion
and issue actions sent to the depots API by the page's script (static/js/app-depots.js).

The page sorts by the ``near=lat,lng`` query parameter, which the script fills from
``navigator.geolocation``; without it (no permission, no fix) the list keeps the API's own order
(newest request first). Scope, the verified-vehicle rule and the once-only completion stay in
``beachsaver.depots.service``; this module only reads and lays out.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import DbSession, Principal
from beachsaver.core.enums import DepotStatus, Role
from beachsaver.core.geo import visiting_order
from beachsaver.core.paging import paginate
from beachsaver.depots import service as depot_service
from beachsaver.depots.models import CollectionDepot
from beachsaver.depots.router import parse_point
from beachsaver.web import common, i18n
from beachsaver.web.common import WebRoute, render
from beachsaver.web.listing import local_time, page_params, pager, path_id, tile_url

router = APIRouter(route_class=WebRoute)

#: The list's views: the statuses each one shows (None: every status the caller may see).
VIEWS: dict[str, tuple[DepotStatus, ...] | None] = {
    "active": (DepotStatus.WAITING, DepotStatus.IN_ROUTE),
    "completed": (DepotStatus.COMPLETED,),
    "issue": (DepotStatus.ISSUE,),
    "all": None,
}
#: The states a depot is shown in (IN_ROUTE is split into the caller's own and another's).
STATES = ("waiting", "mine", "taken", "completed", "issue")
#: Roles that GET /api/collection-depots refuses (the page follows the API).
NO_DEPOTS = (Role.INVESTIGATOR, Role.CITIZEN)


def _viewer(request: Request, db: DbSession) -> Principal:
    principal = common.web_principal(request, db)
    if principal.role in NO_DEPOTS:
        raise errors.Forbidden()
    return principal


def verified_collector(principal: Principal) -> bool:
    """Whether the page offers the actions; the API enforces the same rule (403
    ``collector_unverified``), this only avoids showing buttons that would be refused."""
    vehicle = principal.user.vehicle
    return principal.role == Role.COLLECTOR and vehicle is not None and vehicle.verified_at is not None


def _position(near: str | None) -> tuple[float, float] | None:
    if not near:
        return None
    try:
        return parse_point(near, "near")
    except errors.ValidationFailed:
        return None  # a bad or stale position: the list falls back to the district's order


def kg_text(value: Any) -> str:
    return f"{float(value):,.2f}" if value is not None else ""


def distance_text(metres: float | None) -> str:
    if metres is None:
        return ""
    return f"{metres:,.0f} m" if metres < 1000 else f"{metres / 1000:,.1f} km"


def _state(depot: dict[str, Any], principal: Principal) -> str:
    """The state shown: the depot status, with IN_ROUTE split into mine and taken (conflict)."""
    status = str(depot["status"])
    if status == DepotStatus.IN_ROUTE:
        return "mine" if depot["collector_id"] == principal.id else "taken"
    return status.lower()


def _cards(
    db: DbSession, principal: Principal, rows: list[CollectionDepot], position: tuple[float, float] | None
) -> list[dict[str, Any]]:
    cards = depot_service.present_many(db, rows)
    if position is not None:
        cards = depot_service.with_distance(cards, position)
    by_id = {row.id: row for row in rows}
    for card in cards:
        row = by_id[card["id"]]
        card["state"] = _state(card, principal)
        card["distance_text"] = distance_text(card.get("distance_m"))
        card["completed_text"] = local_time(card["collection_completed_at"])
        card["collected_text"] = kg_text(card["collected_amount"])
        card["estimated_text"] = kg_text(card["estimated_kg"])
        card["requested_text"] = local_time(card["created_at"])
        # The problem note is shown to whoever reported it and to admins.
        show_issue = row.status == DepotStatus.ISSUE and (row.collector_id == principal.id or principal.is_admin)
        card["issue_note"] = row.issue_note if show_issue else None
        card["route"] = None
    _number_route(cards, position)
    return cards


def _number_route(cards: list[dict[str, Any]], position: tuple[float, float] | None) -> None:
    """Numbers the depots the collector can still visit (waiting, or on its own route) in the
    visiting order of ``core.geo`` (nearest neighbour from the position, then 2-opt); without a
    position the walk starts at the first depot of the list."""
    stops = [c for c in cards if c["state"] in ("waiting", "mine") and c["latitude"] is not None]
    if not stops:
        return
    points = [(float(c["latitude"]), float(c["longitude"])) for c in stops]
    start = position or points[0]
    for rank, index in enumerate(visiting_order(start, points), start=1):
        stops[index]["route"] = rank


def _map_data(request: Request, cards: list[dict[str, Any]], position: tuple[float, float] | None) -> dict[str, Any]:
    lang = common.language(request)
    return {
        "tiles": tile_url(request),
        "position": list(position) if position else None,
        "labels": {
            **{state: i18n.text(f"fieldops.state.{state}", lang) for state in STATES},
            "position": i18n.text("fieldops.my_position", lang),
            "route": i18n.text("fieldops.route_no", lang, n="{n}"),
            "open": i18n.text("fieldops.open_card", lang),
        },
        "depots": [
            {
                "id": c["id"],
                "name": c["name"] or f"#{c['id']}",
                "lat": c["latitude"],
                "lng": c["longitude"],
                "state": c["state"],
                "route": c["route"],
            }
            for c in cards
            if c["latitude"] is not None and c["longitude"] is not None
        ],
    }


@router.get("/depots")
def depots_page(
    request: Request,
    db: DbSession,
    view: str = Query("active", max_length=20),
    near: str | None = Query(None, max_length=60),
    report_id: int | None = Query(None, gt=0, le=2**63 - 1),
    page: str = "",
    size: str = "",
) -> Response:
    principal = _viewer(request, db)
    if view not in VIEWS:
        raise errors.ValidationFailed.field("query.view", "must_be_one_of")
    position = _position(near)
    stmt = select(CollectionDepot).where(depot_service.visible_clause(db, principal))
    statuses = VIEWS[view]
    if statuses is not None:
        stmt = stmt.where(CollectionDepot.status.in_(statuses))
    if report_id is not None:
        stmt = stmt.where(CollectionDepot.report_id == report_id)
    order: list[Any] = [CollectionDepot.created_at.desc(), CollectionDepot.id.desc()]
    if position is not None:
        # The same order as GET /api/collection-depots?near= (equirectangular, then id).
        scale = math.cos(math.radians(position[0]))
        dlat = CollectionDepot.latitude - position[0]
        dlng = (CollectionDepot.longitude - position[1]) * scale
        order = [(dlat * dlat + dlng * dlng).asc(), CollectionDepot.id.asc()]
    rows, meta = paginate(db, stmt, page_params(page, size), order)
    cards = _cards(db, principal, rows, position)
    return render(
        request,
        "app/depots/list.html",
        nav="depots",
        cards=cards,
        pager=pager(request, meta),
        view=view,
        views=list(VIEWS),
        report_id=report_id,
        position=position,
        can_act=verified_collector(principal),
        is_collector=principal.role == Role.COLLECTOR,
        map_data=_map_data(request, cards, position),
    )


@router.get("/depots/{depot_id}")
def depot_page(
    request: Request,
    db: DbSession,
    depot_id: int,
    near: str | None = Query(None, max_length=60),
) -> Response:
    """One depot (the target of the collection notices), with the same actions as the list."""
    principal = _viewer(request, db)
    row = depot_service.get_visible(db, principal, path_id(depot_id))
    position = _position(near)
    cards = _cards(db, principal, [row], position)
    return render(
        request,
        "app/depots/detail.html",
        nav="depots",
        card=cards[0],
        position=position,
        can_act=verified_collector(principal),
        is_collector=principal.role == Role.COLLECTOR,
        map_data=_map_data(request, cards, position),
    )
