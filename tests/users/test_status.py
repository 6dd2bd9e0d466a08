"""PATCH /api/users/{id}/status: allowed moves, reasons, last admin, withdrawal, tokens."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import Role, UserStatus
from tests.factories import next_phone
from tests.users.world import World, assert_error, audit_entries, make_account, stored_user


def set_status(
    client: TestClient, user_id: int, headers: dict[str, str], status: str, reason: str | None = "사유"
) -> Any:
    body: dict[str, Any] = {"status": status}
    if reason is not None:
        body["reason"] = reason
    return client.patch(f"/api/users/{user_id}/status", json=body, headers=headers)


def test_suspend_reactivate_and_tokens(client: TestClient, w: World) -> None:
    assert client.get("/api/users/me", headers=w.cl.headers).status_code == 200
    r = set_status(client, w.cl.id, w.da1.headers, "SUSPENDED", "무단결근")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "SUSPENDED"
    assert r.json()["data"]["status_reason"] == "무단결근"
    # The suspended account's token stops working at once.
    assert_error(client.get("/api/users/me", headers=w.cl.headers), 401, "UNAUTHENTICATED")
    entries = audit_entries(client, "USER_STATUS_CHANGE", w.cl.id)
    assert len(entries) == 1
    assert (entries[0]["before"]["status"], entries[0]["after"]["status"]) == ("ACTIVE", "SUSPENDED")
    assert entries[0]["after"]["reason"] == "무단결근"
    # Suspending again is not a move.
    assert_error(set_status(client, w.cl.id, w.da1.headers, "SUSPENDED"), 409, "INVALID_STATE")
    r = set_status(client, w.cl.id, w.da1.headers, "ACTIVE", None)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "ACTIVE"
    # The old token stays revoked; a new sign-in works.
    assert_error(client.get("/api/users/me", headers=w.cl.headers), 401, "UNAUTHENTICATED")
    client.post("/api/auth/login", json={"phone": w.cl.phone})
    from tests.factories import latest_code

    verify = client.post("/api/auth/verify", json={"phone": w.cl.phone, "code": latest_code(client, w.cl.phone)})
    assert verify.status_code == 200, verify.text
    assert verify.json()["data"]["user"]["id"] == w.cl.id


@pytest.mark.parametrize("status", ["SUSPENDED", "WITHDRAWN"])
def test_reason_required(client: TestClient, w: World, status: str) -> None:
    assert_error(set_status(client, w.inv.id, w.da1.headers, status, None), 400, "VALIDATION_ERROR", "reason")
    assert_error(set_status(client, w.inv.id, w.da1.headers, status, "  "), 400, "VALIDATION_ERROR", "reason")
    assert stored_user(client, w.inv.id)["status"] == "ACTIVE"


def test_bad_status_value(client: TestClient, w: World) -> None:
    assert_error(set_status(client, w.inv.id, w.da1.headers, "ASLEEP"), 400, "VALIDATION_ERROR", "status")


@pytest.mark.parametrize(
    ("start", "target", "code"),
    [
        (UserStatus.ACTIVE, "ACTIVE", "INVALID_STATE"),
        (UserStatus.ACTIVE, "PENDING_APPROVAL", "INVALID_STATE"),
        (UserStatus.ACTIVE, "REJECTED", "INVALID_STATE"),
        (UserStatus.SUSPENDED, "SUSPENDED", "INVALID_STATE"),
        (UserStatus.PENDING_APPROVAL, "ACTIVE", "INVALID_STATE"),
        (UserStatus.PENDING_APPROVAL, "SUSPENDED", "INVALID_STATE"),
        (UserStatus.PENDING_APPROVAL, "WITHDRAWN", "INVALID_STATE"),
        (UserStatus.REJECTED, "ACTIVE", "INVALID_STATE"),
    ],
)
def test_moves_that_are_not_allowed(
    client: TestClient, db: Any, w: World, start: UserStatus, target: str, code: str
) -> None:
    role = Role.CITIZEN if start in (UserStatus.PENDING_APPROVAL, UserStatus.REJECTED) else Role.CLEANER
    account = make_account(db, role, w.d_a1, status=start, token=False)
    if start == UserStatus.REJECTED:
        from sqlalchemy import update

        from beachsaver.users.models import User

        db.execute(update(User).where(User.id == account.id).values(live=None))
        db.commit()
    assert_error(set_status(client, account.id, w.da1.headers, target), 409, code)
    assert stored_user(client, account.id)["status"] == start.value


def test_suspended_can_be_withdrawn_and_withdrawn_is_final(client: TestClient, w: World) -> None:
    assert set_status(client, w.inv.id, w.da1.headers, "SUSPENDED").status_code == 200
    assert set_status(client, w.inv.id, w.da1.headers, "WITHDRAWN").status_code == 200
    for target in ("ACTIVE", "SUSPENDED", "WITHDRAWN"):
        assert_error(set_status(client, w.inv.id, w.da1.headers, target), 409, "INVALID_STATE")


def test_withdrawal_masks_personal_data_and_frees_the_phone(client: TestClient, w: World) -> None:
    client.patch(f"/api/users/{w.cl.id}", json={"real_name": "홍길동", "email": "h@example.org"}, headers=w.da1.headers)
    r = set_status(client, w.cl.id, w.da1.headers, "WITHDRAWN", "본인 요청")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "WITHDRAWN"
    assert data["system_id"] == w.cl.system_id  # history kept
    assert data["email"] is None
    assert w.cl.phone[-4:] not in data["phone"]
    stored = stored_user(client, w.cl.id)
    assert stored["live"] is None
    assert stored["real_name_enc"] is None
    assert stored["email"] is None
    assert stored["withdrawn_at"] is not None
    revealed = client.get(f"/api/users/{w.cl.id}?reveal=pii", headers=w.da1.headers).json()["data"]
    assert revealed["real_name"] is None
    assert w.cl.phone[-4:] not in revealed["phone"]
    # Token dead.
    assert_error(client.get("/api/users/me", headers=w.cl.headers), 401, "UNAUTHENTICATED")
    # The phone + role is free again.
    body = {"nickname": "재가입", "phone": w.cl.phone, "role": "CLEANER", "org_id": w.d_a1}
    again = client.post("/api/users", json=body, headers=w.da1.headers)
    assert again.status_code == 201, again.text
    assert again.json()["data"]["id"] != w.cl.id
    # The audit entry does not carry the personal data.
    entry = audit_entries(client, "USER_STATUS_CHANGE", w.cl.id)[-1]
    assert entry["after"]["status"] == "WITHDRAWN"
    assert "h@example.org" not in str(entry)


def test_last_active_admin_of_an_organisation(client: TestClient, db: Any, w: World) -> None:
    # da1 is the only admin of d_a1.
    assert_error(set_status(client, w.da1.id, w.ca.headers, "SUSPENDED"), 409, "CONFLICT")
    assert_error(set_status(client, w.da1.id, w.ca.headers, "WITHDRAWN"), 409, "CONFLICT")
    # A second active admin makes it possible; then the other one is the last.
    second = make_account(db, Role.DISTRICT_ADMIN, w.d_a1)
    assert set_status(client, w.da1.id, w.ca.headers, "SUSPENDED").status_code == 200
    assert_error(set_status(client, second.id, w.ca.headers, "SUSPENDED"), 409, "CONFLICT")
    # A suspended admin does not count, and may be withdrawn.
    assert set_status(client, w.da1.id, w.ca.headers, "WITHDRAWN").status_code == 200
    # City: ca and ca2 are both active.
    assert set_status(client, w.ca2.id, w.pa.headers, "SUSPENDED").status_code == 200
    assert_error(set_status(client, w.ca.id, w.pa.headers, "SUSPENDED"), 409, "CONFLICT")
    assert set_status(client, w.ca2.id, w.pa.headers, "ACTIVE", None).status_code == 200
    assert set_status(client, w.ca.id, w.pa.headers, "SUSPENDED").status_code == 200


def test_who_may_change_status(client: TestClient, w: World) -> None:
    # Own account: 403. Peers and higher tiers in sight: 403. Out of scope: 404. Workers: 403.
    assert_error(set_status(client, w.pa.id, w.pa.headers, "SUSPENDED"), 403, "FORBIDDEN")
    assert_error(set_status(client, w.ca2.id, w.ca.headers, "SUSPENDED"), 403, "FORBIDDEN")
    assert_error(set_status(client, w.cl_b.id, w.ca.headers, "SUSPENDED"), 404, "NOT_FOUND")
    assert_error(set_status(client, w.inv2.id, w.da1.headers, "SUSPENDED"), 404, "NOT_FOUND")
    assert_error(set_status(client, w.inv.id, w.cl.headers, "SUSPENDED"), 403, "FORBIDDEN")
    assert_error(set_status(client, 999999, w.pa.headers, "SUSPENDED"), 404, "NOT_FOUND")
    # Platform admins manage other platform admins.
    assert set_status(client, w.pa2.id, w.pa.headers, "SUSPENDED").status_code == 200
    assert audit_entries(client, "USER_STATUS_CHANGE", w.ca2.id) == []


def test_suspended_admin_cannot_use_its_token(client: TestClient, w: World) -> None:
    assert client.get("/api/users", headers=w.ca2.headers).status_code == 200
    assert set_status(client, w.ca2.id, w.pa.headers, "SUSPENDED").status_code == 200
    assert_error(client.get("/api/users", headers=w.ca2.headers), 401, "UNAUTHENTICATED")


def test_phone_role_of_suspended_account_stays_taken(client: TestClient, w: World) -> None:
    assert set_status(client, w.inv.id, w.da1.headers, "SUSPENDED").status_code == 200
    body = {"nickname": "중복", "phone": w.inv.phone, "role": "INVESTIGATOR", "org_id": w.d_a1}
    assert_error(client.post("/api/users", json=body, headers=w.da1.headers), 409, "CONFLICT")
    body["phone"] = next_phone()
    assert client.post("/api/users", json=body, headers=w.da1.headers).status_code == 201
