from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from beachsaver.beaches import service
from beachsaver.beaches.models import Beach
from beachsaver.beaches.schemas import MAX_ID, BeachCreate, BeachOut, BeachUpdate
from beachsaver.core.deps import AdminUser, CurrentUser, DbSession
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort

router = APIRouter(prefix="/api/beaches", tags=["beaches"], route_class=ApiRoute)

BeachId = Annotated[int, Path(gt=0, le=MAX_ID)]

BEACH_SORT = {
    "created_at": Beach.created_at,
    "updated_at": Beach.updated_at,
    "id": Beach.id,
    "beach_name": Beach.beach_name,
    "org_id": Beach.org_id,
}
BEACH_FILTER = {
    "org_id": lambda v: Beach.org_id == int(v),
    "si": lambda v: Beach.si == v,
    "gu_gun": lambda v: Beach.gu_gun == v,
    "dong_eub": lambda v: Beach.dong_eub == v,
    "workplace": lambda v: Beach.workplace == v,
}


@router.get("", response_model=ListEnvelope[BeachOut], summary="Beaches (admins: scope; workers: my district)")
def list_beaches(
    db: DbSession,
    principal: CurrentUser,
    paging: PageParams = Depends(page_params),
    org_id: int | None = Query(None, gt=0, le=MAX_ID, description="organisation subtree"),
    q: str | None = Query(None, max_length=100, description="contains, on the beach name"),
) -> dict[str, Any]:
    stmt = service.list_query(db, principal, org_id=org_id, q=q)
    stmt = stmt.where(*parse_filter(paging, BEACH_FILTER))
    order = parse_sort(paging, BEACH_SORT, [Beach.created_at.desc(), Beach.id.desc()])
    rows, meta = paginate(db, stmt, paging, order)
    return ok([service.present(b) for b in rows], meta)


@router.post("", status_code=201, response_model=Envelope[BeachOut], summary="Register a beach")
def create_beach(body: BeachCreate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    return ok(service.present(service.create(db, principal, body)))


@router.get("/{beach_id}", response_model=Envelope[BeachOut], summary="One beach")
def get_beach(beach_id: BeachId, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    return ok(service.present(service.get_visible(db, principal, beach_id)))


@router.patch("/{beach_id}", response_model=Envelope[BeachOut], summary="Edit a beach (partial)")
def update_beach(beach_id: BeachId, body: BeachUpdate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    beach = service.get_visible(db, principal, beach_id, for_update=True)
    return ok(service.present(service.update(db, principal, beach, body)))
