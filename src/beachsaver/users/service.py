"""Accounts: creation rules by tier, system ids, status changes, volunteers, collectors, phones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.audit import security
from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.enums import (
    ADMIN_ROLES,
    ROLE_ORG_TYPE,
    WORKER_ROLES,
    CleanerType,
    OperatorType,
    OrgType,
    OtpPurpose,
    RequestStatus,
    Role,
    UserStatus,
)
from beachsaver.core.phone import mask_phone
from beachsaver.core.runtime import cipher_of, settings_of
from beachsaver.core.security import hash_password
from beachsaver.core.time import seoul_today, utcnow
from beachsaver.notifications import service as notification_service
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.users.models import (
    AdminProfile,
    PhoneChangeRequest,
    SystemIdSerial,
    User,
    VehicleProfile,
    WorkerProfile,
)

ROLE_TOKEN = {
    Role.PLATFORM_ADMIN: "PLATFORM",
    Role.CITY_ADMIN: "CITYADMIN",
    Role.DISTRICT_ADMIN: "DISTRICTADMIN",
    Role.INVESTIGATOR: "INVESTIGATOR",
    Role.CLEANER: "CLEANER",
    Role.COLLECTOR: "COLLECTOR",
    Role.CITIZEN: "VOLUNTEER",
}
LIVE_STATUSES = (UserStatus.PENDING_APPROVAL, UserStatus.ACTIVE, UserStatus.SUSPENDED)
WORKER_FIELDS = ("birth", "start_date", "end_date")
VEHICLE_FIELDS = ("type", "capacity_t", "plate_no", "operator_type", "company_name", "business_no")
#: A change of any of these clears the collector's verification.
VEHICLE_MATERIAL = ("type", "capacity_t", "plate_no")
WITHDRAWN_LAST4 = "****"


# ---- presentation ----------------------------------------------------------------------------


def present(db: Session, user: User, *, reveal_phone: bool = False, reveal_pii: bool = False) -> dict[str, Any]:
    cipher = cipher_of(db)
    phone = cipher.decrypt(user.phone_enc) if reveal_phone else None
    data: dict[str, Any] = {
        "id": user.id,
        "system_id": user.system_id,
        "nickname": user.nickname,
        "phone": phone if phone else mask_phone(user.phone_last4),
        "role": user.role,
        "org_id": user.org_id,
        "status": user.status,
        "status_reason": user.status_reason,
        "cleaner_type": user.cleaner_type,
        "email": user.email,
        "real_name": cipher.decrypt(user.real_name_enc) if reveal_pii else None,
        "preferences": user.preferences or {},
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
        "vehicle": None,
    }
    if user.worker_profile is not None:
        data.update(
            birth=user.worker_profile.birth if reveal_pii else None,
            start_date=user.worker_profile.start_date,
            end_date=user.worker_profile.end_date,
        )
    if user.vehicle is not None:
        v = user.vehicle
        data["vehicle"] = {
            "type": v.type,
            "capacity_t": float(v.capacity_t),
            "plate_no": v.plate_no,
            "operator_type": v.operator_type,
            "company_name": v.company_name,
            "business_no": v.business_no,
            "verified": v.verified_at is not None,
            "verified_at": v.verified_at,
            "verified_by": v.verified_by,
        }
    return data


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of an account (PII masked by the audit service)."""
    return {
        "system_id": user.system_id,
        "nickname": user.nickname,
        "role": user.role,
        "org_id": user.org_id,
        "status": user.status,
        "cleaner_type": user.cleaner_type,
        "phone": user.phone_last4,
        "email": user.email,
    }


def _full_snapshot(user: User) -> dict[str, Any]:
    """``snapshot`` plus the worker and vehicle profiles (for edits)."""
    data = snapshot(user)
    if user.worker_profile is not None:
        data["start_date"] = str(user.worker_profile.start_date) if user.worker_profile.start_date else None
        data["end_date"] = str(user.worker_profile.end_date) if user.worker_profile.end_date else None
    if user.vehicle is not None:
        data["vehicle"] = {
            "type": user.vehicle.type,
            "capacity_t": str(user.vehicle.capacity_t),
            "plate_no": user.vehicle.plate_no,
            "operator_type": user.vehicle.operator_type,
            "company_name": user.vehicle.company_name,
            "business_no": user.vehicle.business_no,
            "verified_at": user.vehicle.verified_at,
        }
    return data


