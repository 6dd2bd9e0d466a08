"""GET /api/logs: admins only, the caller's subtree, filters and paging (02 §9, 07 §3, §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.audit import service as audit
from beachsaver.core.enums import Role
from beachsaver.orgs import service as org_service
from tests.auth.helpers import assert_error, bearer
from tests.factories import make_city, make_district, make_user, token_for

FIELDS = {"id", "at", "actor_id", "action", "target_type", "target_id", "org_id", "before", "after", "trace_id", "ip"}
T0 = datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC)


class World:
    """Two cities with a district each, an admin per level, and one entry per organisation."""

    def __init__(self, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = org_service.ensure_root(db)
        self.city_a = make_city(db, code="CA")
        self.district_a = make_district(db, self.city_a, suffix="DA")
        self.city_b = make_city(db, code="CB")
        self.district_b = make_district(db, self.city_b, suffix="DB")
        self.platform = make_user(db, Role.PLATFORM_ADMIN, self.root, phone="01010000001")
        self.city_admin = make_user(db, Role.CITY_ADMIN, self.city_a, phone="01010000002")
        self.district_admin = make_user(db, Role.DISTRICT_ADMIN, self.district_a, phone="01010000003")
        self.worker = make_user(db, Role.CLEANER, self.district_a, phone="01010000004")
        db.commit()
        # Sign-ins go to the log too: seal them first so that only the entries below are counted.
        self.tokens = {
            "platform": token_for(db, self.platform),
            "city": token_for(db, self.city_admin),
            "district": token_for(db, self.district_admin),
            "worker": token_for(db, self.worker),
        }
        db.commit()
        times = iter(T0 + timedelta(hours=h) for h in range(100))
        monkeypatch.setattr(audit, "utcnow", lambda: next(times))
        self.entries: dict[str, int] = {}
        for name, org, actor in (
            ("root", self.root, self.platform),
            ("city_a", self.city_a, self.city_admin),
            ("district_a", self.district_a, self.district_admin),
            ("city_b", self.city_b, self.platform),
            ("district_b", self.district_b, self.platform),
        ):
            audit.record(
                db, f"TEST_{name.upper()}", actor_id=actor.id, target_type="ORG", target_id=org.id, org_id=org.id
            )
        db.commit()
        monkeypatch.undo()

    def get(self, client: TestClient, who: str, **params: Any) -> Any:
        return client.get("/api/logs", params=params, headers=bearer(self.tokens[who]))

    def actions(self, client: TestClient, who: str, **params: Any) -> list[str]:
        r = self.get(client, who, size=100, **params)
        assert r.status_code == 200, r.text
        return [e["action"] for e in r.json()["data"] if e["action"].startswith("TEST_")]


@pytest.fixture
def world(db: Any, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(db, monkeypatch)


def test_workers_are_forbidden(client: TestClient, world: World) -> None:
    assert_error(world.get(client, "worker"), 403, "FORBIDDEN")


def test_unauthenticated(client: TestClient, world: World) -> None:
    assert_error(client.get("/api/logs"), 401, "UNAUTHENTICATED")


def test_platform_admin_sees_everything_newest_first(client: TestClient, world: World) -> None:
    assert world.actions(client, "platform") == [
        "TEST_DISTRICT_B",
        "TEST_CITY_B",
        "TEST_DISTRICT_A",
        "TEST_CITY_A",
        "TEST_ROOT",
    ]


def test_city_admin_sees_its_subtree(client: TestClient, world: World) -> None:
    assert world.actions(client, "city") == ["TEST_DISTRICT_A", "TEST_CITY_A"]


def test_district_admin_sees_its_district(client: TestClient, world: World) -> None:
    assert world.actions(client, "district") == ["TEST_DISTRICT_A"]
    # Its own sign-in (an entry of its district) is there too; the city admin's is not.
    r = world.get(client, "district", action="AUTH_LOGIN")
    assert {e["actor_id"] for e in r.json()["data"]} == {world.district_admin.id, world.worker.id}


def test_entry_shape(client: TestClient, world: World) -> None:
    r = world.get(client, "district", action="TEST_DISTRICT_A")
    body = r.json()
    assert body["meta"] == {"page": 1, "size": 20, "total": 1, "total_pages": 1}
    [entry] = body["data"]
    assert set(entry) == FIELDS
    assert entry["at"] == "2024-03-01T02:00:00Z"
    assert entry["actor_id"] == world.district_admin.id
    assert entry["target_type"] == "ORG" and entry["target_id"] == world.district_a.id
    assert entry["org_id"] == world.district_a.id


def test_filter_by_user(client: TestClient, world: World) -> None:
    assert world.actions(client, "platform", user_id=world.city_admin.id) == ["TEST_CITY_A"]
    assert world.actions(client, "platform", user_id=999999) == []
    r = world.get(client, "platform", user_id=world.platform.id, action="TEST_CITY_B")
    assert [e["actor_id"] for e in r.json()["data"]] == [world.platform.id]


def test_filter_by_action(client: TestClient, world: World) -> None:
    assert world.actions(client, "platform", action="TEST_CITY_A") == ["TEST_CITY_A"]
    assert world.actions(client, "platform", action="test_city_a") == ["TEST_CITY_A"]
    r = world.get(client, "platform", action="AUTH_LOGIN")
    assert r.json()["meta"]["total"] == 4
    assert {e["action"] for e in r.json()["data"]} == {"AUTH_LOGIN"}


def test_filter_by_time(client: TestClient, world: World) -> None:
    # Entries at T0 + 0h, 1h, 2h, 3h, 4h.
    assert world.actions(client, "platform", **{"from": "2024-03-01T01:00:00Z", "to": "2024-03-01T03:00:00Z"}) == [
        "TEST_CITY_B",
        "TEST_DISTRICT_A",
        "TEST_CITY_A",
    ]
    # Offsets other than Z are understood: 11:00+09:00 is 02:00Z.
    assert world.actions(client, "platform", **{"from": "2024-03-01T11:00:00+09:00"}) == [
        "TEST_DISTRICT_B",
        "TEST_CITY_B",
        "TEST_DISTRICT_A",
    ]
    assert world.actions(client, "platform", to="2024-03-01T00:30:00Z") == ["TEST_ROOT"]


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("value", ["2024-03-01T01:00:00", "2024-03-01", "yesterday"])
def test_naive_or_bad_instants_are_400(client: TestClient, world: World, name: str, value: str) -> None:
    body = assert_error(world.get(client, "platform", **{name: value}), 400, "VALIDATION_ERROR")
    assert [d["field"] for d in body["error"]["details"]] == [f"query.{name}"]


def test_from_after_to_is_400(client: TestClient, world: World) -> None:
    r = world.get(client, "platform", **{"from": "2024-03-02T00:00:00Z", "to": "2024-03-01T00:00:00Z"})
    body = assert_error(r, 400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "query.to"


def test_bad_user_id_is_400(client: TestClient, world: World) -> None:
    body = assert_error(world.get(client, "platform", user_id="abc"), 400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "query.user_id"


def test_paging(client: TestClient, world: World) -> None:
    first = world.get(client, "city", size=1, page=1, filter="target_type=ORG")
    second = world.get(client, "city", size=1, page=2, filter="target_type=ORG")
    past = world.get(client, "city", size=1, page=3, filter="target_type=ORG")
    assert first.json()["meta"] == {"page": 1, "size": 1, "total": 2, "total_pages": 2}
    assert [e["action"] for e in first.json()["data"]] == ["TEST_DISTRICT_A"]
    assert [e["action"] for e in second.json()["data"]] == ["TEST_CITY_A"]
    assert past.status_code == 200 and past.json()["data"] == []
    assert past.json()["meta"] == {"page": 3, "size": 1, "total": 2, "total_pages": 2}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"size": 101}, "query.size"),
        ({"size": 0}, "query.size"),
        ({"page": 0}, "query.page"),
        ({"sort": "nickname,asc"}, "query.sort"),
        ({"filter": "secret=1"}, "query.filter"),
    ],
)
def test_bad_paging_is_400(client: TestClient, world: World, params: dict[str, Any], field: str) -> None:
    body = assert_error(world.get(client, "platform", **params), 400, "VALIDATION_ERROR")
    assert field in [d["field"] for d in body["error"]["details"]]


def test_sort_oldest_first(client: TestClient, world: World) -> None:
    assert world.actions(client, "city", sort="at,asc") == ["TEST_CITY_A", "TEST_DISTRICT_A"]


def test_sign_ins_appear_in_the_log(client: TestClient, world: World) -> None:
    r = world.get(client, "platform", action="AUTH_LOGIN", user_id=world.worker.id)
    [entry] = r.json()["data"]
    assert entry["org_id"] == world.district_a.id
    assert entry["target_id"] == world.worker.id
