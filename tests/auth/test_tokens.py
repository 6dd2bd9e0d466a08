"""Access and refresh tokens: signatures, sessions, rotation, reuse, sign-out (01 §2, 07 §4)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.auth.models import AuthSession, RefreshToken
from beachsaver.core.enums import Role
from beachsaver.core.security import issue_access_token
from beachsaver.core.time import utcnow
from beachsaver.users.models import User
from tests.auth.helpers import (
    Clock,
    assert_error,
    audit_entries,
    bearer,
    fetch,
    fetch_all,
    fetch_one,
    make_worker,
    metric,
    phone_sign_in,
)

PHONE = "01012345678"
ME = "/api/users/me"


def signed_in(client: TestClient, db: Any) -> tuple[Any, dict[str, Any]]:
    user = make_worker(db, PHONE)
    return user, phone_sign_in(client, PHONE)


def secret_of(client: TestClient) -> str:
    secret: str = client.app.state.runtime.settings.jwt_secret  # type: ignore[attr-defined]
    return secret


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_access_token_is_hs256_with_a_session_id(client: TestClient, db: Any) -> None:
    user, tokens = signed_in(client, db)
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(tokens["access_token"], secret_of(client), algorithms=["HS256"])
    assert claims["sub"] == str(user.id)
    assert isinstance(claims["sid"], int)
    assert claims["exp"] - claims["iat"] == 900
    session = fetch(db, AuthSession, claims["sid"])
    assert session is not None and session.user_id == user.id and session.revoked_at is None
    assert client.get(ME, headers=bearer(tokens["access_token"])).status_code == 200


def test_missing_or_malformed_token(client: TestClient, db: Any) -> None:
    signed_in(client, db)
    assert_error(client.get(ME), 401, "UNAUTHENTICATED")
    assert_error(client.get(ME, headers={"Authorization": "Bearer"}), 401, "UNAUTHENTICATED")
    assert_error(client.get(ME, headers={"Authorization": "Basic abc"}), 401, "UNAUTHENTICATED")
    assert_error(client.get(ME, headers=bearer("not.a.jwt")), 401, "UNAUTHENTICATED")
    assert_error(client.get(ME, headers=bearer("garbage")), 401, "UNAUTHENTICATED")


def test_changed_signature_is_rejected(client: TestClient, db: Any) -> None:
    _, tokens = signed_in(client, db)
    head, payload, signature = tokens["access_token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_error(client.get(ME, headers=bearer(f"{head}.{payload}.{flipped}")), 401, "UNAUTHENTICATED")


def test_changed_payload_is_rejected(client: TestClient, db: Any) -> None:
    _user, tokens = signed_in(client, db)
    other = make_worker(db, "01011112222", role=Role.CLEANER)
    head, _, signature = tokens["access_token"].split(".")
    claims = jwt.decode(tokens["access_token"], secret_of(client), algorithms=["HS256"])
    forged = b64({**claims, "sub": str(other.id)})
    assert_error(client.get(ME, headers=bearer(f"{head}.{forged}.{signature}")), 401, "UNAUTHENTICATED")


def test_alg_none_is_rejected(client: TestClient, db: Any) -> None:
    _, tokens = signed_in(client, db)
    claims = jwt.decode(tokens["access_token"], secret_of(client), algorithms=["HS256"])
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}."
        assert_error(client.get(ME, headers=bearer(unsigned)), 401, "UNAUTHENTICATED")


def test_token_signed_with_another_key_is_rejected(client: TestClient, db: Any) -> None:
    _, tokens = signed_in(client, db)
    claims = jwt.decode(tokens["access_token"], secret_of(client), algorithms=["HS256"])
    other = jwt.encode(claims, "another-secret-of-at-least-32-bytes!!", algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(other)), 401, "UNAUTHENTICATED")
    hs512 = jwt.encode(claims, secret_of(client), algorithm="HS512")
    assert_error(client.get(ME, headers=bearer(hs512)), 401, "UNAUTHENTICATED")


def test_expired_token_is_rejected(client: TestClient, db: Any) -> None:
    user, tokens = signed_in(client, db)
    sid = jwt.decode(tokens["access_token"], secret_of(client), algorithms=["HS256"])["sid"]
    expired = issue_access_token(
        secret_of(client),
        user_id=user.id,
        session_id=sid,
        role=user.role,
        ttl_s=900,
        now=utcnow() - timedelta(seconds=901),
    )
    assert_error(client.get(ME, headers=bearer(expired)), 401, "UNAUTHENTICATED")
    fresh = issue_access_token(secret_of(client), user_id=user.id, session_id=sid, role=user.role, ttl_s=900)
    assert client.get(ME, headers=bearer(fresh)).status_code == 200


def test_token_without_session_or_of_another_session_is_rejected(client: TestClient, db: Any) -> None:
    _user, tokens = signed_in(client, db)
    claims = jwt.decode(tokens["access_token"], secret_of(client), algorithms=["HS256"])
    no_sid = jwt.encode({k: v for k, v in claims.items() if k != "sid"}, secret_of(client), algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(no_sid)), 401, "UNAUTHENTICATED")
    unknown_sid = jwt.encode({**claims, "sid": 999999}, secret_of(client), algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(unknown_sid)), 401, "UNAUTHENTICATED")
    other = make_worker(db, "01011112222", role=Role.CLEANER)
    other_user = jwt.encode({**claims, "sub": str(other.id)}, secret_of(client), algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(other_user)), 401, "UNAUTHENTICATED")


def test_refresh_token_is_not_an_access_token(client: TestClient, db: Any) -> None:
    _, tokens = signed_in(client, db)
    assert_error(client.get(ME, headers=bearer(tokens["refresh_token"])), 401, "UNAUTHENTICATED")


def test_logout_revokes_the_session(client: TestClient, db: Any) -> None:
    _, tokens = signed_in(client, db)
    r = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "data": None, "error": None, "meta": None}
    assert_error(client.get(ME, headers=bearer(tokens["access_token"])), 401, "UNAUTHENTICATED")
    r = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_error(r, 401, "UNAUTHENTICATED")
    assert_error(client.post("/api/auth/logout", headers=bearer(tokens["access_token"])), 401, "UNAUTHENTICATED")
    assert len(audit_entries(db, "AUTH_LOGOUT")) == 1


def test_refresh_rotates(client: TestClient, db: Any) -> None:
    user, tokens = signed_in(client, db)
    r = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200, r.text
    new = r.json()["data"]
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["token_type"] == "bearer"
    assert new["expires_in"] == 900
    assert new["user"]["id"] == user.id
    assert client.get(ME, headers=bearer(new["access_token"])).status_code == 200
    # The chain goes on.
    r2 = client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert r2.status_code == 200, r2.text
    assert client.get(ME, headers=bearer(r2.json()["data"]["access_token"])).status_code == 200
    rows = fetch_all(db, select(RefreshToken).order_by(RefreshToken.id))
    assert len(rows) == 3
    assert rows[1].parent_id == rows[0].id and rows[2].parent_id == rows[1].id
    for row, raw in zip(rows, (tokens["refresh_token"], new["refresh_token"]), strict=False):
        assert row.token_hash != raw


def test_reusing_a_rotated_refresh_token_revokes_the_chain(client: TestClient, db: Any) -> None:
    user, tokens = signed_in(client, db)
    reuse = ("beachsaver_security_events_total", {"kind": "refresh_reuse"})
    before = metric(client, *reuse)
    first = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()["data"]
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()["data"]
    assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200
    # The original token comes back: someone holds a copy.
    r = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_error(r, 401, "UNAUTHENTICATED")
    # The newest tokens of the chain stop working at once.
    assert_error(client.get(ME, headers=bearer(second["access_token"])), 401, "UNAUTHENTICATED")
    assert_error(client.get(ME, headers=bearer(tokens["access_token"])), 401, "UNAUTHENTICATED")
    r = client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_error(r, 401, "UNAUTHENTICATED")
    # A security event was raised.
    assert metric(client, *reuse) == before + 1
    events = audit_entries(db, "SECURITY_REFRESH_REUSE")
    assert len(events) == 1
    assert events[0].target_id == user.id
    assert events[0].org_id == user.org_id


def test_unknown_refresh_token(client: TestClient, db: Any) -> None:
    signed_in(client, db)
    assert_error(client.post("/api/auth/refresh", json={"refresh_token": "x" * 43}), 401, "UNAUTHENTICATED")


def test_expired_refresh_token(client: TestClient, db: Any) -> None:
    _, tokens = signed_in(client, db)
    db.rollback()
    row = db.execute(select(RefreshToken)).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert_error(
        client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401, "UNAUTHENTICATED"
    )


def test_refresh_token_lives_fourteen_days(client: TestClient, db: Any) -> None:
    signed_in(client, db)
    row = fetch_one(db, select(RefreshToken))
    assert abs((row.expires_at - utcnow()).total_seconds() - 1209600) < 60


def test_newer_sign_in_ends_older_sessions(client: TestClient, db: Any, clock: Clock) -> None:
    user = make_worker(db, PHONE)
    old = phone_sign_in(client, PHONE)
    assert client.get(ME, headers=bearer(old["access_token"])).status_code == 200
    clock.advance(31)  # past the send interval
    new = phone_sign_in(client, PHONE)
    assert new["user"]["id"] == user.id
    assert client.get(ME, headers=bearer(new["access_token"])).status_code == 200
    assert_error(client.get(ME, headers=bearer(old["access_token"])), 401, "UNAUTHENTICATED")
    assert_error(client.post("/api/auth/refresh", json={"refresh_token": old["refresh_token"]}), 401, "UNAUTHENTICATED")
    sessions = fetch_all(db, select(AuthSession).order_by(AuthSession.id))
    assert [s.revoke_reason for s in sessions] == ["SUPERSEDED", None]


def test_sign_in_of_another_account_on_the_phone_keeps_the_first(client: TestClient, db: Any) -> None:
    user = make_worker(db, PHONE)
    tokens = phone_sign_in(client, PHONE)
    other = make_worker(db, "01011112222", role=Role.CLEANER)
    phone_sign_in(client, "01011112222")
    assert client.get(ME, headers=bearer(tokens["access_token"])).json()["data"]["id"] == user.id
    assert other.id != user.id


def test_suspended_account_loses_access(client: TestClient, db: Any) -> None:
    user, tokens = signed_in(client, db)
    db.rollback()
    row = db.get(User, user.id)
    row.status = "SUSPENDED"
    db.commit()
    assert_error(client.get(ME, headers=bearer(tokens["access_token"])), 401, "UNAUTHENTICATED")
    assert_error(
        client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401, "UNAUTHENTICATED"
    )