# ---- look-ups, scope and tiers -------------------------------------------------------------------


def get_in_scope(db: Session, user_id: int, scope_org_ids: list[int]) -> User:
    user = db.get(User, user_id)
    if user is None or user.org_id not in scope_org_ids:
        raise errors.NotFound()
    return user


def scoped_query(scope_org_ids: list[int]) -> Select[tuple[User]]:
    return select(User).where(User.org_id.in_(scope_org_ids))


def accounts_on_phone(db: Session, phone_hash: str) -> list[User]:
    return list(db.execute(select(User).where(User.phone_hash == phone_hash).order_by(User.id)).scalars())


def may_manage(editor_role: Role, user: User) -> bool:
    """An admin manages workers and citizens, and admins of lower tiers; platform admins
    also manage other platform admins."""
    role = Role(user.role)
    if not role.is_admin:
        return editor_role.is_admin
    return editor_role.tier > role.tier or editor_role == role == Role.PLATFORM_ADMIN


def ensure_may_manage(editor_role: Role, user: User) -> None:
    if not may_manage(editor_role, user):
        raise errors.Forbidden()


def record_reveal(db: Session, *, actor: User, user: User, fields: str) -> None:
    """Full phone numbers (and real names) are shown only to admins in scope, audited."""
    audit.record(
        db,
        "USER_REVEAL_PII",
        actor_id=actor.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        after={"fields": fields},
    )


# ---- creation ------------------------------------------------------------------------------------


def next_system_id(db: Session, org_code: str, nickname: str, role: Role) -> str:
    """``[ORGCODE]_[nickname]_[ROLETOKEN]_[serial]``; the serial is global, ≥ 4 digits."""
    serial = SystemIdSerial()
    db.add(serial)
    db.flush()
    return f"{org_code}_{nickname.replace('_', '-')}_{ROLE_TOKEN[role]}_{serial.id:04d}"


def _flush_or_conflict(db: Session, message_key: str = "phone_role_taken") -> None:
    """Flush inside a savepoint so that a unique-index clash becomes a clean 409."""
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise errors.Conflict(message_key) from None


def _insert_user(db: Session, user: User) -> None:
    """Insert inside a savepoint so a phone+role clash becomes a clean 409."""
    try:
        with db.begin_nested():
            db.add(user)
            db.flush()
    except IntegrityError:
        raise errors.Conflict("phone_role_taken") from None


def _ensure_phone_role_free(db: Session, phone_hash: str, role: Role) -> None:
    taken = db.execute(
        select(User.id).where(User.phone_hash == phone_hash, User.role == role, User.live.is_(True))
    ).first()
    if taken:
        raise errors.Conflict("phone_role_taken")


def may_create(creator_role: Role, role: Role) -> bool:
    """Platform admins create platform and city admins; city admins create district admins;
    any admin creates workers (within its subtree). Nobody creates citizens."""
    if role == Role.CITIZEN:
        return False
    if role in ADMIN_ROLES:
        return creator_role.tier > role.tier or (creator_role == role == Role.PLATFORM_ADMIN)
    return creator_role in ADMIN_ROLES


def build_user(
    db: Session,
    *,
    nickname: str,
    phone: str,
    role: Role,
    org: Organization,
    status: UserStatus,
    created_by: int | None,
    cleaner_type: CleanerType | None = None,
    email: str | None = None,
    real_name: str | None = None,
    password: str | None = None,
    org_code_for_id: str | None = None,
) -> User:
    cipher = cipher_of(db)
    phone_hash = cipher.lookup_hash(phone)
    _ensure_phone_role_free(db, phone_hash, role)
    user = User(
        system_id=next_system_id(db, org_code_for_id or org.code, nickname, role),
        nickname=nickname,
        role=role,
        org_id=org.id,
        status=status,
        cleaner_type=cleaner_type,
        email=email,
        phone_enc=cipher.encrypt(phone),
        phone_hash=phone_hash,
        phone_last4=phone[-4:],
        real_name_enc=cipher.encrypt(real_name) if real_name else None,
        live=True,
        preferences={},
        created_by_id=created_by,
    )
    if password is not None:
        user.admin_profile = AdminProfile(password_hash=hash_password(password), password_changed_at=utcnow())
    _insert_user(db, user)
    return user


