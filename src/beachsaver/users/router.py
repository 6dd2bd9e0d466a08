from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import (
    AdminUser,
    CurrentUser,
    CurrentUserOrPending,
    DbSession,
    require_roles,
)
from beachsaver.core.enums import WORKER_ROLES, CleanerType, RequestStatus, Role, UserStatus
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.fields import MAX_ID, IdPath
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.users import service
from beachsaver.users.models import PhoneChangeRequest, User
from beachsaver.users.schemas import (
    AccountChoice,
    Colleague,
    MeUpdate,
    PhoneChangeCreate,
    PhoneChangeOut,
    RejectBody,
    StatusChange,
    UserCreate,
    UserOut,
    UserUpdate,
    VolunteerSignup,
)

router = APIRouter(prefix="/api/users", tags=["users"], route_class=ApiRoute)

CityAdminUp = Depends(require_roles(Role.PLATFORM_ADMIN, Role.CITY_ADMIN))


@router.get("/me", response_model=Envelope[UserOut], summary="My account")
def me(db: DbSession, principal: CurrentUserOrPending) -> dict[str, Any]:
    return ok(service.present(db, principal.user, reveal_phone=True, reveal_pii=True))


@router.patch("/me", response_model=Envelope[UserOut], summary="Edit my nickname, e-mail or preferences")
def update_me(body: MeUpdate, db: DbSession, principal: CurrentUserOrPending) -> dict[str, Any]:
    user = service.update_me(db, user=principal.user, body=body)
    return ok(service.present(db, user, reveal_phone=True, reveal_pii=True))


