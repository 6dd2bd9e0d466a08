from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import CurrentUser, DbSession, Principal, require_roles
from beachsaver.core.enums import OrgType, Role
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.fields import MAX_ID, IdPath
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.orgs import service
from beachsaver.orgs.models import Organization
from beachsaver.orgs.schemas import OrganizationCreate, OrganizationOut, OrganizationUpdate

router = APIRouter(prefix="/api/organizations", tags=["organizations"], route_class=ApiRoute)

#: Only platform and city admins ever create or rename organisations (others: 403).
OrgAdmin = Depends(require_roles(Role.PLATFORM_ADMIN, Role.CITY_ADMIN))

ORG_SORT = {
    "created_at": Organization.created_at,
    "id": Organization.id,
    "name": Organization.name,
    "code": Organization.code,
    "type": Organization.type,
    "path": Organization.path,
}
ORG_FILTER = {
    "type": lambda v: Organization.type == OrgType(v),
    "parent_id": lambda v: Organization.parent_id == int(v),
    "code": lambda v: Organization.code == v,
}


def _visible_ids(db: DbSession, principal: Principal) -> list[int]:
    return service.visible_ids(db, principal.org, is_admin=principal.is_admin)


@router.get("", response_model=ListEnvelope[OrganizationOut], summary="Organisations in my scope (flat)")
def list_organizations(
    db: DbSession,
    principal: CurrentUser,
    paging: PageParams = Depends(page_params),
    type: OrgType | None = Query(None),
    parent_id: int | None = Query(None, gt=0, le=MAX_ID),
) -> dict[str, Any]:
    stmt = select(Organization).where(Organization.id.in_(_visible_ids(db, principal)))
    if type is not None:
        stmt = stmt.where(Organization.type == type)
    if parent_id is not None:
        stmt = stmt.where(Organization.parent_id == parent_id)
    stmt = stmt.where(*parse_filter(paging, ORG_FILTER))
    order = parse_sort(paging, ORG_SORT, [Organization.created_at.desc(), Organization.id.desc()])
    rows, meta = paginate(db, stmt, paging, order)
    return ok([OrganizationOut.model_validate(o) for o in rows], meta)


@router.post(
    "",
    status_code=201,
    response_model=Envelope[OrganizationOut],
    summary="Create a city (platform admins) or a district (city admins)",
)
def create_organization(body: OrganizationCreate, db: DbSession, principal: Principal = OrgAdmin) -> dict[str, Any]:
    if body.type == OrgType.PLATFORM:
        raise errors.ValidationFailed.field("type", "only CITY and DISTRICT organisations can be created")
    if not service.may_change(principal.role, body.type):
        raise errors.Forbidden()
    parent = service.get(db, body.parent_id)
    if parent is None or not principal.can_see_org(db, parent.id):
        raise errors.NotFound()
    org = service.create(db, actor_id=principal.id, name=body.name, code=body.code, type=body.type, parent=parent)
    return ok(OrganizationOut.model_validate(org))


@router.get("/{org_id}", response_model=Envelope[OrganizationOut], summary="One organisation")
def get_organization(org_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    org = service.get(db, org_id)
    if org is None or org.id not in _visible_ids(db, principal):
        raise errors.NotFound()
    return ok(OrganizationOut.model_validate(org))


@router.patch("/{org_id}", response_model=Envelope[OrganizationOut], summary="Rename (codes never change)")
def rename_organization(
    org_id: IdPath, body: OrganizationUpdate, db: DbSession, principal: Principal = OrgAdmin
) -> dict[str, Any]:
    org = service.get(db, org_id)
    if org is None or not principal.can_see_org(db, org.id):
        raise errors.NotFound()
    if not service.may_change(principal.role, OrgType(org.type)):
        raise errors.Forbidden()
    return ok(OrganizationOut.model_validate(service.rename(db, actor_id=principal.id, org=org, name=body.name)))
