"""Phone changes: codes to both phones, a request, approval by an admin in scope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import Role
from tests.factories import latest_code, next_phone
from tests.users.world import Account, World, assert_error, audit_entries, make_account, stored_user


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"otp_min_interval_s": 0, "otp_max_sends": 50}


def codes_for(client: TestClient, account: Account, new_phone: str) -> tuple[str, str]:
    for phone in (account.phone, new_phone):
        r = client.post("/api/auth/otp", json={"phone": phone, "purpose": "PHONE_CHANGE"}, headers=account.headers)
        assert r.status_code == 200, r.text
    return latest_code(client, account.phone), latest_code(client, new_phone)


def request_change(client: TestClient, account: Account, new_phone: str) -> Any:
    code_old, code_new = codes_for(client, account, new_phone)
    return client.post(
        "/api/users/me/phone",
        json={"new_phone": new_phone, "code_old": code_old, "code_new": code_new},
        headers=account.headers,
    )


def test_phone_change_code_needs_authentication(client: TestClient, w: World) -> None:
    r = client.post("/api/auth/otp", json={"phone": w.cl.phone, "purpose": "PHONE_CHANGE"})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_request_and_approve_changes_every_live_account(client: TestClient, db: Any, w: World) -> None:
    # The cleaner also has an investigator account in another city on the same phone.
    other = make_account(db, Role.INVESTIGATOR, w.d_b1, phone=w.cl.phone, token=False)
    new_phone = next_phone()
    r = request_change(client, w.cl, f"{new_phone[:3]}-{new_phone[3:7]}-{new_phone[7:]}")
    assert r.status_code == 201, r.text
    req = r.json()["data"]
    assert (req["status"], req["user_id"], req["org_id"]) == ("PENDING", w.cl.id, w.d_a1)
    assert req["new_phone"] == f"010-****-{new_phone[-4:]}"
    assert len(audit_entries(client, "PHONE_CHANGE_REQUEST", req["id"])) == 1
    # Listed for admins in scope only.
    listed = client.get("/api/users/phone-changes", headers=w.da1.headers)
    assert [x["id"] for x in listed.json()["data"]] == [req["id"]]
    assert listed.json()["meta"]["total"] == 1
    assert client.get("/api/users/phone-changes", headers=w.ca.headers).json()["data"][0]["id"] == req["id"]
    assert client.get("/api/users/phone-changes", headers=w.da2.headers).json()["data"] == []
    assert client.get("/api/users/phone-changes", headers=w.cb.headers).json()["data"] == []
    assert_error(client.get("/api/users/phone-changes", headers=w.cl.headers), 403, "FORBIDDEN")
    pending = client.get("/api/users/phone-changes", params={"status": "pending"}, headers=w.da1.headers)
    assert len(pending.json()["data"]) == 1
    assert (
        client.get("/api/users/phone-changes", params={"status": "APPROVED"}, headers=w.da1.headers).json()["data"]
        == []
    )
    assert_error(
        client.get("/api/users/phone-changes", params={"status": "MAYBE"}, headers=w.da1.headers),
        400,
        "VALIDATION_ERROR",
        "query.status",
    )
    # Out of scope: 404; workers: 403.
    assert_error(client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=w.da2.headers), 404, "NOT_FOUND")
    assert_error(client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=w.cl.headers), 403, "FORBIDDEN")
    assert_error(client.post("/api/users/phone-changes/999999/approve", headers=w.da1.headers), 404, "NOT_FOUND")
    before_hash = stored_user(client, w.cl.id)["phone_hash"]
    r = client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=w.da1.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["status"], r.json()["data"]["decided_by"]) == ("APPROVED", w.da1.id)
    assert r.json()["data"]["decided_at"].endswith("Z")
    # Both accounts moved to the new number.
    for user_id in (w.cl.id, other.id):
        stored = stored_user(client, user_id)
        assert stored["phone_hash"] != before_hash
        assert stored["phone_last4"] == new_phone[-4:]
    me = client.get("/api/users/me", headers=w.cl.headers)
    assert me.json()["data"]["phone"] == new_phone
    entries = audit_entries(client, "PHONE_CHANGE_APPROVE", req["id"])
    assert len(entries) == 1
    assert sorted(entries[0]["after"]["changed_user_ids"]) == sorted([w.cl.id, other.id])
    # Sign-in with the new phone offers both accounts; the old phone none.
    client.post("/api/auth/login", json={"phone": new_phone})
    verify = client.post("/api/auth/verify", json={"phone": new_phone, "code": latest_code(client, new_phone)})
    assert verify.status_code == 200
    assert {a["user_id"] for a in verify.json()["data"]["accounts"]} == {w.cl.id, other.id}
    # Once decided: 409.
    assert_error(
        client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=w.da1.headers), 409, "INVALID_STATE"
    )
    assert_error(
        client.post(f"/api/users/phone-changes/{req['id']}/reject", json={"reason": "x"}, headers=w.da1.headers),
        409,
        "INVALID_STATE",
    )


def test_reject(client: TestClient, w: World) -> None:
    new_phone = next_phone()
    req = request_change(client, w.inv, new_phone).json()["data"]
    assert_error(
        client.post(f"/api/users/phone-changes/{req['id']}/reject", json={}, headers=w.da1.headers),
        400,
        "VALIDATION_ERROR",
        "reason",
    )
    r = client.post(
        f"/api/users/phone-changes/{req['id']}/reject", json={"reason": "본인 확인 불가"}, headers=w.ca.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["status"], r.json()["data"]["reason"]) == ("REJECTED", "본인 확인 불가")
    assert stored_user(client, w.inv.id)["phone_last4"] == w.inv.phone[-4:]
    assert len(audit_entries(client, "PHONE_CHANGE_REJECT", req["id"])) == 1
    # A new request is possible after the decision.
    assert request_change(client, w.inv, new_phone).status_code == 201


def test_request_rules(client: TestClient, w: World) -> None:
    # Same number: 400.
    code_old, _ = codes_for(client, w.cl, next_phone())
    r = client.post(
        "/api/users/me/phone",
        json={"new_phone": w.cl.phone, "code_old": code_old, "code_new": code_old},
        headers=w.cl.headers,
    )
    assert_error(r, 400, "VALIDATION_ERROR", "new_phone")
    # Bad input.
    r = client.post(
        "/api/users/me/phone", json={"new_phone": "123", "code_old": "1", "code_new": "x"}, headers=w.cl.headers
    )
    assert_error(r, 400, "VALIDATION_ERROR")
    assert {d["field"] for d in r.json()["error"]["details"]} == {"new_phone", "code_old", "code_new"}
    # Wrong codes: 401, nothing created.
    new_phone = next_phone()
    code_old, code_new = codes_for(client, w.cl, new_phone)
    wrong = "000000" if code_new != "000000" else "111111"
    r = client.post(
        "/api/users/me/phone",
        json={"new_phone": new_phone, "code_old": code_old, "code_new": wrong},
        headers=w.cl.headers,
    )
    assert_error(r, 401, "UNAUTHENTICATED")
    assert audit_entries(client, "PHONE_CHANGE_REQUEST") == []
    assert [f["after"]["kind"] for f in audit_entries(client, "AUTH_LOGIN_FAILURE")] == ["phone_change"]
    # The new phone already holds an account of the same role: 409.
    assert_error(request_change(client, w.cl, w.cl_b.phone), 409, "CONFLICT")
    # A different role on the new phone is fine; a second pending request is not.
    assert request_change(client, w.cl, w.inv.phone).status_code == 201
    assert_error(request_change(client, w.cl, next_phone()), 409, "CONFLICT")
    assert_error(
        client.post(
            "/api/users/me/phone", json={"new_phone": next_phone(), "code_old": "123456", "code_new": "123456"}
        ),
        401,
        "UNAUTHENTICATED",
    )


def test_admins_do_not_approve_their_own_or_a_peers_change(client: TestClient, db: Any, w: World) -> None:
    peer = make_account(db, Role.DISTRICT_ADMIN, w.d_a1)
    req = request_change(client, w.da1, next_phone()).json()["data"]
    assert_error(client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=w.da1.headers), 403, "FORBIDDEN")
    assert_error(client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=peer.headers), 403, "FORBIDDEN")
    assert client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=w.ca.headers).status_code == 200


def test_approval_conflicts_when_the_new_phone_was_taken_since(client: TestClient, w: World) -> None:
    new_phone = next_phone()
    req = request_change(client, w.cl, new_phone).json()["data"]
    body = {"nickname": "먼저", "phone": new_phone, "role": "CLEANER", "org_id": w.d_a2}
    assert client.post("/api/users", json=body, headers=w.ca.headers).status_code == 201
    assert_error(client.post(f"/api/users/phone-changes/{req['id']}/approve", headers=w.da1.headers), 409, "CONFLICT")
    assert stored_user(client, w.cl.id)["phone_last4"] == w.cl.phone[-4:]


def test_withdrawal_closes_a_pending_request(client: TestClient, w: World) -> None:
    req = request_change(client, w.inv, next_phone()).json()["data"]
    r = client.patch(
        f"/api/users/{w.inv.id}/status", json={"status": "WITHDRAWN", "reason": "퇴사"}, headers=w.da1.headers
    )
    assert r.status_code == 200
    listed = client.get("/api/users/phone-changes", headers=w.da1.headers).json()["data"]
    assert [(x["id"], x["status"]) for x in listed] == [(req["id"], "REJECTED")]
