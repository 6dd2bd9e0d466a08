from __future__ import annotations

from typing import Any

import pytest

from tests.beaches.conftest import World


def fields(response: Any) -> list[str]:
    return [d["field"] for d in response.json()["error"]["details"]]


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(b["beach_name"] for b in response.json()["data"])


@pytest.fixture
def beaches(world: World) -> dict[str, dict[str, Any]]:
    w = world
    return {
        "해운대": w.create(beach_name="해운대해수욕장"),
        "송정": w.create(beach_name="송정해수욕장", coastline_m=None),
        "광안리": w.create(by=w.admin2, org_id=w.d2.id, beach_name="광안리해수욕장", gu_gun="수영구"),
        "일산": w.create(by=w.other_admin, org_id=w.od.id, beach_name="일산해수욕장", si="울산광역시"),
    }


# ---- create ------------------------------------------------------------------------------------


def test_create_beach(world: World) -> None:
    w = world
    r = w.client.post("/api/beaches", json=w.body(), headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["id"] > 0
    assert {k: data[k] for k in w.body()} == w.body()
    assert data["created_at"].endswith("Z") and data["updated_at"].endswith("Z")
    entries = w.audit("BEACH_CREATE")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_id == w.admin1.id and entry.target_type == "BEACH" and entry.target_id == data["id"]
    assert entry.org_id == w.d1.id
    assert entry.after is not None and entry.after["beach_name"] == "해운대해수욕장"
    r = w.client.get(f"/api/beaches/{data['id']}", headers=w.h(w.admin1))
    assert r.status_code == 200
    assert r.json()["data"] == data


def test_coordinates_are_rounded_to_seven_places(world: World) -> None:
    w = world
    data = w.create(latitude=35.15869754999, longitude="-129.16038415", coastline_m=12.345)
    assert data["latitude"] == 35.1586975
    assert data["longitude"] == -129.1603842
    assert data["coastline_m"] == 12.35
    data = w.create(beach_name="극점", latitude=-90, longitude=180)
    assert (data["latitude"], data["longitude"]) == (-90, 180)


def test_coastline_is_optional(world: World) -> None:
    w = world
    body = w.body()
    del body["coastline_m"]
    r = w.client.post("/api/beaches", json=body, headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["coastline_m"] is None


def test_required_fields_are_named(world: World) -> None:
    w = world
    r = w.client.post("/api/beaches", json={}, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert set(fields(r)) == {
        "org_id",
        "beach_name",
        "si",
        "gu_gun",
        "dong_eub",
        "workplace",
        "latitude",
        "longitude",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"latitude": 90.0000001}, "latitude"),
        ({"latitude": -91}, "latitude"),
        ({"longitude": 180.5}, "longitude"),
        ({"longitude": -181}, "longitude"),
        ({"latitude": "north"}, "latitude"),
        ({"latitude": None}, "latitude"),
        ({"longitude": "NaN"}, "longitude"),
        ({"coastline_m": -1}, "coastline_m"),
        ({"coastline_m": "Infinity"}, "coastline_m"),
        ({"beach_name": "  "}, "beach_name"),
        ({"beach_name": "x" * 101}, "beach_name"),
        ({"si": ""}, "si"),
        ({"gu_gun": "x" * 51}, "gu_gun"),
        ({"dong_eub": None}, "dong_eub"),
        ({"workplace": ""}, "workplace"),
        ({"org_id": 0}, "org_id"),
        ({"org_id": 2**63}, "org_id"),
        ({"area": 3}, "area"),
    ],
)
def test_bad_fields(world: World, overrides: dict[str, Any], field: str) -> None:
    w = world
    r = w.client.post("/api/beaches", json=w.body(**overrides), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == [field]
    assert w.audit("BEACH_CREATE") == []


def test_organisation_must_be_a_district_in_scope(world: World) -> None:
    w = world
    r = w.client.post("/api/beaches", json=w.body(org_id=w.city.id), headers=w.h(w.city_admin))
    assert r.status_code == 400
    assert fields(r) == ["org_id"]
    for org_id in (w.d2.id, w.od.id, w.city.id, 999_999):
        r = w.client.post("/api/beaches", json=w.body(org_id=org_id), headers=w.h(w.admin1))
        assert r.status_code == 404, org_id
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = w.client.post("/api/beaches", json=w.body(org_id=w.od.id), headers=w.h(w.city_admin))
    assert r.status_code == 404
    r = w.client.post("/api/beaches", json=w.body(org_id=w.d2.id), headers=w.h(w.city_admin))
    assert r.status_code == 201, r.text


def test_duplicate_name_in_the_district_conflicts(world: World) -> None:
    w = world
    w.create(beach_name="Songjeong Beach")
    for name in ("Songjeong Beach", " Songjeong Beach ", "SONGJEONG BEACH"):
        r = w.client.post("/api/beaches", json=w.body(beach_name=name), headers=w.h(w.admin1))
        assert r.status_code == 409, name
        assert r.json()["error"]["code"] == "CONFLICT"
    r = w.client.post("/api/beaches", json=w.body(beach_name="Songjeong Beach", org_id=w.d2.id), headers=w.h(w.admin2))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("who", ["cleaner", "investigator", "collector"])
def test_workers_cannot_create(world: World, who: str) -> None:
    w = world
    r = w.client.post("/api/beaches", json=w.body(), headers=w.h(getattr(w, who)))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"


def test_unauthenticated(world: World) -> None:
    w = world
    for method, path in (("GET", "/api/beaches"), ("POST", "/api/beaches"), ("GET", "/api/beaches/1")):
        r = w.client.request(method, path, json=w.body() if method == "POST" else None)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "UNAUTHENTICATED"


# ---- list and read -----------------------------------------------------------------------------


def test_admins_list_their_scope(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    assert names(w.client.get("/api/beaches", headers=w.h(w.admin1))) == ["송정해수욕장", "해운대해수욕장"]
    assert names(w.client.get("/api/beaches", headers=w.h(w.admin2))) == ["광안리해수욕장"]
    assert names(w.client.get("/api/beaches", headers=w.h(w.city_admin))) == [
        "광안리해수욕장",
        "송정해수욕장",
        "해운대해수욕장",
    ]
    assert names(w.client.get("/api/beaches", headers=w.h(w.other_admin))) == ["일산해수욕장"]


def test_workers_see_the_beaches_of_their_district(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    for user in (w.cleaner, w.investigator, w.collector):
        assert names(w.client.get("/api/beaches", headers=w.h(user))) == ["송정해수욕장", "해운대해수욕장"]
        r = w.client.get(f"/api/beaches/{beaches['해운대']['id']}", headers=w.h(user))
        assert r.status_code == 200
        assert r.json()["data"] == beaches["해운대"]
    assert names(w.client.get("/api/beaches", headers=w.h(w.cleaner_d2))) == ["광안리해수욕장"]


def test_list_shape_paging_and_sort(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    h = w.h(w.city_admin)
    r = w.client.get("/api/beaches", headers=h)
    assert r.json()["meta"] == {"page": 1, "size": 20, "total": 3, "total_pages": 1}
    assert [b["beach_name"] for b in r.json()["data"]] == ["광안리해수욕장", "송정해수욕장", "해운대해수욕장"]
    assert r.json()["data"][2] == beaches["해운대"]
    r = w.client.get("/api/beaches", params={"size": 2, "page": 2, "sort": "beach_name,desc"}, headers=h)
    assert r.json()["meta"] == {"page": 2, "size": 2, "total": 3, "total_pages": 2}
    assert [b["beach_name"] for b in r.json()["data"]] == ["광안리해수욕장"]


def test_filters(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    h = w.h(w.city_admin)
    assert names(w.client.get("/api/beaches", params={"org_id": w.d2.id}, headers=h)) == ["광안리해수욕장"]
    assert names(w.client.get("/api/beaches", params={"org_id": w.city.id}, headers=h)) == [
        "광안리해수욕장",
        "송정해수욕장",
        "해운대해수욕장",
    ]
    assert names(w.client.get("/api/beaches", params={"q": "송정"}, headers=h)) == ["송정해수욕장"]
    assert names(w.client.get("/api/beaches", params={"q": "해수욕", "org_id": w.d1.id}, headers=h)) == [
        "송정해수욕장",
        "해운대해수욕장",
    ]
    assert names(w.client.get("/api/beaches", params={"q": "없는"}, headers=h)) == []
    assert names(w.client.get("/api/beaches", params={"filter": "gu_gun=수영구"}, headers=h)) == ["광안리해수욕장"]


def test_q_is_case_insensitive_and_literal(world: World) -> None:
    w = world
    w.create(beach_name="Dadaepo Beach")
    w.create(beach_name="Da_Beach")
    h = w.h(w.admin1)
    assert names(w.client.get("/api/beaches", params={"q": "dadaepo"}, headers=h)) == ["Dadaepo Beach"]
    assert names(w.client.get("/api/beaches", params={"q": "a_b"}, headers=h)) == ["Da_Beach"]


def test_org_filter_outside_scope_answers_404(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    for org_id in (w.d2.id, w.od.id, w.city.id, 999_999):
        r = w.client.get("/api/beaches", params={"org_id": org_id}, headers=w.h(w.admin1))
        assert r.status_code == 404, org_id
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = w.client.get("/api/beaches", params={"org_id": w.d2.id}, headers=w.h(w.cleaner))
    assert r.status_code == 404
    assert names(w.client.get("/api/beaches", params={"org_id": w.d1.id}, headers=w.h(w.cleaner))) == [
        "송정해수욕장",
        "해운대해수욕장",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "latitude,asc"}, "query.sort"),
        ({"filter": "latitude=3"}, "query.filter"),
        ({"size": 0}, "query.size"),
        ({"page": -1}, "query.page"),
        ({"org_id": "x"}, "query.org_id"),
        ({"q": "x" * 101}, "query.q"),
    ],
)
def test_bad_list_parameters(world: World, params: dict[str, Any], field: str) -> None:
    w = world
    r = w.client.get("/api/beaches", params=params, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == [field]


@pytest.mark.parametrize("who", ["admin2", "other_admin", "cleaner_d2"])
def test_beaches_out_of_scope_answer_404(world: World, beaches: dict[str, dict[str, Any]], who: str) -> None:
    w = world
    user = getattr(w, who)
    beach_id = beaches["해운대"]["id"]
    r = w.client.get(f"/api/beaches/{beach_id}", headers=w.h(user))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    listed = w.client.get("/api/beaches", headers=w.h(user)).json()["data"]
    assert beach_id not in [b["id"] for b in listed]


def test_unknown_and_bad_ids(world: World) -> None:
    w = world
    r = w.client.get("/api/beaches/999999", headers=w.h(w.admin1))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    for bad in ("0", "abc", str(2**63)):
        r = w.client.get(f"/api/beaches/{bad}", headers=w.h(w.admin1))
        assert r.status_code == 400, bad
        assert fields(r) == ["path.beach_id"]


# ---- update ------------------------------------------------------------------------------------


def test_partial_update(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    before = beaches["해운대"]
    r = w.client.patch(
        f"/api/beaches/{before['id']}",
        json={"workplace": "새 관리소", "latitude": 35.123456789},
        headers=w.h(w.admin1),
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["workplace"] == "새 관리소"
    assert data["latitude"] == 35.1234568
    unchanged = {k: v for k, v in before.items() if k not in ("workplace", "latitude", "updated_at")}
    assert {k: data[k] for k in unchanged} == unchanged
    entries = w.audit("BEACH_UPDATE")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_id == w.admin1.id and entry.target_id == before["id"] and entry.org_id == w.d1.id
    assert entry.before is not None and entry.before["workplace"] == "해운대 관리소"
    assert entry.after is not None and entry.after["workplace"] == "새 관리소"
    assert set(entry.after) == {"workplace", "latitude"}
    assert w.client.get(f"/api/beaches/{before['id']}", headers=w.h(w.cleaner)).json()["data"] == data


def test_update_without_changes_is_not_audited(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    beach = beaches["해운대"]
    r = w.client.patch(
        f"/api/beaches/{beach['id']}",
        json={"beach_name": beach["beach_name"], "latitude": beach["latitude"]},
        headers=w.h(w.admin1),
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"] == beach
    assert w.audit("BEACH_UPDATE") == []


def test_coastline_may_be_cleared(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    beach_id = beaches["해운대"]["id"]
    r = w.client.patch(f"/api/beaches/{beach_id}", json={"coastline_m": None}, headers=w.h(w.admin1))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["coastline_m"] is None
    r = w.client.patch(f"/api/beaches/{beach_id}", json={"coastline_m": 800}, headers=w.h(w.admin1))
    assert r.json()["data"]["coastline_m"] == 800


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"beach_name": None}, "beach_name"),
        ({"beach_name": ""}, "beach_name"),
        ({"latitude": 95}, "latitude"),
        ({"longitude": None}, "longitude"),
        ({"org_id": None}, "org_id"),
        ({"coastline_m": -0.5}, "coastline_m"),
        ({"id": 4}, "id"),
    ],
)
def test_bad_update_bodies(world: World, beaches: dict[str, dict[str, Any]], body: dict[str, Any], field: str) -> None:
    w = world
    r = w.client.patch(f"/api/beaches/{beaches['해운대']['id']}", json=body, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == [field]


def test_rename_to_a_taken_name_conflicts(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    r = w.client.patch(
        f"/api/beaches/{beaches['해운대']['id']}", json={"beach_name": "송정해수욕장"}, headers=w.h(w.admin1)
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    # a name used in another district is free here
    r = w.client.patch(
        f"/api/beaches/{beaches['해운대']['id']}", json={"beach_name": "광안리해수욕장"}, headers=w.h(w.admin1)
    )
    assert r.status_code == 200, r.text


def test_move_to_another_district(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    beach_id = beaches["송정"]["id"]
    r = w.client.patch(f"/api/beaches/{beach_id}", json={"org_id": w.d2.id}, headers=w.h(w.admin1))
    assert r.status_code == 404
    r = w.client.patch(f"/api/beaches/{beach_id}", json={"org_id": w.city.id}, headers=w.h(w.city_admin))
    assert r.status_code == 400
    assert fields(r) == ["org_id"]
    r = w.client.patch(f"/api/beaches/{beach_id}", json={"org_id": w.od.id}, headers=w.h(w.city_admin))
    assert r.status_code == 404
    # a name taken in the target district conflicts
    r = w.client.patch(
        f"/api/beaches/{beach_id}",
        json={"org_id": w.d2.id, "beach_name": "광안리해수욕장"},
        headers=w.h(w.city_admin),
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    r = w.client.patch(f"/api/beaches/{beach_id}", json={"org_id": w.d2.id}, headers=w.h(w.city_admin))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["org_id"] == w.d2.id
    assert w.client.get(f"/api/beaches/{beach_id}", headers=w.h(w.admin1)).status_code == 404
    assert w.client.get(f"/api/beaches/{beach_id}", headers=w.h(w.admin2)).status_code == 200


@pytest.mark.parametrize("who", ["cleaner", "investigator", "collector", "cleaner_d2"])
def test_workers_cannot_update(world: World, beaches: dict[str, dict[str, Any]], who: str) -> None:
    w = world
    r = w.client.patch(f"/api/beaches/{beaches['해운대']['id']}", json={"workplace": "x"}, headers=w.h(getattr(w, who)))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("who", ["admin2", "other_admin"])
def test_admins_out_of_scope_cannot_update(world: World, beaches: dict[str, dict[str, Any]], who: str) -> None:
    w = world
    r = w.client.patch(f"/api/beaches/{beaches['해운대']['id']}", json={"workplace": "x"}, headers=w.h(getattr(w, who)))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    r = w.client.patch("/api/beaches/999999", json={"workplace": "x"}, headers=w.h(w.admin1))
    assert r.status_code == 404
    assert w.audit("BEACH_UPDATE") == []


def test_city_admin_updates_a_beach_of_its_districts(world: World, beaches: dict[str, dict[str, Any]]) -> None:
    w = world
    r = w.client.patch(
        f"/api/beaches/{beaches['광안리']['id']}", json={"dong_eub": "광안동"}, headers=w.h(w.city_admin)
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["dong_eub"] == "광안동"
