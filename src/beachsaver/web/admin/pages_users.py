"""The console's accounts pages (ADM-03, 03a–e): the account list with filters and export, new
registration, detail with edit / status change / collector verification, Excel import with the
per-row report, and the volunteer approval queue.

Pages read through the users and imports services (scope comes from the principal); every change
is a form sent by ``api.js`` to the JSON API, so the rules live in one place. Query parsing, the
pager and the organisations of the scope come from ``web.listing``.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from beachsaver.core.deps import DbSession
from beachsaver.core.enums import (
    ADMIN_ROLES,
    ROLE_ORG_TYPE,
    WORKER_ROLES,
    OperatorType,
    Role,
    UserStatus,
    VehicleType,
)
from beachsaver.core.paging import paginate, parse_sort
from beachsaver.imports import service as import_service
from beachsaver.imports.models import ImportJob
from beachsaver.users import service as user_service
from beachsaver.users.models import User
from beachsaver.users.router import USER_SORT
from beachsaver.web import common, listing
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)

#: The export's columns that match the list on screen (02-api §3, 07 §10 "the file matches the screen").
SCREEN_COLUMNS = "system_id,nickname,phone,role,org_name,status,created_at"
#: Status moves an admin may make from each status (the service checks them again).
STATUS_MOVES: dict[str, list[str]] = {
    UserStatus.ACTIVE: [UserStatus.SUSPENDED, UserStatus.WITHDRAWN],
    UserStatus.SUSPENDED: [UserStatus.ACTIVE, UserStatus.WITHDRAWN],
}


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


# ---- the account list ----------------------------------------------------------------------------


@router.get("/users")
def users_page(
    request: Request,
    db: DbSession,
    q: str = "",
    role: str = "",
    status: str = "ACTIVE",
    org_id: str = "",
    page: str = "",
    size: str = "",
    sort: str = "",
) -> Response:
    principal = common.admin_principal(request, db)
    scope = principal.scope_org_ids(db)
    chosen_role = listing.choice(Role, role, "role")
    # ADM-03: the status filter starts at "Active"; "ALL" lists every status.
    chosen_status = None if status == "ALL" else listing.choice(UserStatus, status, "status")
    chosen_org = listing.whole_number(org_id, "org_id", 0, 0) or None
    keyword = q.strip()[:100]
    params = listing.page_params(page, size, sort=sort, sortable=USER_SORT)
    stmt = user_service.list_query(db, scope, role=chosen_role, status=chosen_status, org_id=chosen_org, q=keyword)
    order = parse_sort(params, USER_SORT, [User.created_at.desc(), User.id.desc()])
    rows, meta = paginate(db, stmt, params, order)
    orgs = listing.orgs_in_scope(db, principal)
    names = listing.org_names(orgs)
    accounts = [
        {
            **user_service.present(db, u),
            "org_name": names.get(u.org_id, ""),
            "registered": listing.local_date(u.created_at),
        }
        for u in rows
    ]
    filters = {
        "q": keyword,
        "role": chosen_role.value if chosen_role else "",
        "status": chosen_status.value if chosen_status else "",
        "org_id": chosen_org or "",
        "sort": params.sort or "",
    }
    export_query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "admin/users/list.html",
        nav="users",
        accounts=accounts,
        meta=meta,
        pager=listing.pager(request, meta),
        sorts=listing.sort_links(request, params.sort or "", ("system_id", "nickname", "role", "status", "created_at")),
        q=keyword,
        role=filters["role"],
        status="ALL" if chosen_status is None else chosen_status.value,
        org_id=chosen_org,
        roles=list(Role),
        statuses=list(UserStatus),
        orgs=orgs if len(orgs) > 1 else [],
        export_screen=f"/api/users/export?{export_query}{'&' if export_query else ''}columns={SCREEN_COLUMNS}",
        export_all="/api/users/export" + (f"?{export_query}" if export_query else ""),
    )


# ---- new registration ----------------------------------------------------------------------------


@router.get("/users/new")
def new_user_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    roles = [r for r in Role if user_service.may_create(principal.role, r)]
    return render(
        request,
        "admin/users/new.html",
        nav="users",
        roles=[{"value": r.value, "org_type": ROLE_ORG_TYPE[r].value, "admin": r in ADMIN_ROLES} for r in roles],
        orgs=listing.orgs_in_scope(db, principal),
        admin_roles=" ".join(r.value for r in roles if r in ADMIN_ROLES),
        worker_roles=" ".join(r.value for r in roles if r in WORKER_ROLES),
        vehicle_types=list(VehicleType),
        operator_types=list(OperatorType),
    )


# ---- import --------------------------------------------------------------------------------------


@router.get("/users/import")
def import_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    jobs = list(
        db.execute(
            import_service.jobs_query(db, principal)
            .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
            .limit(10)
        ).scalars()
    )
    return render(
        request,
        "admin/users/import.html",
        nav="users",
        jobs=[
            {**import_service.present_job(j, with_results=False), "when": listing.local_time(j.created_at)}
            for j in jobs
        ],
        max_rows=request.app.state.settings.import_max_rows,
    )


@router.get("/users/import/{job_id:int}")
def import_job_page(request: Request, db: DbSession, job_id: int) -> Response:
    principal = common.admin_principal(request, db)
    job = import_service.get_job(db, principal, listing.path_id(job_id))
    shown = import_service.present_job(job)
    return render(
        request,
        "admin/users/import_job.html",
        nav="users",
        job=shown,
        when=listing.local_time(job.created_at),
        created_rows=[r for r in shown["results"] or [] if r.get("status") == "CREATED"][:500],
    )


# ---- detail --------------------------------------------------------------------------------------


@router.get("/users/{user_id:int}")
def user_page(request: Request, db: DbSession, user_id: int) -> Response:
    principal = common.admin_principal(request, db)
    scope = principal.scope_org_ids(db)
    user = user_service.get_in_scope(db, listing.path_id(user_id), scope)
    shown = user_service.present(db, user)
    orgs = listing.orgs_in_scope(db, principal)
    current_org = next((o for o in orgs if o.id == user.org_id), None)
    manageable = user_service.may_manage(principal.role, user) and user.id != principal.id
    role = Role(user.role)
    return render(
        request,
        "admin/users/detail.html",
        nav="users",
        account=shown,
        org_name=current_org.name if current_org else "",
        same_type_orgs=[o for o in orgs if current_org is not None and o.type == current_org.type],
        manageable=manageable,
        is_worker=role in WORKER_ROLES,
        is_admin_account=role in ADMIN_ROLES,
        is_collector=role == Role.COLLECTOR,
        status_moves=STATUS_MOVES.get(str(user.status), []) if manageable else [],
        registered=listing.local_time(user.created_at),
        last_login=listing.local_time(user.last_login_at),
        verified_at=listing.local_time(shown["vehicle"]["verified_at"]) if shown["vehicle"] else "",
        start_date=day(user.worker_profile.start_date if user.worker_profile else None),
        end_date=day(user.worker_profile.end_date if user.worker_profile else None),
        vehicle_types=list(VehicleType),
        operator_types=list(OperatorType),
    )


@router.get("/accounts/{user_id:int}")
def account_link(user_id: int) -> Response:
    """Notices about accounts (e.g. a volunteer's sign-up) link here."""
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


# ---- the volunteer approval queue (ADM-03e) ------------------------------------------------------


@router.get("/volunteers")
def volunteers_page(request: Request, db: DbSession, page: str = "", size: str = "") -> Response:
    principal = common.admin_principal(request, db)
    scope = principal.scope_org_ids(db)
    params = listing.page_params(page, size)
    stmt = user_service.list_query(db, scope, role=Role.CITIZEN, status=UserStatus.PENDING_APPROVAL)
    rows, meta = paginate(db, stmt, params, [User.created_at.asc(), User.id.asc()])
    names = listing.org_names(listing.orgs_in_scope(db, principal))
    return render(
        request,
        "admin/users/volunteers.html",
        nav="volunteers",
        volunteers=[
            {
                **user_service.present(db, u),
                "org_name": names.get(u.org_id, ""),
                "applied": listing.local_time(u.created_at),
            }
            for u in rows
        ],
        meta=meta,
        pager=listing.pager(request, meta),
        # 02-api §3: approval and rejection are the city admins' (platform admins may too).
        may_decide=principal.role in (Role.PLATFORM_ADMIN, Role.CITY_ADMIN),
    )
