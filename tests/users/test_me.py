"""GET/PATCH /api/users/me, GET /api/users/roles, GET /api/users/colleagues."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import CleanerType, Role, UserStatus
from tests.users.world import World, assert_error, audit_entries, make_account


def test_me_update(client: TestClient, w: World) -> None:
    r = client.patch(
        "/api/users/me",
        json={"nickname": "바다_지킴이", "preferences": {"large_text": True, "high_contrast": False}},
        headers=w.cl.headers,
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["nickname"] == "바다_지킴이"
    assert data["system_id"] == w.cl.system_id
    assert data["preferences"] == {"large_text": True, "high_contrast": False}
    assert data["phone"] == w.cl.phone
    # Preferences merge.
    r = client.patch("/api/users/me", json={"preferences": {"high_contrast": True}}, headers=w.cl.headers)
    assert r.json()["data"]["preferences"] == {"large_text": True, "high_contrast": True}
    entries = audit_entries(client, "USER_UPDATE", w.cl.id)
    assert len(entries) == 2 and entries[0]["actor_id"] == w.cl.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "01099998888"}, "phone"),
        ({"role": "CITY_ADMIN"}, "role"),
        ({"org_id": 1}, "org_id"),
        ({"nickname": "x"}, "nickname"),
        ({"nickname": None}, "nickname"),
        ({"preferences": "dark"}, "preferences"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_me_update_rejects(client: TestClient, w: World, body: dict[str, Any], field: str) -> None:
    assert_error(client.patch("/api/users/me", json=body, headers=w.cl.headers), 400, "VALIDATION_ERROR", field)


def test_admin_keeps_an_email(client: TestClient, w: World) -> None:
    assert_error(
        client.patch("/api/users/me", json={"email": None}, headers=w.da1.headers), 400, "VALIDATION_ERROR", "email"
    )
    r = client.patch("/api/users/me", json={"email": "new@example.org"}, headers=w.da1.headers)
    assert r.status_code == 200 and r.json()["data"]["email"] == "new@example.org"


def test_me_requires_authentication(client: TestClient) -> None:
    assert_error(client.get("/api/users/me"), 401, "UNAUTHENTICATED")
    assert_error(client.patch("/api/users/me", json={"nickname": "익명"}), 401, "UNAUTHENTICATED")


def test_roles_lists_the_live_accounts_of_my_phone(client: TestClient, db: Any, w: World) -> None:
    inv = make_account(db, Role.INVESTIGATOR, w.d_b1, phone=w.cl.phone, token=False)
    gone = make_account(db, Role.COLLECTOR, w.d_a1, phone=w.cl.phone, token=False)
    r = client.patch(f"/api/users/{gone.id}/status", json={"status": "WITHDRAWN", "reason": "x"}, headers=w.da1.headers)
    assert r.status_code == 200
    roles = client.get("/api/users/roles", headers=w.cl.headers)
    assert roles.status_code == 200
    data = roles.json()["data"]
    assert [a["user_id"] for a in data] == [w.cl.id, inv.id]
    assert set(data[0]) == {"user_id", "system_id", "nickname", "role", "org_id", "status"}
    assert {(a["role"], a["org_id"]) for a in data} == {("CLEANER", w.d_a1), ("INVESTIGATOR", w.d_b1)}
    assert_error(client.get("/api/users/roles"), 401, "UNAUTHENTICATED")


def test_colleagues_are_active_workers_of_my_district(client: TestClient, db: Any, w: World) -> None:
    volunteer = make_account(db, Role.CLEANER, w.d_a1, cleaner_type=CleanerType.VOLUNTEER, nickname="봉사")
    make_account(db, Role.CLEANER, w.d_a1, status=UserStatus.SUSPENDED, token=False)
    make_account(db, Role.CITIZEN, w.d_a1, status=UserStatus.PENDING_APPROVAL, token=False)
    expected = {w.inv.id, w.cl.id, w.col.id, volunteer.id}
    for worker in ("inv", "cl", "col"):
        r = client.get("/api/users/colleagues", headers=getattr(w, worker).headers)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert {c["id"] for c in data} == expected
        assert all(set(c) == {"id", "nickname", "role", "cleaner_type"} for c in data)
    by_id = {c["id"]: c for c in client.get("/api/users/colleagues", headers=w.cl.headers).json()["data"]}
    assert by_id[volunteer.id]["cleaner_type"] == "VOLUNTEER"
    assert by_id[w.col.id]["role"] == "COLLECTOR"
    other = client.get("/api/users/colleagues", headers=w.cl_b.headers).json()["data"]
    assert [c["id"] for c in other] == [w.cl_b.id]


@pytest.mark.parametrize("admin", ["pa", "ca", "da1"])
def test_colleagues_is_for_workers(client: TestClient, w: World, admin: str) -> None:
    assert_error(client.get("/api/users/colleagues", headers=getattr(w, admin).headers), 403, "FORBIDDEN")