def _date_problems(birth: date | None, start: date | None, end: date | None) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    if start and end and end < start:
        problems.append({"field": "end_date", "message": "end date is before start date"})
    if birth and birth > seoul_today():
        problems.append({"field": "birth", "message": "birth date is in the future"})
    return problems


def _vehicle_problems(prefix: str, values: dict[str, Any]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    for name in ("type", "capacity_t", "plate_no", "operator_type"):
        if values.get(name) is None:
            problems.append({"field": f"{prefix}.{name}", "message": "required"})
    if values.get("operator_type") == OperatorType.COMPANY and not values.get("company_name"):
        problems.append({"field": f"{prefix}.company_name", "message": "required for company operators"})
    return problems


def create(db: Session, *, creator: User, creator_scope: list[int], body: Any) -> User:
    creator_role = Role(creator.role)
    role = Role(body.role)
    if role == Role.CITIZEN:
        raise errors.ValidationFailed.field("role", "citizens sign up themselves")
    if body.cleaner_type == CleanerType.VOLUNTEER:
        raise errors.ValidationFailed.field("cleaner_type", "volunteers sign up themselves")
    if not may_create(creator_role, role):
        raise errors.Forbidden()
    org = org_service.get(db, body.org_id)
    if org is None or org.id not in creator_scope:
        raise errors.NotFound()
    problems: list[dict[str, str]] = []
    if OrgType(org.type) != ROLE_ORG_TYPE[role]:
        problems.append({"field": "org_id", "message": f"a {role} belongs to a {ROLE_ORG_TYPE[role]} organisation"})
    if role in ADMIN_ROLES:
        if not body.password:
            problems.append({"field": "password", "message": "required for admin accounts"})
        if not body.email:
            problems.append({"field": "email", "message": "required for admin accounts"})
        for name in WORKER_FIELDS:
            if getattr(body, name) is not None:
                problems.append({"field": name, "message": "only workers have this field"})
    elif body.password is not None:
        problems.append({"field": "password", "message": "only admin accounts have a password"})
    if role == Role.COLLECTOR and body.vehicle is None:
        problems.append({"field": "vehicle", "message": "required for collectors"})
    if role != Role.COLLECTOR and body.vehicle is not None:
        problems.append({"field": "vehicle", "message": "only collectors have a vehicle"})
    if body.cleaner_type is not None and role != Role.CLEANER:
        problems.append({"field": "cleaner_type", "message": "only cleaners have a cleaner type"})
    if body.vehicle is not None and role == Role.COLLECTOR:
        problems.extend(_vehicle_problems("vehicle", body.vehicle.model_dump()))
    problems.extend(_date_problems(body.birth, body.start_date, body.end_date))
    if problems:
        raise errors.ValidationFailed(details=problems)
    user = build_user(
        db,
        nickname=body.nickname,
        phone=body.phone,
        role=role,
        org=org,
        status=UserStatus.ACTIVE,
        created_by=creator.id,
        cleaner_type=CleanerType.REGULAR if role == Role.CLEANER else None,
        email=body.email,
        real_name=body.real_name,
        password=body.password if role in ADMIN_ROLES else None,
        org_code_for_id="PLATFORM" if role == Role.PLATFORM_ADMIN else None,
    )
    if role in WORKER_ROLES:
        user.worker_profile = WorkerProfile(birth=body.birth, start_date=body.start_date, end_date=body.end_date)
    if body.vehicle is not None:
        user.vehicle = _vehicle_from(body.vehicle.model_dump())
    db.flush()
    audit.record(
        db,
        "USER_CREATE",
        actor_id=creator.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        after=_full_snapshot(user),
    )
    if role in ADMIN_ROLES:
        security.raise_event(
            db,
            "admin_created",
            actor_id=creator.id,
            target_type="USER",
            target_id=user.id,
            org_id=user.org_id,
            details={"role": str(role), "system_id": user.system_id},
        )
    return user


def _vehicle_from(values: dict[str, Any]) -> VehicleProfile:
    return VehicleProfile(**{name: values.get(name) for name in VEHICLE_FIELDS})


def bootstrap_platform_admin(db: Session) -> User | None:
    """Create the first platform admin from settings when none exists."""
    settings = settings_of(db)
    root = org_service.ensure_root(db)
    exists = db.execute(select(User.id).where(User.role == Role.PLATFORM_ADMIN).limit(1)).first()
    if exists or not (settings.bootstrap_admin_phone and settings.bootstrap_admin_password):
        return None
    from beachsaver.core.phone import normalise_phone

    phone = normalise_phone(settings.bootstrap_admin_phone)
    if phone is None:
        raise ValueError("BEACHSAVER_BOOTSTRAP_ADMIN_PHONE is not a Korean mobile number")
    user = build_user(
        db,
        nickname=settings.bootstrap_admin_nickname,
        phone=phone,
        role=Role.PLATFORM_ADMIN,
        org=root,
        status=UserStatus.ACTIVE,
        created_by=None,
        email=settings.bootstrap_admin_email,
        password=settings.bootstrap_admin_password,
        org_code_for_id="PLATFORM",
    )
    audit.record(
        db,
        "USER_CREATE",
        actor_id=None,
        target_type="USER",
        target_id=user.id,
        org_id=root.id,
        after={**snapshot(user), "bootstrap": True},
    )
    return user


# ---- listing -----------------------------------------------------------------------------------


def org_subtree_in_scope(db: Session, scope: list[int], org_id: int) -> list[int]:
    """The subtree of ``org_id`` (404 when the organisation is outside ``scope``)."""
    org = org_service.get(db, org_id)
    if org is None or org.id not in scope:
        raise errors.NotFound()
    return org_service.subtree_ids(db, org)


def list_filters(db: Session, scope: list[int]) -> dict[str, Callable[[str], ColumnElement[bool]]]:
    """The fields ``filter=`` accepts on ``GET /api/users`` (``org_id`` means the subtree)."""
    return {
        "role": lambda v: User.role == Role(v),
        "status": lambda v: User.status == UserStatus(v),
        "cleaner_type": lambda v: User.cleaner_type == CleanerType(v),
        "org_id": lambda v: User.org_id.in_(org_subtree_in_scope(db, scope, int(v))),
        "q": _q_clause,
    }


def _q_clause(q: str) -> ColumnElement[bool]:
    needle = q.lower()
    return or_(
        func.lower(User.nickname).contains(needle, autoescape=True),
        func.lower(User.system_id).contains(needle, autoescape=True),
    )


def list_query(
    db: Session,
    scope: list[int],
    *,
    role: Role | None = None,
    status: UserStatus | None = None,
    org_id: int | None = None,
    cleaner_type: CleanerType | None = None,
    q: str | None = None,
) -> Select[tuple[User]]:
    stmt = scoped_query(scope)
    if role:
        stmt = stmt.where(User.role == role)
    if status:
        stmt = stmt.where(User.status == status)
    if org_id is not None:
        stmt = stmt.where(User.org_id.in_(org_subtree_in_scope(db, scope, org_id)))
    if cleaner_type:
        stmt = stmt.where(User.cleaner_type == cleaner_type)
    if q:
        stmt = stmt.where(_q_clause(q))
    return stmt


# ---- changes -------------------------------------------------------------------------------------


def lock_user(db: Session, user: User) -> None:
    """Lock the account row (MariaDB/MySQL) and reload it, so that concurrent changes of the
    same account are checked one after the other against fresh state."""
    db.execute(
        select(User).where(User.id == user.id).with_for_update().execution_options(populate_existing=True)
    ).scalars().all()


def _lock_org_admins(db: Session, org_id: int) -> None:
    """Lock (and reload) every admin of one organisation, in id order, so that two concurrent
    suspensions cannot both pass the last-admin check."""
    db.execute(
        select(User)
        .where(User.org_id == org_id, User.role.in_([r.value for r in ADMIN_ROLES]))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars().all()


def _lock_for_change(db: Session, user: User) -> None:
    if Role(user.role) in ADMIN_ROLES:
        _lock_org_admins(db, user.org_id)
    else:
        lock_user(db, user)


def _ensure_not_last_admin(db: Session, user: User) -> None:
    """Call after ``_lock_for_change``: the last active admin of an organisation stays."""
    if Role(user.role) in ADMIN_ROLES and UserStatus(user.status) == UserStatus.ACTIVE:
        others = db.execute(
            select(func.count())
            .select_from(User)
            .where(
                User.org_id == user.org_id,
                User.id != user.id,
                User.role.in_([r.value for r in ADMIN_ROLES]),
                User.status == UserStatus.ACTIVE,
            )
        ).scalar_one()
        if not others:
            raise errors.Conflict("last_admin")


def update(db: Session, *, editor: User, scope: list[int], user: User, body: Any) -> User:
    fields = body.model_fields_set
    role = Role(user.role)
    target: Organization | None = None
    if "org_id" in fields and body.org_id is not None and body.org_id != user.org_id:
        target = org_service.get(db, body.org_id)
        if target is None or target.id not in scope:
            raise errors.NotFound()
    problems: list[dict[str, str]] = []
    for name in ("nickname", "org_id"):
        if name in fields and getattr(body, name) is None:
            problems.append({"field": name, "message": "cannot be empty"})
    if "email" in fields and body.email is None and role in ADMIN_ROLES:
        problems.append({"field": "email", "message": "required for admin accounts"})
    if target is not None:
        current = org_service.get(db, user.org_id)
        if current is None or target.type != current.type:
            problems.append(
                {"field": "org_id", "message": "an account moves only between organisations of the same type"}
            )
    worker_fields = [name for name in WORKER_FIELDS if name in fields]
    if worker_fields and role not in WORKER_ROLES:
        problems.extend({"field": name, "message": "only workers have this field"} for name in worker_fields)
    elif worker_fields:
        profile = user.worker_profile
        merged = {
            name: getattr(body, name) if name in fields else getattr(profile, name, None) for name in WORKER_FIELDS
        }
        problems.extend(_date_problems(merged["birth"], merged["start_date"], merged["end_date"]))
    vehicle_values: dict[str, Any] | None = None
    if "vehicle" in fields:
        if role != Role.COLLECTOR:
            problems.append({"field": "vehicle", "message": "only collectors have a vehicle"})
        elif body.vehicle is None:
            problems.append({"field": "vehicle", "message": "required for collectors"})
        else:
            given = body.vehicle.model_dump(exclude_unset=True)
            current_v = user.vehicle
            vehicle_values = {name: getattr(current_v, name) if current_v else None for name in VEHICLE_FIELDS}
            vehicle_values.update(given)
            problems.extend(_vehicle_problems("vehicle", vehicle_values))
    if problems:
        raise errors.ValidationFailed(details=problems)
    _lock_for_change(db, user)
    if UserStatus(user.status) == UserStatus.WITHDRAWN:
        raise errors.InvalidState()
    if target is not None:
        _ensure_not_last_admin(db, user)

    before = _full_snapshot(user)
    if "nickname" in fields:
        user.nickname = body.nickname
    if "email" in fields:
        user.email = body.email
    if "real_name" in fields:
        user.real_name_enc = cipher_of(db).encrypt(body.real_name) if body.real_name else None
    if target is not None:
        user.org_id = target.id
    if worker_fields:
        profile = user.worker_profile or WorkerProfile()
        for name in worker_fields:
            setattr(profile, name, getattr(body, name))
        user.worker_profile = profile
    if vehicle_values is not None:
        _apply_vehicle(user, vehicle_values)
    db.flush()
    audit.record(
        db,
        "USER_UPDATE",
        actor_id=editor.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        before=before,
        after=_full_snapshot(user),
    )
    return user


def _apply_vehicle(user: User, values: dict[str, Any]) -> None:
    current = user.vehicle
    if current is None:
        user.vehicle = _vehicle_from(values)
        return
    material = any(
        _vehicle_key(name, getattr(current, name)) != _vehicle_key(name, values.get(name)) for name in VEHICLE_MATERIAL
    )
    for name in VEHICLE_FIELDS:
        setattr(current, name, values.get(name))
    if material:
        current.verified_at = None
        current.verified_by = None


def _vehicle_key(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "capacity_t":
        return round(float(value), 2)
    return str(value)


def update_me(db: Session, *, user: User, body: Any) -> User:
    fields = body.model_fields_set
    problems: list[dict[str, str]] = []
    if "nickname" in fields and body.nickname is None:
        problems.append({"field": "nickname", "message": "cannot be empty"})
    if "email" in fields and body.email is None and Role(user.role) in ADMIN_ROLES:
        problems.append({"field": "email", "message": "required for admin accounts"})
    if problems:
        raise errors.ValidationFailed(details=problems)
    before = snapshot(user)
    if body.nickname is not None:
        user.nickname = body.nickname
    if "email" in fields:
        user.email = body.email
    if body.preferences is not None:
        user.preferences = {**(user.preferences or {}), **body.preferences}
    db.flush()
    audit.record(
        db,
        "USER_UPDATE",
        actor_id=user.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        before=before,
        after=snapshot(user),
    )
    return user


STATUS_MOVES = {
    (UserStatus.ACTIVE, UserStatus.SUSPENDED),
    (UserStatus.SUSPENDED, UserStatus.ACTIVE),
    (UserStatus.ACTIVE, UserStatus.WITHDRAWN),
    (UserStatus.SUSPENDED, UserStatus.WITHDRAWN),
}


def change_status(db: Session, *, editor: User, user: User, status: UserStatus, reason: str | None) -> User:
    if status in (UserStatus.SUSPENDED, UserStatus.WITHDRAWN) and not reason:
        raise errors.ValidationFailed.field("reason", "a reason is required")
    _lock_for_change(db, user)
    current = UserStatus(user.status)
    if (current, status) not in STATUS_MOVES:
        raise errors.InvalidState()
    _ensure_not_last_admin(db, user)
    before = snapshot(user)
    user.status = status
    user.status_reason = reason
    if status == UserStatus.WITHDRAWN:
        _withdraw(db, user)
    if status != UserStatus.ACTIVE:
        from beachsaver.auth import service as auth_service

        auth_service.revoke_sessions(db, user.id, str(status))
    db.flush()
    audit.record(
        db,
        "USER_STATUS_CHANGE",
        actor_id=editor.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        before=before,
        after={**snapshot(user), "reason": reason},
    )
    return user


def _withdraw(db: Session, user: User) -> None:
    """Mask personal data and free the phone+role; keep the account row (and its history)."""
    user.live = None
    user.withdrawn_at = utcnow()
    user.real_name_enc = None
    user.email = None
    user.phone_enc = b""
    user.phone_hash = f"withdrawn:{user.id}"
    user.phone_last4 = WITHDRAWN_LAST4
    if user.worker_profile is not None:
        user.worker_profile.birth = None
    pending = db.execute(
        select(PhoneChangeRequest).where(
            PhoneChangeRequest.user_id == user.id, PhoneChangeRequest.status == RequestStatus.PENDING
        )
    ).scalars()
    for req in pending:
        req.status = RequestStatus.REJECTED
        req.reason = "WITHDRAWN"
        req.decided_at = utcnow()


# ---- volunteers ----------------------------------------------------------------------------------


def volunteer_signup(db: Session, body: Any) -> User:
    from beachsaver.auth import service as auth_service

    org = org_service.get(db, body.org_id)
    if org is None:
        raise errors.NotFound()
    if OrgType(org.type) != OrgType.DISTRICT:
        raise errors.ValidationFailed.field("org_id", "choose a district")
    auth_service.consume_phone_code(db, phone=body.phone, purpose=OtpPurpose.SIGNUP, code=body.code, kind="signup")
    phone_hash = cipher_of(db).lookup_hash(body.phone)
    clash = db.execute(
        select(User.id).where(
            User.phone_hash == phone_hash,
            User.role.in_([Role.CITIZEN.value, Role.CLEANER.value]),
            User.live.is_(True),
        )
    ).first()
    if clash:
        raise errors.Conflict("phone_role_taken")
    user = build_user(
        db,
        nickname=body.nickname,
        phone=body.phone,
        role=Role.CITIZEN,
        org=org,
        status=UserStatus.PENDING_APPROVAL,
        created_by=None,
        email=body.email,
        org_code_for_id="CITIZEN",
    )
    user.preferences = {"privacy_consent_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
    db.flush()
    audit.record(
        db, "USER_SIGNUP", actor_id=user.id, target_type="USER", target_id=user.id, org_id=org.id, after=snapshot(user)
    )
    # N1: the sign-up needs a city admin's approval.
    city_admins = list(
        db.execute(
            select(User.id).where(
                User.org_id == org.parent_id, User.role == Role.CITY_ADMIN, User.status == UserStatus.ACTIVE
            )
        ).scalars()
    )
    notification_service.notify(
        db,
        event="SIGNUP_PENDING",
        category="ACCOUNT",
        user_ids=city_admins,
        title="자원봉사자 가입 승인 요청",
        message=f"{user.nickname} 님이 {org.name} 자원봉사자로 가입을 신청했습니다.",
        link=f"/admin/accounts/{user.id}",
        channels=("PUSH", "EMAIL"),
        dedupe=f"signup:{user.id}",
    )
    return user


def _ensure_pending_citizen(db: Session, user: User) -> None:
    lock_user(db, user)
    if Role(user.role) != Role.CITIZEN or UserStatus(user.status) != UserStatus.PENDING_APPROVAL:
        raise errors.InvalidState()


def approve_volunteer(db: Session, *, editor: User, user: User) -> User:
    _ensure_pending_citizen(db, user)
    cleaner = db.execute(
        select(User.id).where(User.phone_hash == user.phone_hash, User.role == Role.CLEANER, User.live.is_(True))
    ).first()
    if cleaner:
        raise errors.Conflict("phone_role_taken")
    before = snapshot(user)
    user.role = Role.CLEANER
    user.cleaner_type = CleanerType.VOLUNTEER
    user.status = UserStatus.ACTIVE
    user.status_reason = None
    if user.worker_profile is None:
        user.worker_profile = WorkerProfile(start_date=seoul_today())
    _flush_or_conflict(db)
    audit.record(
        db,
        "USER_APPROVE",
        actor_id=editor.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        before=before,
        after=snapshot(user),
    )
    security.raise_event(
        db,
        "role_change",
        actor_id=editor.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        details={"from": "CITIZEN", "to": "CLEANER"},
    )
    # N1/N2: the approval result and the role change reach the volunteer.
    notification_service.notify(
        db,
        event="SIGNUP_APPROVED",
        category="ACCOUNT",
        user_ids=[user.id],
        title="가입 승인",
        message="자원봉사자 가입이 승인되었습니다. 이제 청소 활동에 참여할 수 있습니다.",
        link="/app",
        channels=("PUSH", "EMAIL", "ALIMTALK"),
        dedupe=f"signup:{user.id}:approved",
    )
    return user


def reject_volunteer(db: Session, *, editor: User, user: User, reason: str) -> User:
    from beachsaver.auth import service as auth_service

    _ensure_pending_citizen(db, user)
    before = snapshot(user)
    user.status = UserStatus.REJECTED
    user.status_reason = reason
    user.live = None
    auth_service.revoke_sessions(db, user.id, str(UserStatus.REJECTED))
    db.flush()
    audit.record(
        db,
        "USER_REJECT",
        actor_id=editor.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        before=before,
        after={**snapshot(user), "reason": reason},
    )
    # N12: the rejection with its reason (the citizen can no longer sign in: text channels).
    notification_service.notify(
        db,
        event="SIGNUP_REJECTED",
        category="ACCOUNT",
        user_ids=[user.id],
        title="가입 반려",
        message=f"자원봉사자 가입이 반려되었습니다. 사유: {reason}",
        channels=("ALIMTALK", "SMS", "EMAIL"),
        dedupe=f"signup:{user.id}:rejected",
    )
    return user


def verify_collector(db: Session, *, editor: User, user: User) -> User:
    lock_user(db, user)
    if Role(user.role) != Role.COLLECTOR or user.vehicle is None or not user.live:
        raise errors.InvalidState()
    user.vehicle.verified_at = utcnow()
    user.vehicle.verified_by = editor.id
    db.flush()
    audit.record(
        db,
        "USER_VERIFY_COLLECTOR",
        actor_id=editor.id,
        target_type="USER",
        target_id=user.id,
        org_id=user.org_id,
        after={"verified_by": editor.id, "verified_at": user.vehicle.verified_at},
    )
    return user


# ---- phone changes -------------------------------------------------------------------------------


def request_phone_change(
    db: Session, *, user: User, new_phone: str, code_old: str, code_new: str
) -> PhoneChangeRequest:
    from beachsaver.auth import service as auth_service

    cipher = cipher_of(db)
    old_phone = cipher.decrypt(user.phone_enc) or ""
    if old_phone == new_phone:
        raise errors.ValidationFailed.field("new_phone", "the new phone is the current one")
    auth_service.consume_phone_code(
        db, phone=old_phone, purpose=OtpPurpose.PHONE_CHANGE, code=code_old, kind="phone_change"
    )
    auth_service.consume_phone_code(
        db, phone=new_phone, purpose=OtpPurpose.PHONE_CHANGE, code=code_new, kind="phone_change"
    )
    pending = db.execute(
        select(PhoneChangeRequest.id).where(
            PhoneChangeRequest.user_id == user.id, PhoneChangeRequest.status == RequestStatus.PENDING
        )
    ).first()
    if pending:
        raise errors.Conflict()
    new_hash = cipher.lookup_hash(new_phone)
    for account in accounts_on_phone(db, user.phone_hash):
        if account.live:
            _ensure_phone_role_free(db, new_hash, Role(account.role))
    request = PhoneChangeRequest(
        user_id=user.id,
        org_id=user.org_id,
        old_phone_hash=user.phone_hash,
        new_phone_enc=cipher.encrypt(new_phone),
        new_phone_hash=new_hash,
        new_phone_last4=new_phone[-4:],
        status=RequestStatus.PENDING,
    )
    db.add(request)
    db.flush()
    audit.record(
        db,
        "PHONE_CHANGE_REQUEST",
        actor_id=user.id,
        target_type="PHONE_CHANGE",
        target_id=request.id,
        org_id=user.org_id,
        after={"user_id": user.id, "new_phone": new_phone},
    )
    return request


def present_phone_change(db: Session, req: PhoneChangeRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "user_id": req.user_id,
        "org_id": req.org_id,
        "new_phone": mask_phone(req.new_phone_last4),
        "status": req.status,
        "reason": req.reason,
        "decided_by": req.decided_by,
        "decided_at": req.decided_at,
        "created_at": req.created_at,
    }


def decide_phone_change(
    db: Session, *, editor: User, req: PhoneChangeRequest, approve: bool, reason: str | None
) -> PhoneChangeRequest:
    requester = db.get(User, req.user_id)
    assert requester is not None
    if req.user_id == editor.id:
        raise errors.Forbidden()
    ensure_may_manage(Role(editor.role), requester)
    db.execute(
        select(PhoneChangeRequest)
        .where(PhoneChangeRequest.id == req.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars().all()
    if req.status != RequestStatus.PENDING:
        raise errors.InvalidState()
    affected: list[int] = []
    if approve:
        if not requester.live or requester.phone_hash != req.old_phone_hash:
            # The account was withdrawn or its phone changed since the request was made.
            raise errors.InvalidState()
        accounts = [u for u in accounts_on_phone(db, req.old_phone_hash) if u.live]
        for account in accounts:
            _ensure_phone_role_free(db, req.new_phone_hash, Role(account.role))
        for account in accounts:
            account.phone_enc = req.new_phone_enc
            account.phone_hash = req.new_phone_hash
            account.phone_last4 = req.new_phone_last4
            affected.append(account.id)
        _flush_or_conflict(db)
    req.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    req.decided_by = editor.id
    req.decided_at = utcnow()
    req.reason = reason
    db.flush()
    audit.record(
        db,
        "PHONE_CHANGE_APPROVE" if approve else "PHONE_CHANGE_REJECT",
        actor_id=editor.id,
        target_type="PHONE_CHANGE",
        target_id=req.id,
        org_id=req.org_id,
        after={"user_id": req.user_id, "reason": reason, "changed_user_ids": affected},
    )
    return req
