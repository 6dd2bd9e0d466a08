"""POST /api/users: who creates whom, required and refused fields, system ids, uniqueness."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import Role
from tests.factories import PASSWORD, next_phone
from tests.users.world import World, assert_error, audit_entries, stored_user

VEHICLE = {"type": "SMALL", "capacity_t": "1.5", "plate_no": "12가3456", "operator_type": "INDIVIDUAL"}


def body_for(role: Role, org_id: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"nickname": "새계정", "phone": next_phone(), "role": role.value, "org_id": org_id}
    if role.is_admin:
        body.update(password=PASSWORD, email="new-admin@example.org")
    if role == Role.COLLECTOR:
        body["vehicle"] = dict(VEHICLE)
    body.update(extra)
    return body


def org_for(w: World, role: Role) -> int:
    return {
        Role.PLATFORM_ADMIN: w.root,
        Role.CITY_ADMIN: w.city_a,
        Role.DISTRICT_ADMIN: w.d_a1,
    }.get(role, w.d_a1)


# Who may create which role (within its subtree).
ALLOWED = {
    "pa": {Role.PLATFORM_ADMIN, Role.CITY_ADMIN, Role.DISTRICT_ADMIN, Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR},
    "ca": {Role.DISTRICT_ADMIN, Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR},
    "da1": {Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR},
}
CREATABLE = [Role.PLATFORM_ADMIN, Role.CITY_ADMIN, Role.DISTRICT_ADMIN, Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR]


@pytest.mark.parametrize("creator", ["pa", "ca", "da1"])
@pytest.mark.parametrize("role", CREATABLE)
def test_creation_matrix(client: TestClient, w: World, creator: str, role: Role) -> None:
    r = client.post("/api/users", json=body_for(role, org_for(w, role)), headers=getattr(w, creator).headers)
    if role in ALLOWED[creator]:
        assert r.status_code == 201, r.text
        data = r.json()["data"]
        assert data["role"] == role.value
        assert data["status"] == "ACTIVE"
        assert data["org_id"] == org_for(w, role)
        assert data["cleaner_type"] == ("REGULAR" if role == Role.CLEANER else None)
        assert re.fullmatch(r"010-\*\*\*\*-\d{4}", data["phone"])
        if role == Role.COLLECTOR:
            assert data["vehicle"]["verified"] is False
            assert data["vehicle"]["verified_at"] is None
            assert data["vehicle"]["capacity_t"] == 1.5
        entries = audit_entries(client, "USER_CREATE", data["id"])
        assert len(entries) == 1
        assert entries[0]["actor_id"] == getattr(w, creator).id
        assert entries[0]["org_id"] == data["org_id"]
        assert entries[0]["after"]["phone"].startswith("010-****-")
        admin_events = audit_entries(client, "SECURITY_ADMIN_CREATED", data["id"])
        assert len(admin_events) == (1 if role.is_admin else 0)
    else:
        assert_error(r, 403, "FORBIDDEN")


@pytest.mark.parametrize("worker", ["inv", "cl", "col"])
def test_workers_may_not_create(client: TestClient, w: World, worker: str) -> None:
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1), headers=getattr(w, worker).headers)
    assert_error(r, 403, "FORBIDDEN")


def test_unauthenticated_create(client: TestClient, w: World) -> None:
    assert_error(client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1)), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("creator", ["pa", "ca", "da1"])
def test_never_citizen_or_volunteer(client: TestClient, w: World, creator: str) -> None:
    headers = getattr(w, creator).headers
    r = client.post("/api/users", json=body_for(Role.CITIZEN, w.d_a1), headers=headers)
    assert_error(r, 400, "VALIDATION_ERROR", "role")
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, cleaner_type="volunteer"), headers=headers)
    assert_error(r, 400, "VALIDATION_ERROR", "cleaner_type")


def test_org_outside_scope_is_404(client: TestClient, w: World) -> None:
    # A district admin for another district, a city admin for another city's district.
    assert_error(
        client.post("/api/users", json=body_for(Role.CLEANER, w.d_a2), headers=w.da1.headers), 404, "NOT_FOUND"
    )
    assert_error(client.post("/api/users", json=body_for(Role.CLEANER, w.d_b1), headers=w.ca.headers), 404, "NOT_FOUND")
    assert_error(
        client.post("/api/users", json=body_for(Role.DISTRICT_ADMIN, w.d_b1), headers=w.ca.headers), 404, "NOT_FOUND"
    )
    assert_error(client.post("/api/users", json=body_for(Role.CLEANER, 999999), headers=w.pa.headers), 404, "NOT_FOUND")


def test_city_admin_creates_workers_for_any_district_of_its_city(client: TestClient, w: World) -> None:
    for org in (w.d_a1, w.d_a2):
        r = client.post("/api/users", json=body_for(Role.INVESTIGATOR, org), headers=w.ca.headers)
        assert r.status_code == 201, r.text
        assert r.json()["data"]["org_id"] == org


@pytest.mark.parametrize(
    ("role", "org"),
    [
        (Role.CLEANER, "city_a"),
        (Role.INVESTIGATOR, "root"),
        (Role.DISTRICT_ADMIN, "city_a"),
        (Role.CITY_ADMIN, "d_a1"),
        (Role.CITY_ADMIN, "root"),
        (Role.PLATFORM_ADMIN, "city_a"),
    ],
)
def test_org_of_wrong_type_names_org_id(client: TestClient, w: World, role: Role, org: str) -> None:
    r = client.post("/api/users", json=body_for(role, getattr(w, org)), headers=w.pa.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "org_id")


@pytest.mark.parametrize("role", [Role.PLATFORM_ADMIN, Role.CITY_ADMIN, Role.DISTRICT_ADMIN])
def test_admins_need_password_and_email(client: TestClient, w: World, role: Role) -> None:
    body = body_for(role, org_for(w, role))
    del body["password"], body["email"]
    r = client.post("/api/users", json=body, headers=w.pa.headers)
    assert_error(r, 400, "VALIDATION_ERROR")
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"password", "email"}


def test_password_length(client: TestClient, w: World) -> None:
    r = client.post("/api/users", json=body_for(Role.CITY_ADMIN, w.city_a, password="short"), headers=w.pa.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "password")
    r = client.post("/api/users", json=body_for(Role.CITY_ADMIN, w.city_a, password="x" * 65), headers=w.pa.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "password")


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR])
def test_workers_refuse_password(client: TestClient, w: World, role: Role) -> None:
    r = client.post("/api/users", json=body_for(role, w.d_a1, password=PASSWORD), headers=w.da1.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "password")


def test_worker_email_is_optional(client: TestClient, w: World) -> None:
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, email="c@example.org"), headers=w.da1.headers)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["email"] == "c@example.org"


def test_vehicle_required_for_collectors_and_refused_for_others(client: TestClient, w: World) -> None:
    body = body_for(Role.COLLECTOR, w.d_a1)
    del body["vehicle"]
    assert_error(client.post("/api/users", json=body, headers=w.da1.headers), 400, "VALIDATION_ERROR", "vehicle")
    for role in (Role.CLEANER, Role.INVESTIGATOR):
        r = client.post("/api/users", json=body_for(role, w.d_a1, vehicle=VEHICLE), headers=w.da1.headers)
        assert_error(r, 400, "VALIDATION_ERROR", "vehicle")
    r = client.post("/api/users", json=body_for(Role.DISTRICT_ADMIN, w.d_a1, vehicle=VEHICLE), headers=w.ca.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "vehicle")


def test_vehicle_fields_are_validated(client: TestClient, w: World) -> None:
    bad = {**VEHICLE, "type": "TRUCK", "capacity_t": "-1"}
    r = client.post("/api/users", json=body_for(Role.COLLECTOR, w.d_a1, vehicle=bad), headers=w.da1.headers)
    assert_error(r, 400, "VALIDATION_ERROR")
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"vehicle.type", "vehicle.capacity_t"} <= fields
    company = {**VEHICLE, "operator_type": "company"}
    r = client.post("/api/users", json=body_for(Role.COLLECTOR, w.d_a1, vehicle=company), headers=w.da1.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "vehicle.company_name")
    company.update(company_name="부산환경(주)", business_no="123-45-67890")
    r = client.post("/api/users", json=body_for(Role.COLLECTOR, w.d_a1, vehicle=company), headers=w.da1.headers)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["vehicle"]["operator_type"] == "COMPANY"
    assert r.json()["data"]["vehicle"]["company_name"] == "부산환경(주)"


def test_cleaner_type_only_for_cleaners(client: TestClient, w: World) -> None:
    r = client.post(
        "/api/users", json=body_for(Role.INVESTIGATOR, w.d_a1, cleaner_type="REGULAR"), headers=w.da1.headers
    )
    assert_error(r, 400, "VALIDATION_ERROR", "cleaner_type")
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, cleaner_type="regular"), headers=w.da1.headers)
    assert r.status_code == 201
    assert r.json()["data"]["cleaner_type"] == "REGULAR"


def test_worker_dates_are_checked_and_refused_for_admins(client: TestClient, w: World) -> None:
    r = client.post(
        "/api/users",
        json=body_for(Role.CLEANER, w.d_a1, start_date="2024-05-01", end_date="2024-04-01", birth="2999-01-01"),
        headers=w.da1.headers,
    )
    assert_error(r, 400, "VALIDATION_ERROR")
    assert {d["field"] for d in r.json()["error"]["details"]} == {"end_date", "birth"}
    r = client.post("/api/users", json=body_for(Role.DISTRICT_ADMIN, w.d_a1, birth="1980-01-01"), headers=w.ca.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "birth")
    r = client.post(
        "/api/users",
        json=body_for(Role.CLEANER, w.d_a1, start_date="2024-04-01", end_date="2024-12-31", birth="1970-02-03"),
        headers=w.da1.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["data"]["start_date"] == "2024-04-01"
    assert r.json()["data"]["birth"] is None  # PII: only with reveal=pii


def test_bad_input_names_every_field(client: TestClient, w: World) -> None:
    r = client.post(
        "/api/users",
        json={"nickname": "x", "phone": "12345", "role": "KING", "org_id": 0, "extra": 1},
        headers=w.pa.headers,
    )
    assert_error(r, 400, "VALIDATION_ERROR")
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"nickname", "phone", "role", "org_id", "extra"} <= fields
    r = client.post("/api/users", content=b"{not json", headers={**w.pa.headers, "Content-Type": "application/json"})
    assert_error(r, 400, "VALIDATION_ERROR", "body")
    r = client.post("/api/users", content=b"a=b", headers={**w.pa.headers, "Content-Type": "text/plain"})
    assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_nickname_length(client: TestClient, w: World) -> None:
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, nickname="가" * 21), headers=w.da1.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "nickname")
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, nickname=" 가 "), headers=w.da1.headers)
    assert_error(r, 400, "VALIDATION_ERROR", "nickname")


# ---- system ids --------------------------------------------------------------------------------

SYSTEM_ID = re.compile(r"^(?P<org>[A-Z0-9-]+)_(?P<nick>[^_]+)_(?P<token>[A-Z]+)_(?P<serial>\d{4,})$")


def test_system_id_format(client: TestClient, w: World) -> None:
    cases = [
        (w.pa, body_for(Role.PLATFORM_ADMIN, w.root, nickname="본부_관리"), "PLATFORM", "본부-관리", "PLATFORM"),
        (w.pa, body_for(Role.CITY_ADMIN, w.city_a, nickname="부산"), "BSJ001", "부산", "CITYADMIN"),
        (w.ca, body_for(Role.DISTRICT_ADMIN, w.d_a1, nickname="박구청"), "BSJ001-HAEUN", "박구청", "DISTRICTADMIN"),
        (w.da1, body_for(Role.INVESTIGATOR, w.d_a1, nickname="a_b_c"), "BSJ001-HAEUN", "a-b-c", "INVESTIGATOR"),
        (w.da1, body_for(Role.CLEANER, w.d_a1, nickname="청소"), "BSJ001-HAEUN", "청소", "CLEANER"),
        (w.da1, body_for(Role.COLLECTOR, w.d_a1, nickname="수거"), "BSJ001-HAEUN", "수거", "COLLECTOR"),
    ]
    serials = []
    for creator, body, org, nick, token in cases:
        r = client.post("/api/users", json=body, headers=creator.headers)
        assert r.status_code == 201, r.text
        data = r.json()["data"]
        m = SYSTEM_ID.match(data["system_id"])
        assert m, data["system_id"]
        assert (m["org"], m["nick"], m["token"]) == (org, nick, token)
        assert data["nickname"] == body["nickname"]  # the nickname itself keeps its underscores
        serials.append(int(m["serial"]))
    # One global sequence, increasing across roles and organisations.
    assert serials == sorted(serials)
    assert len(set(serials)) == len(serials)


def test_serial_is_zero_padded_to_four_digits(client: TestClient, w: World) -> None:
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1), headers=w.da1.headers)
    serial = r.json()["data"]["system_id"].rsplit("_", 1)[1]
    assert len(serial) >= 4
    assert serial == f"{int(serial):04d}"


def test_nicknames_may_repeat(client: TestClient, w: World) -> None:
    ids = set()
    for _ in range(2):
        r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, nickname="같은이름"), headers=w.da1.headers)
        assert r.status_code == 201
        ids.add(r.json()["data"]["system_id"])
    assert len(ids) == 2


# ---- phone + role uniqueness -------------------------------------------------------------------


def test_one_live_account_per_phone_and_role(client: TestClient, w: World) -> None:
    phone = next_phone()
    first = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, phone=phone), headers=w.da1.headers)
    assert first.status_code == 201
    # Same phone in another form, same role, another district: still taken.
    dashed = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    again = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a2, phone=dashed), headers=w.ca.headers)
    assert_error(again, 409, "CONFLICT")
    # The same phone may hold other roles.
    for role in (Role.INVESTIGATOR, Role.COLLECTOR):
        r = client.post("/api/users", json=body_for(role, w.d_a1, phone=f"+82{phone[1:]}"), headers=w.da1.headers)
        assert r.status_code == 201, r.text
    r = client.post("/api/users", json=body_for(Role.DISTRICT_ADMIN, w.d_a1, phone=phone), headers=w.ca.headers)
    assert r.status_code == 201, r.text
    assert len(audit_entries(client, "USER_CREATE")) == 4


def test_phone_is_stored_normalised_and_encrypted(client: TestClient, w: World) -> None:
    phone = next_phone()
    r = client.post("/api/users", json=body_for(Role.CLEANER, w.d_a1, phone=f"+82{phone[1:]}"), headers=w.da1.headers)
    stored = stored_user(client, r.json()["data"]["id"])
    assert phone.encode() not in stored["phone_enc"]
    assert stored["phone_last4"] == phone[-4:]
    detail = client.get(f"/api/users/{r.json()['data']['id']}?reveal=phone", headers=w.da1.headers)
    assert detail.json()["data"]["phone"] == phone


def test_created_admin_can_sign_in_with_password(client: TestClient, w: World) -> None:
    body = body_for(Role.CITY_ADMIN, w.city_b)
    r = client.post("/api/users", json=body, headers=w.pa.headers)
    assert r.status_code == 201
    login = client.post("/api/auth/admin/login", json={"login_id": r.json()["data"]["system_id"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["data"]["challenge_id"]
