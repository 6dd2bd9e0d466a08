"""Volunteer sign-up, what a pending citizen may do, approval and rejection."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import auth, latest_code, next_phone
from tests.users.world import World, assert_error, audit_entries, stored_user


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Several codes to one phone within a test; the send limits have their own tests.
    return {"otp_min_interval_s": 0, "otp_max_sends": 50}


def send_signup_code(client: TestClient, phone: str) -> str:
    r = client.post("/api/auth/otp", json={"phone": phone, "purpose": "SIGNUP"})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"expires_in": 180}
    return latest_code(client, phone)


def signup(client: TestClient, w: World, phone: str | None = None, **extra: Any) -> Any:
    phone = phone or next_phone()
    code = send_signup_code(client, phone)
    body = {"nickname": "김_영희", "phone": phone, "code": code, "org_id": w.d_a1, "privacy_consent": True}
    body.update(extra)
    return client.post("/api/users/volunteer", json=body)


def sign_in(client: TestClient, phone: str) -> str:
    assert client.post("/api/auth/login", json={"phone": phone}).status_code == 200
    r = client.post("/api/auth/verify", json={"phone": phone, "code": latest_code(client, phone)})
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["access_token"])


def test_signup_creates_a_pending_citizen(client: TestClient, w: World) -> None:
    phone = next_phone()
    r = signup(client, w, phone)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert (data["role"], data["status"], data["org_id"]) == ("CITIZEN", "PENDING_APPROVAL", w.d_a1)
    assert data["cleaner_type"] is None
    assert re.fullmatch(r"CITIZEN_김-영희_VOLUNTEER_\d{4,}", data["system_id"]), data["system_id"]
    assert data["nickname"] == "김_영희"
    assert re.fullmatch(r"010-\*\*\*\*-\d{4}", data["phone"])
    entries = audit_entries(client, "USER_SIGNUP", data["id"])
    assert len(entries) == 1 and entries[0]["org_id"] == w.d_a1
    # The code was used up.
    again = client.post(
        "/api/users/volunteer",
        json={
            "nickname": "다시",
            "phone": phone,
            "code": latest_code(client, phone),
            "org_id": w.d_a1,
            "privacy_consent": True,
        },
    )
    assert_error(again, 401, "UNAUTHENTICATED")


def test_signup_validation(client: TestClient, w: World) -> None:
    r = client.post(
        "/api/users/volunteer",
        json={"nickname": "a", "phone": "123", "code": "12", "org_id": w.d_a1, "privacy_consent": False},
    )
    assert_error(r, 400, "VALIDATION_ERROR")
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"nickname", "phone", "code", "privacy_consent"} <= fields
    r = client.post(
        "/api/users/volunteer", json={"nickname": "봉사", "phone": next_phone(), "code": "123456", "org_id": w.d_a1}
    )
    assert_error(r, 400, "VALIDATION_ERROR", "privacy_consent")
    assert_error(signup(client, w, org_id=w.city_a), 400, "VALIDATION_ERROR", "org_id")
    assert_error(signup(client, w, org_id=w.root), 400, "VALIDATION_ERROR", "org_id")
    assert_error(signup(client, w, org_id=999999), 404, "NOT_FOUND")


def test_signup_needs_the_right_code(client: TestClient, w: World) -> None:
    phone = next_phone()
    code = send_signup_code(client, phone)
    wrong = "000000" if code != "000000" else "111111"
    body = {"nickname": "봉사", "phone": phone, "code": wrong, "org_id": w.d_a1, "privacy_consent": True}
    assert_error(client.post("/api/users/volunteer", json=body), 401, "UNAUTHENTICATED")
    failures = audit_entries(client, "AUTH_LOGIN_FAILURE")
    assert [(f["after"]["kind"], f["after"]["failures"]) for f in failures] == [("signup", 1)]
    # The right code still works afterwards.
    assert client.post("/api/users/volunteer", json={**body, "code": code}).status_code == 201
    # A code sent for sign-in is not a sign-up code.
    other = next_phone()
    client.post("/api/auth/login", json={"phone": other})
    body = {"nickname": "봉사", "phone": other, "code": "123456", "org_id": w.d_a1, "privacy_consent": True}
    assert_error(client.post("/api/users/volunteer", json=body), 401, "UNAUTHENTICATED")
    assert len(audit_entries(client, "USER_SIGNUP")) == 1


def test_signup_conflicts_with_live_citizen_or_cleaner(client: TestClient, db: Any, w: World) -> None:
    # Same phone again while pending: 409.
    phone = next_phone()
    assert signup(client, w, phone).status_code == 201
    assert_error(signup(client, w, phone, nickname="두번째"), 409, "CONFLICT")
    # A phone with a live CLEANER account: 409; with an investigator only: fine.
    assert_error(signup(client, w, w.cl.phone), 409, "CONFLICT")
    assert signup(client, w, w.inv.phone).status_code == 201
    # A rejected sign-up frees the phone.
    stored_phone = next_phone()
    pending = signup(client, w, stored_phone).json()["data"]
    assert (
        client.post(f"/api/users/{pending['id']}/reject", json={"reason": "중복"}, headers=w.ca.headers).status_code
        == 200
    )
    assert signup(client, w, stored_phone).status_code == 201


def test_pending_citizen_may_call_only_its_own_things(client: TestClient, w: World) -> None:
    phone = next_phone()
    citizen = signup(client, w, phone).json()["data"]
    token = sign_in(client, phone)
    h = auth(token)
    me = client.get("/api/users/me", headers=h)
    assert me.status_code == 200
    assert me.json()["data"]["status"] == "PENDING_APPROVAL"
    assert me.json()["data"]["phone"] == phone
    r = client.patch("/api/users/me", json={"nickname": "새별명", "preferences": {"large_text": True}}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["nickname"] == "새별명"
    assert r.json()["data"]["preferences"]["large_text"] is True
    roles = client.get("/api/users/roles", headers=h)
    assert roles.status_code == 200
    assert [a["user_id"] for a in roles.json()["data"]] == [citizen["id"]]
    assert client.get("/api/notifications", headers=h).status_code == 200
    for method, path in [
        ("GET", "/api/organizations"),
        ("GET", f"/api/organizations/{w.d_a1}"),
        ("GET", "/api/users/colleagues"),
        ("GET", "/api/users"),
        ("GET", f"/api/users/{citizen['id']}"),
        ("GET", "/api/teams"),
        ("GET", "/api/beaches"),
        ("GET", "/api/reports"),
    ]:
        assert_error(client.request(method, path, headers=h), 403, "FORBIDDEN")
    r = client.post(
        "/api/users/me/phone", json={"new_phone": next_phone(), "code_old": "123456", "code_new": "123456"}, headers=h
    )
    assert_error(r, 403, "FORBIDDEN")
    assert client.post("/api/auth/logout", headers=h).status_code == 200


def test_approval_turns_the_citizen_into_a_volunteer_cleaner(client: TestClient, w: World) -> None:
    phone = next_phone()
    citizen = signup(client, w, phone).json()["data"]
    token = sign_in(client, phone)
    r = client.post(f"/api/users/{citizen['id']}/approve", headers=w.ca.headers)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["id"] == citizen["id"]
    assert data["system_id"] == citizen["system_id"]  # CITIZEN_..._VOLUNTEER_nnnn kept
    assert (data["role"], data["cleaner_type"], data["status"]) == ("CLEANER", "VOLUNTEER", "ACTIVE")
    entries = audit_entries(client, "USER_APPROVE", citizen["id"])
    assert len(entries) == 1
    assert entries[0]["before"]["role"] == "CITIZEN" and entries[0]["after"]["role"] == "CLEANER"
    assert entries[0]["actor_id"] == w.ca.id
    assert len(audit_entries(client, "SECURITY_ROLE_CHANGE", citizen["id"])) == 1
    # The same session now works beyond the pending area.
    assert client.get("/api/organizations", headers=auth(token)).status_code == 200
    assert client.get("/api/users/colleagues", headers=auth(token)).status_code == 200
    # Approving twice: 409.
    assert_error(client.post(f"/api/users/{citizen['id']}/approve", headers=w.ca.headers), 409, "INVALID_STATE")
    assert_error(
        client.post(f"/api/users/{citizen['id']}/reject", json={"reason": "x"}, headers=w.ca.headers),
        409,
        "INVALID_STATE",
    )


def test_platform_admin_may_approve(client: TestClient, w: World) -> None:
    citizen = signup(client, w).json()["data"]
    r = client.post(f"/api/users/{citizen['id']}/approve", headers=w.pa.headers)
    assert r.status_code == 200, r.text


def test_who_may_approve_or_reject(client: TestClient, w: World) -> None:
    citizen = signup(client, w).json()["data"]
    for account in ("da1", "da2", "cl", "inv"):
        h = getattr(w, account).headers
        assert_error(client.post(f"/api/users/{citizen['id']}/approve", headers=h), 403, "FORBIDDEN")
        assert_error(
            client.post(f"/api/users/{citizen['id']}/reject", json={"reason": "x"}, headers=h), 403, "FORBIDDEN"
        )
    # Another city's admin: 404.
    assert_error(client.post(f"/api/users/{citizen['id']}/approve", headers=w.cb.headers), 404, "NOT_FOUND")
    assert_error(
        client.post(f"/api/users/{citizen['id']}/reject", json={"reason": "x"}, headers=w.cb.headers), 404, "NOT_FOUND"
    )
    assert_error(client.post("/api/users/999999/approve", headers=w.ca.headers), 404, "NOT_FOUND")
    assert stored_user(client, citizen["id"])["status"] == "PENDING_APPROVAL"
    assert audit_entries(client, "USER_APPROVE") == [] and audit_entries(client, "USER_REJECT") == []


def test_only_pending_citizens_are_approved(client: TestClient, w: World) -> None:
    assert_error(client.post(f"/api/users/{w.cl.id}/approve", headers=w.ca.headers), 409, "INVALID_STATE")
    assert_error(
        client.post(f"/api/users/{w.inv.id}/reject", json={"reason": "x"}, headers=w.ca.headers), 409, "INVALID_STATE"
    )


def test_approval_conflicts_with_a_cleaner_created_since(client: TestClient, w: World) -> None:
    phone = next_phone()
    citizen = signup(client, w, phone).json()["data"]
    body = {"nickname": "정규", "phone": phone, "role": "CLEANER", "org_id": w.d_a2}
    assert client.post("/api/users", json=body, headers=w.ca.headers).status_code == 201
    assert_error(client.post(f"/api/users/{citizen['id']}/approve", headers=w.ca.headers), 409, "CONFLICT")
    stored = stored_user(client, citizen["id"])
    assert (stored["role"], stored["status"]) == ("CITIZEN", "PENDING_APPROVAL")


def test_rejection(client: TestClient, w: World) -> None:
    phone = next_phone()
    citizen = signup(client, w, phone).json()["data"]
    token = sign_in(client, phone)
    assert_error(
        client.post(f"/api/users/{citizen['id']}/reject", json={}, headers=w.ca.headers),
        400,
        "VALIDATION_ERROR",
        "reason",
    )
    assert_error(
        client.post(f"/api/users/{citizen['id']}/reject", json={"reason": ""}, headers=w.ca.headers),
        400,
        "VALIDATION_ERROR",
        "reason",
    )
    r = client.post(f"/api/users/{citizen['id']}/reject", json={"reason": "지역 외 거주"}, headers=w.ca.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["status"], r.json()["data"]["status_reason"]) == ("REJECTED", "지역 외 거주")
    assert stored_user(client, citizen["id"])["live"] is None
    entries = audit_entries(client, "USER_REJECT", citizen["id"])
    assert len(entries) == 1 and entries[0]["after"]["reason"] == "지역 외 거주"
    assert_error(client.get("/api/users/me", headers=auth(token)), 401, "UNAUTHENTICATED")
    assert_error(client.post(f"/api/users/{citizen['id']}/approve", headers=w.ca.headers), 409, "INVALID_STATE")


def test_pending_citizens_are_listed_for_admins(client: TestClient, w: World) -> None:
    citizen = signup(client, w).json()["data"]
    for account in ("da1", "ca", "pa"):
        r = client.get("/api/users", params={"status": "PENDING_APPROVAL"}, headers=getattr(w, account).headers)
        assert [u["id"] for u in r.json()["data"]] == [citizen["id"]]
    assert client.get("/api/users", params={"status": "PENDING_APPROVAL"}, headers=w.cb.headers).json()["data"] == []


@pytest.mark.parametrize("purpose", ["LOGIN", "ADMIN_LOGIN", "nonsense"])
def test_otp_purposes(client: TestClient, purpose: str) -> None:
    r = client.post("/api/auth/otp", json={"phone": next_phone(), "purpose": purpose})
    assert_error(r, 400, "VALIDATION_ERROR", "purpose")


def test_approved_volunteer_is_distinguishable(client: TestClient, w: World) -> None:
    citizen = signup(client, w).json()["data"]
    client.post(f"/api/users/{citizen['id']}/approve", headers=w.ca.headers)
    regular = client.get("/api/users", params={"role": "CLEANER", "cleaner_type": "REGULAR"}, headers=w.da1.headers)
    volunteer = client.get("/api/users", params={"role": "CLEANER", "cleaner_type": "VOLUNTEER"}, headers=w.da1.headers)
    assert [u["id"] for u in regular.json()["data"]] == [w.cl.id]
    assert [u["id"] for u in volunteer.json()["data"]] == [citizen["id"]]
