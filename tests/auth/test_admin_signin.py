"""Administrators: login id + password, then a code; lock-outs; password expiry (01 §2, 07 §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.auth.models import AuthSession, OtpCode
from beachsaver.core.enums import Role
from beachsaver.core.security import verify_password
from beachsaver.core.time import utcnow
from beachsaver.orgs import service as org_service
from beachsaver.users.models import AdminProfile, User
from tests.auth.helpers import (
    PASSWORD,
    Clock,
    admin_challenge,
    admin_sign_in,
    assert_error,
    audit_entries,
    bearer,
    code_for,
    codes_sent,
    fetch,
    fetch_all,
    fetch_one,
    make_platform_admin,
    make_worker,
    metric,
    phone_sign_in,
    wrong_code,
)
from tests.factories import make_city, make_user

PHONE = "01012345678"


def test_sign_in_with_system_id(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    r = client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": PASSWORD})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"challenge_id", "expires_in"}
    assert data["expires_in"] == 180
    sent = codes_sent(client, PHONE)
    assert len(sent) == 1
    assert sent[0]["purpose"] == "ADMIN_LOGIN"
    r = client.post("/api/auth/admin/verify", json={"challenge_id": data["challenge_id"], "code": sent[0]["code"]})
    assert r.status_code == 200, r.text
    tokens = r.json()["data"]
    assert tokens["user"]["id"] == admin.id
    assert tokens["user"]["role"] == "PLATFORM_ADMIN"
    assert tokens["password_expired"] is False
    assert tokens["token_type"] == "bearer"
    assert client.get("/api/users", headers=bearer(tokens["access_token"])).status_code == 200


@pytest.mark.parametrize("form", ["01012345678", "010-1234-5678", "+821012345678"])
def test_sign_in_with_phone(client: TestClient, db: Any, form: str) -> None:
    admin = make_platform_admin(db, PHONE)
    challenge = admin_challenge(client, form)
    r = client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": code_for(client, PHONE)})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["user"]["id"] == admin.id


def test_phone_with_several_admin_accounts_must_use_system_id(client: TestClient, db: Any) -> None:
    platform = make_platform_admin(db, PHONE)
    city_admin = make_user(db, Role.CITY_ADMIN, make_city(db), phone=PHONE, nickname="시청")
    db.commit()
    r = client.post("/api/auth/admin/login", json={"login_id": PHONE, "password": PASSWORD})
    body = assert_error(r, 400, "VALIDATION_ERROR")
    assert [d["field"] for d in body["error"]["details"]] == ["login_id"]
    assert codes_sent(client, PHONE) == []
    for admin in (platform, city_admin):
        tokens = admin_sign_in(client, admin, PHONE)
        assert tokens["user"]["id"] == admin.id
        # next code send for this phone needs the interval: clear it by age
        db.rollback()
        for row in db.execute(select(OtpCode)).scalars():
            row.created_at = utcnow() - timedelta(seconds=60)
        db.commit()


def test_worker_on_the_admin_phone_does_not_count(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    make_worker(db, PHONE, role=Role.CLEANER)
    tokens = admin_sign_in(client, admin, PHONE)
    assert tokens["user"]["id"] == admin.id


def test_worker_cannot_use_admin_login(client: TestClient, db: Any) -> None:
    worker = make_worker(db, PHONE)
    r = client.post("/api/auth/admin/login", json={"login_id": worker.system_id, "password": PASSWORD})
    assert_error(r, 401, "UNAUTHENTICATED")
    r = client.post("/api/auth/admin/login", json={"login_id": PHONE, "password": PASSWORD})
    assert_error(r, 401, "UNAUTHENTICATED")
    assert codes_sent(client, PHONE) == []


def test_wrong_password_and_unknown_login_id_answer_alike(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    wrong = client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": "Wrong-Pass-1"})
    unknown = client.post("/api/auth/admin/login", json={"login_id": "NOBODY_X_PLATFORM_9999", "password": PASSWORD})
    assert_error(wrong, 401, "UNAUTHENTICATED")
    assert_error(unknown, 401, "UNAUTHENTICATED")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert codes_sent(client, PHONE) == []


def test_wrong_code_and_used_challenge(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    challenge = admin_challenge(client, admin.system_id)
    code = code_for(client, PHONE)
    r = client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": wrong_code(code)})
    assert_error(r, 401, "UNAUTHENTICATED")
    assert client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": code}).status_code == 200
    again = client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": code})
    assert_error(again, 401, "UNAUTHENTICATED")
    unknown = client.post("/api/auth/admin/verify", json={"challenge_id": "y" * 43, "code": code})
    assert_error(unknown, 401, "UNAUTHENTICATED")


def test_admin_code_expires(client: TestClient, db: Any, clock: Clock) -> None:
    admin = make_platform_admin(db, PHONE)
    challenge = admin_challenge(client, admin.system_id)
    code = code_for(client, PHONE)
    clock.advance(181)
    assert_error(
        client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": code}), 401, "UNAUTHENTICATED"
    )


def test_challenge_ids_are_stored_as_hashes(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    challenge = admin_challenge(client, admin.system_id)
    row = fetch_one(db, select(OtpCode))
    assert row.challenge_hash is not None and row.challenge_hash != challenge
    assert row.user_id == admin.id


def test_five_wrong_passwords_lock_the_account(client: TestClient, db: Any, clock: Clock) -> None:
    admin = make_platform_admin(db, PHONE)
    before = metric(client, "beachsaver_security_events_total", {"kind": "lockout"})
    for _ in range(5):
        r = client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": "Wrong-Pass-1"})
        assert_error(r, 401, "UNAUTHENTICATED")
    r = client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": PASSWORD})
    assert_error(r, 423, "LOCKED")
    assert 1700 <= int(r.headers["retry-after"]) <= 1800
    # Through the phone as login id, too; and no code was sent.
    assert_error(client.post("/api/auth/admin/login", json={"login_id": PHONE, "password": PASSWORD}), 423, "LOCKED")
    assert codes_sent(client, PHONE) == []
    assert metric(client, "beachsaver_security_events_total", {"kind": "lockout"}) == before + 1
    events = audit_entries(db, "SECURITY_LOCKOUT")
    assert [(e.target_type, e.target_id) for e in events] == [("USER", admin.id)]
    clock.advance(1801)
    assert admin_challenge(client, admin.system_id)


def test_wrong_codes_and_passwords_count_together(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    for _ in range(3):
        client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": "Wrong-Pass-1"})
    challenge = admin_challenge(client, admin.system_id)
    code = code_for(client, PHONE)
    for _ in range(2):
        r = client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": wrong_code(code)})
        assert_error(r, 401, "UNAUTHENTICATED")
    # Locked now: even the right code answers 423.
    r = client.post("/api/auth/admin/verify", json={"challenge_id": challenge, "code": code})
    assert_error(r, 423, "LOCKED")
    assert int(r.headers["retry-after"]) > 0


def test_suspended_admin_cannot_sign_in(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    db.rollback()
    db.get(User, admin.id).status = "SUSPENDED"
    db.commit()
    r = client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": PASSWORD})
    assert_error(r, 401, "UNAUTHENTICATED")
    assert codes_sent(client, PHONE) == []


def test_admin_sign_in_is_audited(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": "Wrong-Pass-1"})
    admin_sign_in(client, admin, PHONE)
    failures = audit_entries(db, "AUTH_LOGIN_FAILURE")
    assert len(failures) == 1
    assert failures[0].target_id == admin.id
    assert failures[0].after is not None and failures[0].after["kind"] == "admin"
    logins = audit_entries(db, "AUTH_LOGIN")
    assert len(logins) == 1
    assert logins[0].actor_id == admin.id
    assert logins[0].after is not None and logins[0].after["kind"] == "admin"


# ---- password expiry and change ---------------------------------------------------------------


def expire_password(db: Any, admin: User, days: int = 91) -> None:
    db.rollback()
    profile = db.get(AdminProfile, admin.id)
    profile.password_changed_at = utcnow() - timedelta(days=days)
    db.commit()


def test_password_valid_for_ninety_days(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    expire_password(db, admin, days=89)
    tokens = admin_sign_in(client, admin, PHONE)
    assert tokens["password_expired"] is False
    assert client.get("/api/users", headers=bearer(tokens["access_token"])).status_code == 200


def test_expired_password_allows_only_the_change(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    expire_password(db, admin)
    tokens = admin_sign_in(client, admin, PHONE)
    assert tokens["password_expired"] is True
    headers = bearer(tokens["access_token"])
    for method, path in (
        ("GET", "/api/users"),
        ("GET", "/api/organizations"),
        ("GET", "/api/logs"),
        ("GET", "/api/users/roles"),
        ("GET", "/api/teams"),
        ("GET", "/api/beaches"),
    ):
        assert_error(client.request(method, path, headers=headers), 403, "PASSWORD_EXPIRED")
    me = client.get("/api/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["data"]["id"] == admin.id


def test_expired_password_blocks_editing_my_profile(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    expire_password(db, admin)
    tokens = admin_sign_in(client, admin, PHONE)
    r = client.patch("/api/users/me", json={"nickname": "새이름"}, headers=bearer(tokens["access_token"]))
    assert_error(r, 403, "PASSWORD_EXPIRED")


def test_expired_password_still_signs_out(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    expire_password(db, admin)
    tokens = admin_sign_in(client, admin, PHONE)
    r = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert_error(client.get("/api/users/me", headers=bearer(tokens["access_token"])), 401, "UNAUTHENTICATED")


def test_change_an_expired_password(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    expire_password(db, admin)
    tokens = admin_sign_in(client, admin, PHONE)
    headers = bearer(tokens["access_token"])
    r = client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "Brand-New-Pass-2"}, headers=headers
    )
    assert r.status_code == 200, r.text
    new = r.json()["data"]
    assert new["password_expired"] is False
    assert new["user"]["id"] == admin.id
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/users", headers=bearer(new["access_token"])).status_code == 200
    # The earlier session ended.
    assert_error(client.get("/api/users/me", headers=headers), 401, "UNAUTHENTICATED")
    assert_error(
        client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401, "UNAUTHENTICATED"
    )
    profile = fetch(db, AdminProfile, admin.id)
    assert verify_password(profile.password_hash, "Brand-New-Pass-2")
    assert profile.password_hash.startswith("$argon2id$")
    assert (utcnow() - profile.password_changed_at).total_seconds() < 60
    assert len(audit_entries(db, "USER_PASSWORD_CHANGE")) == 1
    # The new password signs in; the old one does not.
    r = client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": PASSWORD})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_password_change_ends_other_sessions(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    tokens = admin_sign_in(client, admin, PHONE)
    r = client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "Brand-New-Pass-2"},
        headers=bearer(tokens["access_token"]),
    )
    assert r.status_code == 200, r.text
    sessions = fetch_all(db, select(AuthSession).where(AuthSession.user_id == admin.id))
    live = [s for s in sessions if s.revoked_at is None]
    assert len(live) == 1
    new_sid = int(jwt.decode(r.json()["data"]["access_token"], options={"verify_signature": False})["sid"])
    assert live[0].id == new_sid


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"current_password": PASSWORD, "new_password": PASSWORD}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "short7!"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "x" * 65}, "new_password"),
        ({"current_password": PASSWORD}, "new_password"),
        ({"current_password": "Wrong-Pass-1", "new_password": "Brand-New-Pass-2"}, "current_password"),
    ],
)
def test_password_rules(client: TestClient, db: Any, payload: dict[str, Any], field: str) -> None:
    admin = make_platform_admin(db, PHONE)
    tokens = admin_sign_in(client, admin, PHONE)
    r = client.post("/api/auth/password", json=payload, headers=bearer(tokens["access_token"]))
    body = assert_error(r, 400, "VALIDATION_ERROR")
    assert [d["field"] for d in body["error"]["details"]] == [field]
    # Nothing changed: the session lives on.
    assert client.get("/api/users/me", headers=bearer(tokens["access_token"])).status_code == 200


def test_password_limits_are_inclusive(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    tokens = admin_sign_in(client, admin, PHONE)
    r = client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "y" * 64},
        headers=bearer(tokens["access_token"]),
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/auth/password",
        json={"current_password": "y" * 64, "new_password": "Eight-8!"},
        headers=bearer(r.json()["data"]["access_token"]),
    )
    assert r.status_code == 200, r.text


def test_password_change_is_for_admins(client: TestClient, db: Any) -> None:
    make_worker(db, PHONE)
    tokens = phone_sign_in(client, PHONE)
    r = client.post(
        "/api/auth/password",
        json={"current_password": "whatever-1", "new_password": "Brand-New-Pass-2"},
        headers=bearer(tokens["access_token"]),
    )
    assert_error(r, 403, "FORBIDDEN")
    assert_error(
        client.post("/api/auth/password", json={"current_password": "a" * 8, "new_password": "b" * 8}),
        401,
        "UNAUTHENTICATED",
    )


def test_wrong_current_password_counts_toward_the_lock(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    tokens = admin_sign_in(client, admin, PHONE)
    headers = bearer(tokens["access_token"])
    for _ in range(5):
        r = client.post(
            "/api/auth/password",
            json={"current_password": "Wrong-Pass-1", "new_password": "Brand-New-Pass-2"},
            headers=headers,
        )
        assert_error(r, 400, "VALIDATION_ERROR")
    r = client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "Brand-New-Pass-2"}, headers=headers
    )
    assert_error(r, 423, "LOCKED")


def test_bootstrap_admin_password_starts_its_ninety_days(client: TestClient, db: Any) -> None:
    root = org_service.ensure_root(db)
    admin = make_user(db, Role.PLATFORM_ADMIN, root, phone=PHONE)
    db.commit()
    assert admin.admin_profile is not None
    assert (utcnow() - admin.admin_profile.password_changed_at).total_seconds() < 60
