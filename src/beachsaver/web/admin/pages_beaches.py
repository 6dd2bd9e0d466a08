"""The console's beach pages: the list (organisation, keyword), a new beach and a beach's edit
page, with a small map preview of its point (blank without tiles; the inputs are the truth).

Reads go through the beaches service (scope from the principal); changes are forms sent to
``/api/beaches`` by ``api.js``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from beachsaver.beaches import service as beach_service
from beachsaver.beaches.models import Beach
from beachsaver.beaches.router import BEACH_SORT
from beachsaver.core.deps import DbSession
from beachsaver.core.enums import OrgType
from beachsaver.core.paging import paginate, parse_sort
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.web import common, listing
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)


def _districts(db: Session, orgs: list[Organization]) -> list[dict[str, Any]]:
    """Districts with their city's name, to prefill si / gu_gun."""
    names = listing.org_names(orgs)
    for parent_id in {o.parent_id for o in orgs if o.type == OrgType.DISTRICT and o.parent_id not in names}:
        parent = org_service.get(db, parent_id) if parent_id else None
        if parent is not None:
            names[parent.id] = parent.name
    return [
        {"id": o.id, "name": o.name, "city": names.get(o.parent_id or 0, "")}
        for o in orgs
        if o.type == OrgType.DISTRICT
    ]


@router.get("/beaches")
def beaches_page(
    request: Request,
    db: DbSession,
    q: str = "",
    org_id: str = "",
    page: str = "",
    size: str = "",
    sort: str = "",
) -> Response:
    principal = common.admin_principal(request, db)
    chosen_org = listing.whole_number(org_id, "org_id", 0, 0) or None
    keyword = q.strip()[:100]
    params = listing.page_params(page, size, sort=sort, sortable=BEACH_SORT)
    stmt = beach_service.list_query(db, principal, org_id=chosen_org, q=keyword)
    rows, meta = paginate(db, stmt, params, parse_sort(params, BEACH_SORT, [Beach.created_at.desc(), Beach.id.desc()]))
    orgs = listing.orgs_in_scope(db, principal)
    names = listing.org_names(orgs)
    return render(
        request,
        "admin/beaches/list.html",
        nav="beaches",
        beaches=[{**beach_service.present(b), "org_name": names.get(b.org_id, "")} for b in rows],
        meta=meta,
        pager=listing.pager(request, meta),
        sorts=listing.sort_links(request, params.sort or "", ("beach_name", "created_at")),
        q=keyword,
        org_id=chosen_org,
        orgs=[o for o in orgs if o.type != OrgType.PLATFORM] if len(orgs) > 1 else [],
    )


@router.get("/beaches/new")
def new_beach_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    return render(
        request,
        "admin/beaches/form.html",
        nav="beaches",
        b={},
        editing=False,
        districts=_districts(db, listing.orgs_in_scope(db, principal)),
        tile_url=listing.tile_url(request),
    )


@router.get("/beaches/{beach_id:int}")
def beach_page(request: Request, db: DbSession, beach_id: int) -> Response:
    principal = common.admin_principal(request, db)
    beach = beach_service.get_visible(db, principal, listing.path_id(beach_id))
    orgs = listing.orgs_in_scope(db, principal)
    return render(
        request,
        "admin/beaches/form.html",
        nav="beaches",
        b=beach_service.present(beach),
        editing=True,
        org_name=listing.org_names(orgs).get(beach.org_id, ""),
        districts=_districts(db, orgs),
        updated=listing.local_time(beach.updated_at),
        tile_url=listing.tile_url(request),
    )
