"""/api/organizations: the flat list in scope, creation and renaming, codes, 403 vs 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import Role
from tests.users.world import World, assert_error, audit_entries, make_account


def org_ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.text
    return {o["id"] for o in response.json()["data"]}


def test_admins_see_their_subtree(client: TestClient, w: World) -> None:
    everything = {w.root, w.city_a, w.d_a1, w.d_a2, w.city_b, w.d_b1}
    assert org_ids(client.get("/api/organizations", headers=w.pa.headers)) == everything
    assert org_ids(client.get("/api/organizations", headers=w.ca.headers)) == {w.city_a, w.d_a1, w.d_a2}
    assert org_ids(client.get("/api/organizations", headers=w.cb.headers)) == {w.city_b, w.d_b1}
    assert org_ids(client.get("/api/organizations", headers=w.da1.headers)) == {w.d_a1}


@pytest.mark.parametrize("worker", ["inv", "cl", "col"])
def test_workers_see_their_district_and_its_ancestors(client: TestClient, w: World, worker: str) -> None:
    h = getattr(w, worker).headers
    assert org_ids(client.get("/api/organizations", headers=h)) == {w.root, w.city_a, w.d_a1}
    assert client.get(f"/api/organizations/{w.city_a}", headers=h).status_code == 200
    assert_error(client.get(f"/api/organizations/{w.d_a2}", headers=h), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/organizations/{w.d_b1}", headers=h), 404, "NOT_FOUND")


def test_shape_and_paging(client: TestClient, w: World) -> None:
    r = client.get("/api/organizations", headers=w.pa.headers)
    body = r.json()
    assert body["meta"] == {"page": 1, "size": 20, "total": 6, "total_pages": 1}
    by_id = {o["id"]: o for o in body["data"]}
    assert set(by_id[w.d_a1]) == {"id", "name", "code", "type", "parent_id", "created_at"}
    assert by_id[w.d_a1] | {"created_at": None} == {
        "id": w.d_a1,
        "name": "해운대구",
        "code": "BSJ001-HAEUN",
        "type": "DISTRICT",
        "parent_id": w.city_a,
        "created_at": None,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", by_id[w.d_a1]["created_at"])
    assert by_id[w.root]["type"] == "PLATFORM" and by_id[w.root]["parent_id"] is None
    assert by_id[w.root]["code"] == "PLATFORM"
    # Default order: newest first.
    assert [o["id"] for o in body["data"]] == sorted(by_id, reverse=True)
    page = client.get("/api/organizations", params={"size": 4, "page": 2}, headers=w.pa.headers).json()
    assert page["meta"] == {"page": 2, "size": 4, "total": 6, "total_pages": 2}
    assert len(page["data"]) == 2
    by_code = client.get("/api/organizations", params={"sort": "code,asc"}, headers=w.pa.headers).json()["data"]
    assert [o["code"] for o in by_code] == sorted(o["code"] for o in by_code)


def test_type_and_parent_filters(client: TestClient, w: World) -> None:
    h = w.pa.headers
    assert org_ids(client.get("/api/organizations", params={"type": "CITY"}, headers=h)) == {w.city_a, w.city_b}
    assert org_ids(client.get("/api/organizations", params={"type": "district"}, headers=h)) == {w.d_a1, w.d_a2, w.d_b1}
    assert org_ids(client.get("/api/organizations", params={"parent_id": w.city_a}, headers=h)) == {w.d_a1, w.d_a2}
    assert org_ids(client.get("/api/organizations", params={"parent_id": w.city_b}, headers=w.ca.headers)) == set()
    assert org_ids(client.get("/api/organizations", params={"filter": "type=CITY"}, headers=h)) == {w.city_a, w.city_b}
    assert org_ids(client.get("/api/organizations", params={"filter": "code=BSJ001-HAEUN"}, headers=h)) == {w.d_a1}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "COUNTY"}, "query.type"),
        ({"parent_id": "x"}, "query.parent_id"),
        ({"size": 101}, "query.size"),
        ({"page": 0}, "query.page"),
        ({"sort": "path_length,asc"}, "query.sort"),
        ({"filter": "name=부산"}, "query.filter"),
        ({"filter": "type=COUNTY"}, "query.filter"),
    ],
)
def test_bad_queries(client: TestClient, w: World, params: dict[str, Any], field: str) -> None:
    assert_error(client.get("/api/organizations", params=params, headers=w.pa.headers), 400, "VALIDATION_ERROR", field)


def test_list_needs_authentication(client: TestClient) -> None:
    assert_error(client.get("/api/organizations"), 401, "UNAUTHENTICATED")


def test_get_one(client: TestClient, w: World) -> None:
    r = client.get(f"/api/organizations/{w.d_a1}", headers=w.ca.headers)
    assert r.status_code == 200
    assert r.json()["data"]["code"] == "BSJ001-HAEUN"
    assert_error(client.get(f"/api/organizations/{w.city_b}", headers=w.ca.headers), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/organizations/{w.city_a}", headers=w.da1.headers), 404, "NOT_FOUND")
    assert_error(client.get("/api/organizations/999999", headers=w.pa.headers), 404, "NOT_FOUND")


# ---- creation ----------------------------------------------------------------------------------


def create(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/organizations", json=body, headers=headers)


def test_platform_admin_creates_a_city(client: TestClient, w: World) -> None:
    r = create(client, w.pa.headers, name="인천광역시", code="ICN003", type="city", parent_id=w.root)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert (data["name"], data["code"], data["type"], data["parent_id"]) == ("인천광역시", "ICN003", "CITY", w.root)
    entries = audit_entries(client, "ORGANIZATION_CREATE", data["id"])
    assert len(entries) == 1
    assert entries[0]["actor_id"] == w.pa.id
    assert entries[0]["after"]["org_code"] == "ICN003"
    assert data["id"] in org_ids(client.get("/api/organizations", headers=w.pa.headers))


def test_city_admin_creates_a_district_of_its_city(client: TestClient, w: World) -> None:
    r = create(client, w.ca.headers, name="기장군", code="BSJ001-GIJANG", type="DISTRICT", parent_id=w.city_a)
    assert r.status_code == 201, r.text
    new_id = r.json()["data"]["id"]
    assert new_id in org_ids(client.get("/api/organizations", headers=w.ca.headers))
    # The new district is at once inside the city admin's scope.
    body = {
        "nickname": "기장구청",
        "phone": "01077776666",
        "role": "DISTRICT_ADMIN",
        "org_id": new_id,
        "password": "Correct-Horse-9",
        "email": "g@example.org",
    }
    assert client.post("/api/users", json=body, headers=w.ca.headers).status_code == 201
    # Platform admins may create districts too.
    r = create(client, w.pa.headers, name="울주군", code="ULS002-ULJU", type="DISTRICT", parent_id=w.city_b)
    assert r.status_code == 201, r.text


def test_who_may_create(client: TestClient, w: World) -> None:
    # City admins never create cities; district admins and workers never create anything.
    assert_error(create(client, w.ca.headers, name="x", code="NEW001", type="CITY", parent_id=w.root), 403, "FORBIDDEN")
    for account in ("da1", "inv", "cl", "col"):
        h = getattr(w, account).headers
        assert_error(
            create(client, h, name="x", code="BSJ001-NEW", type="DISTRICT", parent_id=w.city_a), 403, "FORBIDDEN"
        )
    # A parent outside the scope: 404.
    assert_error(
        create(client, w.ca.headers, name="x", code="ULS002-NEW", type="DISTRICT", parent_id=w.city_b), 404, "NOT_FOUND"
    )
    assert_error(
        create(client, w.pa.headers, name="x", code="ULS002-NEW", type="DISTRICT", parent_id=999999), 404, "NOT_FOUND"
    )
    assert_error(create(client, {}, name="x", code="NEW001", type="CITY", parent_id=w.root), 401, "UNAUTHENTICATED")
    assert audit_entries(client, "ORGANIZATION_CREATE") == [] or all(
        e["actor_id"] is None for e in audit_entries(client, "ORGANIZATION_CREATE")
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "bsj001-new"}, "code"),
        ({"code": "BSJ001_NEW"}, "code"),
        ({"code": "BSJ001-NEW-X"}, "code"),
        ({"code": "ULS002-NEW"}, "code"),
        ({"code": "BSJ001NEW"}, "code"),
        ({"code": "BSJ001-"}, "code"),
        ({"code": "B"}, "code"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"type": "PLATFORM"}, "type"),
        ({"type": "COUNTY"}, "type"),
        ({"parent_id": 0}, "parent_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_district_validation(client: TestClient, w: World, body: dict[str, Any], field: str) -> None:
    full = {"name": "신규구", "code": "BSJ001-NEW", "type": "DISTRICT", "parent_id": w.city_a, **body}
    assert_error(client.post("/api/organizations", json=full, headers=w.pa.headers), 400, "VALIDATION_ERROR", field)


def test_tree_shape_is_enforced(client: TestClient, w: World) -> None:
    # A city under a city, a district under the root or under a district: 400 naming parent_id.
    for body in (
        {"name": "x", "code": "NEW001", "type": "CITY", "parent_id": w.city_a},
        {"name": "x", "code": "NEW001-A", "type": "DISTRICT", "parent_id": w.root},
        {"name": "x", "code": "BSJ001-HAEUN-A", "type": "DISTRICT", "parent_id": w.d_a1},
    ):
        assert_error(
            client.post("/api/organizations", json=body, headers=w.pa.headers), 400, "VALIDATION_ERROR", "parent_id"
        )
    r = create(client, w.pa.headers, name="x", code="NEW-001", type="CITY", parent_id=w.root)
    assert_error(r, 400, "VALIDATION_ERROR", "code")


def test_duplicate_code(client: TestClient, w: World) -> None:
    assert_error(
        create(client, w.pa.headers, name="또부산", code="BSJ001", type="CITY", parent_id=w.root), 409, "CONFLICT"
    )
    assert_error(
        create(client, w.ca.headers, name="해운대2", code="BSJ001-HAEUN", type="DISTRICT", parent_id=w.city_a),
        409,
        "CONFLICT",
    )
    assert_error(
        create(client, w.pa.headers, name="루트", code="PLATFORM", type="CITY", parent_id=w.root), 409, "CONFLICT"
    )


# ---- renaming ----------------------------------------------------------------------------------


def rename(client: TestClient, org_id: int, headers: dict[str, str], **body: Any) -> Any:
    return client.patch(f"/api/organizations/{org_id}", json=body, headers=headers)


def test_rename(client: TestClient, w: World) -> None:
    r = rename(client, w.d_a1, w.ca.headers, name="해운대구청")
    assert r.status_code == 200, r.text
    assert (r.json()["data"]["name"], r.json()["data"]["code"]) == ("해운대구청", "BSJ001-HAEUN")
    entries = audit_entries(client, "ORGANIZATION_UPDATE", w.d_a1)
    assert len(entries) == 1
    assert (entries[0]["before"], entries[0]["after"]) == ({"name": "해운대구"}, {"name": "해운대구청"})
    assert rename(client, w.city_a, w.pa.headers, name="부산").status_code == 200
    assert rename(client, w.d_b1, w.pa.headers, name="울산중구").status_code == 200


def test_who_may_rename(client: TestClient, w: World) -> None:
    # Visible but not changeable that way: 403.
    assert_error(rename(client, w.city_a, w.ca.headers, name="x"), 403, "FORBIDDEN")
    assert_error(rename(client, w.root, w.pa.headers, name="x"), 403, "FORBIDDEN")
    # Outside the scope: 404.
    assert_error(rename(client, w.d_b1, w.ca.headers, name="x"), 404, "NOT_FOUND")
    assert_error(rename(client, w.city_b, w.ca.headers, name="x"), 404, "NOT_FOUND")
    assert_error(rename(client, 999999, w.pa.headers, name="x"), 404, "NOT_FOUND")
    # Roles that never rename: 403.
    for account in ("da1", "inv", "cl", "col"):
        assert_error(rename(client, w.d_a1, getattr(w, account).headers, name="x"), 403, "FORBIDDEN")
    assert audit_entries(client, "ORGANIZATION_UPDATE") == []


def test_codes_never_change(client: TestClient, w: World) -> None:
    assert_error(rename(client, w.d_a1, w.ca.headers, code="BSJ001-NEW"), 400, "VALIDATION_ERROR", "code")
    assert_error(rename(client, w.d_a1, w.ca.headers, name="x", code="BSJ001-NEW"), 400, "VALIDATION_ERROR", "code")
    assert_error(rename(client, w.d_a1, w.ca.headers, name="   "), 400, "VALIDATION_ERROR", "name")
    assert_error(rename(client, w.d_a1, w.ca.headers, parent_id=w.city_b), 400, "VALIDATION_ERROR", "parent_id")


def test_new_city_admin_sees_only_its_city(client: TestClient, db: Any, w: World) -> None:
    r = create(client, w.pa.headers, name="대구광역시", code="DGU004", type="CITY", parent_id=w.root)
    city = r.json()["data"]["id"]
    admin = make_account(db, Role.CITY_ADMIN, city)
    assert org_ids(client.get("/api/organizations", headers=admin.headers)) == {city}