@router.post("/me/phone", status_code=201, response_model=Envelope[PhoneChangeOut], summary="Request a phone change")
def request_phone_change(body: PhoneChangeCreate, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    req = service.request_phone_change(
        db, user=principal.user, new_phone=body.new_phone, code_old=body.code_old, code_new=body.code_new
    )
    return ok(service.present_phone_change(db, req))


@router.get("/roles", response_model=Envelope[list[AccountChoice]], summary="Accounts that share my phone")
def my_roles(db: DbSession, principal: CurrentUserOrPending) -> dict[str, Any]:
    accounts = [u for u in service.accounts_on_phone(db, principal.user.phone_hash) if u.live]
    return ok(
        [
            {
                "user_id": u.id,
                "system_id": u.system_id,
                "nickname": u.nickname,
                "role": u.role,
                "org_id": u.org_id,
                "status": u.status,
            }
            for u in accounts
        ]
    )


@router.get("/colleagues", response_model=Envelope[list[Colleague]], summary="Active workers of my district")
def colleagues(db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    if principal.role not in WORKER_ROLES:
        raise errors.Forbidden()
    rows = (
        db.execute(
            select(User)
            .where(
                User.org_id == principal.org.id,
                User.status == UserStatus.ACTIVE,
                User.role.in_([r.value for r in WORKER_ROLES]),
            )
            .order_by(User.nickname, User.id)
        )
        .scalars()
        .all()
    )
    return ok([{"id": u.id, "nickname": u.nickname, "role": u.role, "cleaner_type": u.cleaner_type} for u in rows])


@router.post("/volunteer", status_code=201, response_model=Envelope[UserOut], summary="Volunteer sign-up")
def volunteer_signup(body: VolunteerSignup, db: DbSession) -> dict[str, Any]:
    return ok(service.present(db, service.volunteer_signup(db, body)))


USER_SORT = {
    "created_at": User.created_at,
    "id": User.id,
    "nickname": User.nickname,
    "system_id": User.system_id,
    "role": User.role,
    "status": User.status,
    "last_login_at": User.last_login_at,
}


@router.get("", response_model=ListEnvelope[UserOut], summary="Accounts in my scope")
def list_users(
    db: DbSession,
    principal: AdminUser,
    paging: PageParams = Depends(page_params),
    role: Role | None = Query(None),
    status: UserStatus | None = Query(None),
    org_id: int | None = Query(None, gt=0, le=MAX_ID),
    cleaner_type: CleanerType | None = Query(None),
    q: str | None = Query(None, max_length=100),
) -> dict[str, Any]:
    scope = principal.scope_org_ids(db)
    stmt = service.list_query(db, scope, role=role, status=status, org_id=org_id, cleaner_type=cleaner_type, q=q)
    stmt = stmt.where(*parse_filter(paging, service.list_filters(db, scope)))
    order = parse_sort(paging, USER_SORT, [User.created_at.desc(), User.id.desc()])
    rows, meta = paginate(db, stmt, paging, order)
    return ok([service.present(db, u) for u in rows], meta)


@router.post("", status_code=201, response_model=Envelope[UserOut], summary="Create an account")
def create_user(body: UserCreate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    user = service.create(db, creator=principal.user, creator_scope=principal.scope_org_ids(db), body=body)
    return ok(service.present(db, user))


@router.get("/phone-changes", response_model=ListEnvelope[PhoneChangeOut], summary="Phone-change requests")
def list_phone_changes(
    db: DbSession,
    principal: AdminUser,
    paging: PageParams = Depends(page_params),
    status: RequestStatus | None = Query(None),
) -> dict[str, Any]:
    stmt = select(PhoneChangeRequest).where(PhoneChangeRequest.org_id.in_(principal.scope_org_ids(db)))
    if status:
        stmt = stmt.where(PhoneChangeRequest.status == status)
    sort = {"created_at": PhoneChangeRequest.created_at, "id": PhoneChangeRequest.id}
    rows, meta = paginate(
        db, stmt, paging, parse_sort(paging, sort, [PhoneChangeRequest.created_at.desc(), PhoneChangeRequest.id.desc()])
    )
    return ok([service.present_phone_change(db, r) for r in rows], meta)


def _phone_change_in_scope(db: DbSession, principal: AdminUser, request_id: int) -> PhoneChangeRequest:
    req = db.get(PhoneChangeRequest, request_id)
    if req is None or req.org_id not in principal.scope_org_ids(db):
        raise errors.NotFound()
    return req


@router.post("/phone-changes/{request_id}/approve", response_model=Envelope[PhoneChangeOut], summary="Approve")
def approve_phone_change(request_id: IdPath, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    req = _phone_change_in_scope(db, principal, request_id)
    return ok(
        service.present_phone_change(
            db, service.decide_phone_change(db, editor=principal.user, req=req, approve=True, reason=None)
        )
    )


@router.post("/phone-changes/{request_id}/reject", response_model=Envelope[PhoneChangeOut], summary="Reject")
def reject_phone_change(request_id: IdPath, body: RejectBody, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    req = _phone_change_in_scope(db, principal, request_id)
    return ok(
        service.present_phone_change(
            db, service.decide_phone_change(db, editor=principal.user, req=req, approve=False, reason=body.reason)
        )
    )


@router.get("/{user_id}", response_model=Envelope[UserOut], summary="One account")
def get_user(
    user_id: IdPath,
    db: DbSession,
    principal: AdminUser,
    reveal: str | None = Query(None, pattern="^(phone|pii)$", description="'phone' shows the full number (audited)"),
) -> dict[str, Any]:
    user = service.get_in_scope(db, user_id, principal.scope_org_ids(db))
    if reveal:
        service.record_reveal(db, actor=principal.user, user=user, fields=reveal)
    return ok(service.present(db, user, reveal_phone=bool(reveal), reveal_pii=reveal == "pii"))


@router.patch("/{user_id}", response_model=Envelope[UserOut], summary="Edit an account")
def update_user(user_id: IdPath, body: UserUpdate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    scope = principal.scope_org_ids(db)
    user = service.get_in_scope(db, user_id, scope)
    service.ensure_may_manage(principal.role, user)
    return ok(service.present(db, service.update(db, editor=principal.user, scope=scope, user=user, body=body)))


@router.patch("/{user_id}/status", response_model=Envelope[UserOut], summary="Suspend, reactivate or withdraw")
def change_status(user_id: IdPath, body: StatusChange, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    user = service.get_in_scope(db, user_id, principal.scope_org_ids(db))
    service.ensure_may_manage(principal.role, user)
    if user.id == principal.id:
        raise errors.Forbidden()
    return ok(
        service.present(
            db, service.change_status(db, editor=principal.user, user=user, status=body.status, reason=body.reason)
        )
    )


@router.post(
    "/{user_id}/approve", response_model=Envelope[UserOut], summary="Approve a volunteer", dependencies=[CityAdminUp]
)
def approve(user_id: IdPath, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    user = service.get_in_scope(db, user_id, principal.scope_org_ids(db))
    return ok(service.present(db, service.approve_volunteer(db, editor=principal.user, user=user)))


@router.post(
    "/{user_id}/reject", response_model=Envelope[UserOut], summary="Reject a volunteer", dependencies=[CityAdminUp]
)
def reject(user_id: IdPath, body: RejectBody, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    user = service.get_in_scope(db, user_id, principal.scope_org_ids(db))
    return ok(service.present(db, service.reject_volunteer(db, editor=principal.user, user=user, reason=body.reason)))


@router.post("/{user_id}/verify-collector", response_model=Envelope[UserOut], summary="Verify a collector's vehicle")
def verify_collector(user_id: IdPath, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    user = service.get_in_scope(db, user_id, principal.scope_org_ids(db))
    service.ensure_may_manage(principal.role, user)
    return ok(service.present(db, service.verify_collector(db, editor=principal.user, user=user)))
