from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import CurrentUser, DbSession
from beachsaver.core.enums import DepotStatus, Role
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.fields import MAX_ID, IdPath
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, paginate_by_key, parse_filter, parse_sort
from beachsaver.depots import service
from beachsaver.depots.models import CollectionDepot
from beachsaver.depots.schemas import CompleteIn, DepotAdd, DepotOut, IssueIn

router = APIRouter(prefix="/api/collection-depots", tags=["depots"], route_class=ApiRoute)

SORT = {
    "created_at": CollectionDepot.created_at,
    "id": CollectionDepot.id,
    "status": CollectionDepot.status,
    "name": CollectionDepot.name,
    "collection_completed_at": CollectionDepot.collection_completed_at,
}
FILTER = {
    "status": lambda v: CollectionDepot.status == DepotStatus(v),
    "report_id": lambda v: CollectionDepot.report_id == int(v),
    "collector_id": lambda v: CollectionDepot.collector_id == int(v),
}


def parse_point(value: str, name: str) -> tuple[float, float]:
    try:
        lat_text, lng_text = value.split(",")
        lat, lng = float(lat_text), float(lng_text)
    except ValueError:
        raise errors.ValidationFailed.field(f"query.{name}", "expected 'lat,lng'") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or math.isnan(lat) or math.isnan(lng):
        raise errors.ValidationFailed.field(f"query.{name}", "coordinates out of range")
    return lat, lng


@router.get("", response_model=ListEnvelope[DepotOut], summary="Depots I may see; near= sorts by distance")
def list_depots(
    db: DbSession,
    principal: CurrentUser,
    paging: PageParams = Depends(page_params),
    status: DepotStatus | None = Query(None),
    report_id: int | None = Query(None, gt=0, le=MAX_ID),
    org_id: int | None = Query(None, gt=0, le=MAX_ID),
    near: str | None = Query(None, description="lat,lng", max_length=60),
) -> dict[str, Any]:
    if principal.role in (Role.INVESTIGATOR, Role.CITIZEN):
        raise errors.Forbidden()
    stmt = select(CollectionDepot).where(service.visible_clause(db, principal))
    if status is not None:
        stmt = stmt.where(CollectionDepot.status == status)
    if report_id is not None:
        stmt = stmt.where(CollectionDepot.report_id == report_id)
    if org_id is not None:
        from beachsaver.orgs import service as org_service

        org = org_service.get(db, org_id)
        if org is None or (principal.is_admin and not principal.can_see_org(db, org_id)):
            raise errors.NotFound()
        stmt = stmt.where(CollectionDepot.org_id.in_(org_service.subtree_ids(db, org)))
    stmt = stmt.where(*parse_filter(paging, FILTER))
    order = parse_sort(paging, SORT, [CollectionDepot.created_at.desc(), CollectionDepot.id.desc()])
    point = parse_point(near, "near") if near else None
    if point is not None:
        order, circles = service.nearest_first(point)
        rows, meta = paginate_by_key(db, stmt, CollectionDepot.id, paging, order, circles)
    else:
        rows, meta = paginate(db, stmt, paging, order)
    data = service.present_many(db, rows)
    if point is not None:
        data = service.with_distance(data, point)
    return ok(data, meta)


@router.post("", status_code=201, response_model=Envelope[DepotOut], summary="Add a missing depot to my request")
def add_depot(body: DepotAdd, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    return ok(service.present_many(db, [service.add_to_request(db, principal, body)])[0])


@router.get("/route", response_model=Envelope[list[DepotOut]], summary="My IN_ROUTE depots in visiting order")
def route(
    db: DbSession, principal: CurrentUser, start: str = Query(..., description="lat,lng", max_length=60)
) -> dict[str, Any]:
    rows, total = service.route(db, principal, parse_point(start, "start"))
    return ok(rows, {"total_m": total})


@router.get("/{depot_id}", response_model=Envelope[DepotOut], summary="One depot")
def get_depot(depot_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    return ok(service.present_many(db, [service.get_visible(db, principal, depot_id)])[0])


@router.post("/{depot_id}/claim", response_model=Envelope[DepotOut], summary="Put a WAITING depot on my route")
def claim(depot_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    depot = service.get_visible(db, principal, depot_id, acting=True)
    return ok(service.present_many(db, [service.claim(db, principal, depot)])[0])


@router.delete("/{depot_id}/claim", response_model=Envelope[DepotOut], summary="Release my claim")
def release(depot_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    depot = service.get_visible(db, principal, depot_id, acting=True)
    return ok(service.present_many(db, [service.release(db, principal, depot)])[0])


@router.patch("/{depot_id}/complete", response_model=Envelope[DepotOut], summary="Record the collection (once)")
def complete(depot_id: IdPath, body: CompleteIn, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    depot = service.get_visible(db, principal, depot_id, acting=True)
    return ok(service.present_many(db, [service.complete(db, principal, depot, body)])[0])


@router.post("/{depot_id}/issue", response_model=Envelope[DepotOut], summary="Report a problem")
def issue(depot_id: IdPath, body: IssueIn, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    depot = service.get_visible(db, principal, depot_id, acting=True)
    return ok(service.present_many(db, [service.report_issue(db, principal, depot, body)])[0])


@router.post("/{depot_id}/resolve", response_model=Envelope[DepotOut], summary="Resolve an issue (admins)")
def resolve(depot_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    depot = service.get_visible(db, principal, depot_id)
    return ok(service.present_many(db, [service.resolve(db, principal, depot)])[0])
