"""Shared helpers of the sign-in, audit and messaging tests."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core.enums import Role, UserStatus
from beachsaver.core.runtime import runtime_of
from beachsaver.core.time import utcnow
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.users.models import User
from tests.factories import PASSWORD, make_city, make_district, make_user

__all__ = ["PASSWORD"]


class Clock:
    """Moves the sign-in service's clock (``beachsaver.auth.service.utcnow``) forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> Any:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def district_of(db: Session) -> Organization:
    return make_district(db, make_city(db))


def make_worker(
    db: Session,
    phone: str,
    *,
    role: Role = Role.INVESTIGATOR,
    status: UserStatus = UserStatus.ACTIVE,
    org: Organization | None = None,
) -> User:
    user = make_user(db, role, org or district_of(db), phone=phone, status=status)
    db.commit()
    return user


def make_platform_admin(db: Session, phone: str) -> User:
    user = make_user(db, Role.PLATFORM_ADMIN, org_service.ensure_root(db), phone=phone, nickname="플랫폼")
    db.commit()
    return user


def messages(client: TestClient, phone: str | None = None, **params: Any) -> list[dict[str, Any]]:
    query = dict(params)
    if phone is not None:
        query["phone"] = phone
    response = client.get("/api/dev/messages", params=query)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def codes_sent(client: TestClient, phone: str) -> list[dict[str, Any]]:
    """The dev-outbox messages to ``phone`` that carry a code (alerts and notices left out)."""
    return [m for m in messages(client, phone, size=100) if m["code"] is not None]


def code_for(client: TestClient, phone: str) -> str:
    data = codes_sent(client, phone)
    assert data, f"no code sent to {phone}"
    return str(data[0]["code"])


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def phone_sign_in(client: TestClient, phone: str) -> dict[str, Any]:
    """Login + verify for a phone with exactly one account; returns the Tokens object."""
    sent = client.post("/api/auth/login", json={"phone": phone})
    assert sent.status_code == 200, sent.text
    verified = client.post("/api/auth/verify", json={"phone": phone, "code": code_for(client, phone)})
    assert verified.status_code == 200, verified.text
    data: dict[str, Any] = verified.json()["data"]
    assert "access_token" in data, data
    return data


def admin_challenge(client: TestClient, login_id: str, password: str = PASSWORD) -> str:
    response = client.post("/api/auth/admin/login", json={"login_id": login_id, "password": password})
    assert response.status_code == 200, response.text
    challenge: str = response.json()["data"]["challenge_id"]
    return challenge


def admin_sign_in(client: TestClient, admin: User, phone: str, password: str = PASSWORD) -> dict[str, Any]:
    challenge = admin_challenge(client, admin.system_id, password)
    response = client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": code_for(client, phone)})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["data"] is None
    assert body["error"]["code"] == code, body
    assert body["error"]["trace_id"] == response.headers["x-trace-id"]
    return body


def metric(client: TestClient, name: str, labels: dict[str, str]) -> float:
    """A sample of /metrics (0 when the series does not exist yet)."""
    text = client.get("/metrics").text
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.compile(rf"^{re.escape(name)}\{{{re.escape(label_text)}\}} (\S+)$", re.MULTILINE)
    match = pattern.search(text)
    return float(match.group(1)) if match else 0.0


def fetch_all(db: Session, stmt: Any) -> list[Any]:
    """Rows as the API committed them, read through a separate short-lived session.

    (On SQLite every transaction takes the write lock, so the test's own session must not
    hold one while the API works; the rows come back loaded and detached.)
    """
    with runtime_of(db).session_factory() as reader:
        rows = list(reader.execute(stmt).scalars())
        reader.expunge_all()
        reader.rollback()
    return rows


def fetch_one(db: Session, stmt: Any) -> Any:
    rows = fetch_all(db, stmt)
    assert len(rows) == 1, rows
    return rows[0]


def fetch(db: Session, model: Any, ident: Any) -> Any:
    with runtime_of(db).session_factory() as reader:
        row = reader.get(model, ident)
        reader.expunge_all()
        reader.rollback()
    return row


def audit_entries(db: Session, action: str | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return fetch_all(db, stmt)
