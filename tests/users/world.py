"""A small organisation tree with admins and workers, shared by the users and orgs tests.

Everything the tests need is kept as plain ids, phones and tokens so that no ORM object has to
be reloaded (on SQLite a reload would open a write transaction and block the API).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core.enums import CleanerType, Role, UserStatus
from beachsaver.orgs import service as org_service
from beachsaver.users.models import User
from tests.factories import auth, make_city, make_district, make_user, next_phone, token_for


@dataclass
class Account:
    id: int
    system_id: str
    phone: str
    role: Role
    org_id: int
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


@dataclass
class World:
    root: int
    city_a: int
    city_a_code: str
    d_a1: int
    d_a1_code: str
    d_a2: int
    city_b: int
    d_b1: int
    accounts: dict[str, Account] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Account:
        try:
            return self.__dict__["accounts"][name]
        except KeyError:
            raise AttributeError(name) from None


def account_of(db: Session, user: User, *, token: bool = True) -> Account:
    from beachsaver.core.runtime import cipher_of

    phone = cipher_of(db).decrypt(user.phone_enc) or ""
    return Account(
        id=user.id,
        system_id=user.system_id,
        phone=phone,
        role=Role(user.role),
        org_id=user.org_id,
        token=token_for(db, user) if token and user.status != UserStatus.SUSPENDED else "",
    )


def build_world(db: Session) -> World:
    root = org_service.ensure_root(db)
    city_a = make_city(db, "BSJ001", name="부산광역시")
    d_a1 = make_district(db, city_a, "HAEUN", name="해운대구")
    d_a2 = make_district(db, city_a, "SUYEONG", name="수영구")
    city_b = make_city(db, "ULS002", name="울산광역시")
    d_b1 = make_district(db, city_b, "JUNG", name="중구")
    w = World(
        root=root.id,
        city_a=city_a.id,
        city_a_code=city_a.code,
        d_a1=d_a1.id,
        d_a1_code=d_a1.code,
        d_a2=d_a2.id,
        city_b=city_b.id,
        d_b1=d_b1.id,
    )
    specs: list[tuple[str, Role, Any, dict[str, Any]]] = [
        ("pa", Role.PLATFORM_ADMIN, root, {"nickname": "플랫폼"}),
        ("pa2", Role.PLATFORM_ADMIN, root, {"nickname": "플랫폼둘"}),
        ("ca", Role.CITY_ADMIN, city_a, {"nickname": "부산시청"}),
        ("ca2", Role.CITY_ADMIN, city_a, {"nickname": "부산시청둘"}),
        ("cb", Role.CITY_ADMIN, city_b, {"nickname": "울산시청"}),
        ("da1", Role.DISTRICT_ADMIN, d_a1, {"nickname": "해운대청"}),
        ("da2", Role.DISTRICT_ADMIN, d_a2, {"nickname": "수영구청"}),
        ("db1", Role.DISTRICT_ADMIN, d_b1, {"nickname": "중구청"}),
        ("inv", Role.INVESTIGATOR, d_a1, {"nickname": "조사원"}),
        ("cl", Role.CLEANER, d_a1, {"nickname": "청소원"}),
        ("col", Role.COLLECTOR, d_a1, {"nickname": "수거원"}),
        ("inv2", Role.INVESTIGATOR, d_a2, {"nickname": "수영조사"}),
        ("cl_b", Role.CLEANER, d_b1, {"nickname": "울산청소"}),
    ]
    for key, role, org, extra in specs:
        user = make_user(db, role, org, phone=next_phone(), **extra)
        w.accounts[key] = account_of(db, user)
    db.commit()
    return w


def make_account(
    db: Session,
    role: Role,
    org_id: int,
    *,
    token: bool = True,
    phone: str | None = None,
    nickname: str = "테스터",
    status: UserStatus = UserStatus.ACTIVE,
    cleaner_type: CleanerType | None = None,
    verified: bool = False,
) -> Account:
    org = org_service.get(db, org_id)
    assert org is not None
    user = make_user(
        db,
        role,
        org,
        phone=phone or next_phone(),
        nickname=nickname,
        status=status,
        cleaner_type=cleaner_type,
        verified=verified,
    )
    account = account_of(db, user, token=token)
    db.commit()
    return account


@contextmanager
def session(client: TestClient) -> Iterator[Session]:
    """A short-lived session for reading what the API stored (closed at once)."""
    factory = client.app.state.runtime.session_factory  # type: ignore[attr-defined]
    s: Session = factory()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


def audit_entries(client: TestClient, action: str, target_id: int | None = None) -> list[dict[str, Any]]:
    with session(client) as s:
        stmt = select(AuditEntry).where(AuditEntry.action == action)
        if target_id is not None:
            stmt = stmt.where(AuditEntry.target_id == target_id)
        rows = s.execute(stmt.order_by(AuditEntry.id)).scalars().all()
        return [
            {
                "actor_id": r.actor_id,
                "target_type": r.target_type,
                "target_id": r.target_id,
                "org_id": r.org_id,
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ]


def stored_user(client: TestClient, user_id: int) -> dict[str, Any]:
    with session(client) as s:
        u = s.get(User, user_id)
        assert u is not None
        return {
            "role": u.role,
            "status": u.status,
            "live": u.live,
            "phone_hash": u.phone_hash,
            "phone_enc": u.phone_enc,
            "phone_last4": u.phone_last4,
            "real_name_enc": u.real_name_enc,
            "email": u.email,
            "system_id": u.system_id,
            "org_id": u.org_id,
            "withdrawn_at": u.withdrawn_at,
        }


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    assert body["error"]["code"] == code, body
    if field is not None:
        fields = [d["field"] for d in body["error"].get("details") or []]
        assert field in fields, body


@pytest.fixture
def w(db: Session) -> World:
    """The fixture of the users and organisations tests (their conftests import it)."""
    return build_world(db)
