"""PATCH /api/users/{id} and POST /api/users/{id}/verify-collector."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import Role
from tests.users.world import World, assert_error, audit_entries, make_account, stored_user


def patch(client: TestClient, user_id: int, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.patch(f"/api/users/{user_id}", json=body, headers=headers)


def test_edit_nickname_keeps_system_id(client: TestClient, w: World) -> None:
    r = patch(client, w.cl.id, {"nickname": "새이름"}, w.da1.headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["nickname"] == "새이름"
    assert r.json()["data"]["system_id"] == w.cl.system_id
    entries = audit_entries(client, "USER_UPDATE", w.cl.id)
    assert len(entries) == 1
    assert entries[0]["before"]["nickname"] == "청소원"
    assert entries[0]["after"]["nickname"] == "새이름"
    assert entries[0]["actor_id"] == w.da1.id


def test_system_id_and_role_cannot_be_edited(client: TestClient, w: World) -> None:
    assert_error(
        patch(client, w.cl.id, {"system_id": "X_Y_CLEANER_0001"}, w.da1.headers), 400, "VALIDATION_ERROR", "system_id"
    )
    assert_error(patch(client, w.cl.id, {"role": "INVESTIGATOR"}, w.da1.headers), 400, "VALIDATION_ERROR", "role")
    assert_error(patch(client, w.cl.id, {"status": "SUSPENDED"}, w.da1.headers), 400, "VALIDATION_ERROR", "status")
    assert_error(patch(client, w.cl.id, {"nickname": None}, w.da1.headers), 400, "VALIDATION_ERROR", "nickname")
    assert_error(patch(client, w.cl.id, {"nickname": "x"}, w.da1.headers), 400, "VALIDATION_ERROR", "nickname")
    assert stored_user(client, w.cl.id)["system_id"] == w.cl.system_id


def test_move_between_districts_within_scope(client: TestClient, w: World) -> None:
    # A district admin cannot move a worker to another district (outside its subtree).
    assert_error(patch(client, w.cl.id, {"org_id": w.d_a2}, w.da1.headers), 404, "NOT_FOUND")
    # A city admin can, within its city.
    r = patch(client, w.cl.id, {"org_id": w.d_a2}, w.ca.headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["org_id"] == w.d_a2
    assert r.json()["data"]["system_id"] == w.cl.system_id  # a creation-time snapshot
    # Now outside the first district admin's scope.
    assert_error(client.get(f"/api/users/{w.cl.id}", headers=w.da1.headers), 404, "NOT_FOUND")
    assert client.get(f"/api/users/{w.cl.id}", headers=w.da2.headers).status_code == 200
    # Another city's district: 404; a city instead of a district: 400 naming org_id.
    assert_error(patch(client, w.cl.id, {"org_id": w.d_b1}, w.ca.headers), 404, "NOT_FOUND")
    assert_error(patch(client, w.cl.id, {"org_id": w.city_a}, w.ca.headers), 400, "VALIDATION_ERROR", "org_id")
    assert_error(patch(client, w.cl.id, {"org_id": 999999}, w.pa.headers), 404, "NOT_FOUND")
    assert_error(patch(client, w.cl.id, {"org_id": None}, w.pa.headers), 400, "VALIDATION_ERROR", "org_id")


def test_move_city_admin_between_cities(client: TestClient, w: World) -> None:
    r = patch(client, w.ca2.id, {"org_id": w.city_b}, w.pa.headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["org_id"] == w.city_b
    assert_error(patch(client, w.cb.id, {"org_id": w.d_b1}, w.pa.headers), 400, "VALIDATION_ERROR", "org_id")


def test_moving_the_last_active_admin_away_is_refused(client: TestClient, w: World) -> None:
    # da1 is the only admin of d_a1.
    assert_error(patch(client, w.da1.id, {"org_id": w.d_a2}, w.ca.headers), 409, "CONFLICT")


def test_admins_edit_only_lower_tiers(client: TestClient, w: World) -> None:
    # Peers and higher tiers in sight: 403.
    assert_error(patch(client, w.ca2.id, {"nickname": "바꿈"}, w.ca.headers), 403, "FORBIDDEN")
    assert_error(patch(client, w.ca.id, {"nickname": "바꿈"}, w.ca.headers), 403, "FORBIDDEN")
    assert_error(patch(client, w.da1.id, {"nickname": "바꿈"}, w.da1.headers), 403, "FORBIDDEN")
    # Outside the subtree: 404.
    assert_error(patch(client, w.cl_b.id, {"nickname": "바꿈"}, w.ca.headers), 404, "NOT_FOUND")
    assert_error(patch(client, w.ca.id, {"nickname": "바꿈"}, w.da1.headers), 404, "NOT_FOUND")
    # Lower tiers: fine; platform admins also edit platform admins.
    assert patch(client, w.da1.id, {"nickname": "해운대"}, w.ca.headers).status_code == 200
    assert patch(client, w.ca.id, {"nickname": "부산"}, w.pa.headers).status_code == 200
    assert patch(client, w.pa2.id, {"nickname": "플랫폼2"}, w.pa.headers).status_code == 200


@pytest.mark.parametrize("worker", ["inv", "cl", "col"])
def test_workers_may_not_edit_accounts(client: TestClient, w: World, worker: str) -> None:
    assert_error(patch(client, w.cl.id, {"nickname": "바꿈"}, getattr(w, worker).headers), 403, "FORBIDDEN")


def test_admin_email_stays_required(client: TestClient, w: World) -> None:
    assert_error(patch(client, w.da1.id, {"email": None}, w.ca.headers), 400, "VALIDATION_ERROR", "email")
    assert patch(client, w.cl.id, {"email": None}, w.da1.headers).status_code == 200
    assert patch(client, w.cl.id, {"email": "bad"}, w.da1.headers).status_code == 400


def test_worker_profile(client: TestClient, w: World) -> None:
    r = patch(client, w.cl.id, {"start_date": "2024-03-01", "end_date": "2024-11-30"}, w.da1.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["start_date"], r.json()["data"]["end_date"]) == ("2024-03-01", "2024-11-30")
    # The end date is checked against the stored start date.
    assert_error(patch(client, w.cl.id, {"end_date": "2024-01-01"}, w.da1.headers), 400, "VALIDATION_ERROR", "end_date")
    assert_error(patch(client, w.cl.id, {"birth": "2999-01-01"}, w.da1.headers), 400, "VALIDATION_ERROR", "birth")
    r = patch(client, w.cl.id, {"birth": "1970-05-05", "real_name": "김철수"}, w.da1.headers)
    assert r.status_code == 200
    assert r.json()["data"]["birth"] is None and r.json()["data"]["real_name"] is None
    pii = client.get(f"/api/users/{w.cl.id}?reveal=pii", headers=w.da1.headers).json()["data"]
    assert (pii["birth"], pii["real_name"], pii["phone"]) == ("1970-05-05", "김철수", w.cl.phone)
    # Admins have no worker profile.
    assert_error(
        patch(client, w.da1.id, {"start_date": "2024-01-01"}, w.ca.headers), 400, "VALIDATION_ERROR", "start_date"
    )


def test_vehicle_profile_and_verification(client: TestClient, w: World) -> None:
    # Only collectors have a vehicle.
    assert_error(
        patch(client, w.cl.id, {"vehicle": {"plate_no": "11가1111"}}, w.da1.headers), 400, "VALIDATION_ERROR", "vehicle"
    )
    assert_error(patch(client, w.col.id, {"vehicle": None}, w.da1.headers), 400, "VALIDATION_ERROR", "vehicle")
    r = client.post(f"/api/users/{w.col.id}/verify-collector", headers=w.da1.headers)
    assert r.status_code == 200, r.text
    vehicle = r.json()["data"]["vehicle"]
    assert vehicle["verified"] is True
    assert vehicle["verified_by"] == w.da1.id
    assert vehicle["verified_at"].endswith("Z")
    entries = audit_entries(client, "USER_VERIFY_COLLECTOR", w.col.id)
    assert len(entries) == 1 and entries[0]["actor_id"] == w.da1.id
    # Operator details do not clear the verification.
    r = patch(
        client,
        w.col.id,
        {"vehicle": {"operator_type": "COMPANY", "company_name": "해운(주)", "business_no": "1234567890"}},
        w.da1.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["vehicle"]["verified"] is True
    assert r.json()["data"]["vehicle"]["company_name"] == "해운(주)"
    # Same values again: still verified.
    same = {"type": "SMALL", "capacity_t": "1.00", "plate_no": "12가3456"}
    assert patch(client, w.col.id, {"vehicle": same}, w.da1.headers).json()["data"]["vehicle"]["verified"] is True
    # A change of type, capacity or plate clears it.
    for change in ({"type": "LARGE"}, {"capacity_t": "2.5"}, {"plate_no": "99나9999"}):
        assert client.post(f"/api/users/{w.col.id}/verify-collector", headers=w.da1.headers).status_code == 200
        r = patch(client, w.col.id, {"vehicle": change}, w.da1.headers)
        assert r.status_code == 200, r.text
        vehicle = r.json()["data"]["vehicle"]
        assert (vehicle["verified"], vehicle["verified_at"], vehicle["verified_by"]) == (False, None, None)
    assert r.json()["data"]["vehicle"]["type"] == "LARGE"
    assert r.json()["data"]["vehicle"]["capacity_t"] == 2.5
    # Company operators need a company name.
    bad = {"operator_type": "COMPANY", "company_name": None}
    assert_error(
        patch(client, w.col.id, {"vehicle": bad}, w.da1.headers), 400, "VALIDATION_ERROR", "vehicle.company_name"
    )
    assert_error(
        patch(client, w.col.id, {"vehicle": {"capacity_t": "-2"}}, w.da1.headers),
        400,
        "VALIDATION_ERROR",
        "vehicle.capacity_t",
    )


def test_collector_without_vehicle_gets_a_complete_one(client: TestClient, db: Any, w: World) -> None:
    from beachsaver.orgs.models import Organization
    from tests.factories import make_user

    org = db.get(Organization, w.d_a1)
    bare = make_user(db, Role.COLLECTOR, org, vehicle=False)
    bare_id = bare.id
    db.commit()
    r = patch(client, bare_id, {"vehicle": {"plate_no": "12가3456"}}, w.da1.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "vehicle.type")
    assert_error(client.post(f"/api/users/{bare_id}/verify-collector", headers=w.da1.headers), 409, "INVALID_STATE")
    full = {"type": "SPECIAL", "capacity_t": "3", "plate_no": "12가3456", "operator_type": "INDIVIDUAL"}
    r = patch(client, bare_id, {"vehicle": full}, w.da1.headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["vehicle"]["type"] == "SPECIAL"


def test_verify_collector_rules(client: TestClient, w: World) -> None:
    assert_error(client.post(f"/api/users/{w.cl.id}/verify-collector", headers=w.da1.headers), 409, "INVALID_STATE")
    assert_error(client.post(f"/api/users/{w.col.id}/verify-collector", headers=w.da2.headers), 404, "NOT_FOUND")
    assert_error(client.post(f"/api/users/{w.col.id}/verify-collector", headers=w.col.headers), 403, "FORBIDDEN")
    assert client.post(f"/api/users/{w.col.id}/verify-collector", headers=w.ca.headers).status_code == 200


def test_withdrawn_accounts_cannot_be_edited(client: TestClient, db: Any, w: World) -> None:
    target = make_account(db, Role.INVESTIGATOR, w.d_a1, token=False)
    r = client.patch(
        f"/api/users/{target.id}/status", json={"status": "WITHDRAWN", "reason": "left"}, headers=w.da1.headers
    )
    assert r.status_code == 200
    assert_error(patch(client, target.id, {"nickname": "다시"}, w.da1.headers), 409, "INVALID_STATE")
