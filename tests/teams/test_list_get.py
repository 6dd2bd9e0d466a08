from __future__ import annotations

from typing import Any

import pytest

from tests.statements import counting
from tests.teams.conftest import World


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(t["name"] for t in response.json()["data"])


@pytest.fixture
def teams(world: World) -> dict[str, dict[str, Any]]:
    w = world
    a = w.create_team("A", leader=w.cleaners[0], members=[w.cleaners[1]])
    b = w.create_team("B", leader=w.cleaners[2], members=[])
    c = w.create_team("C", leader=w.cleaner_d2, members=[], by=w.admin2)
    o = w.create_team("O", leader=w.cleaner_od, members=[], by=w.other_admin)
    return {"A": a, "B": b, "C": c, "O": o}


def test_admins_list_their_scope(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    assert names(w.client.get("/api/teams", headers=w.h(w.admin1))) == ["A", "B"]
    assert names(w.client.get("/api/teams", headers=w.h(w.admin2))) == ["C"]
    assert names(w.client.get("/api/teams", headers=w.h(w.city_admin))) == ["A", "B", "C"]
    assert names(w.client.get("/api/teams", headers=w.h(w.other_admin))) == ["O"]
    assert names(w.client.get("/api/teams", headers=w.h(w.platform))) == ["A", "B", "C", "O"]


def test_list_shape_and_member_count(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    r = w.client.get("/api/teams", params={"sort": "name,asc"}, headers=w.h(w.admin1))
    assert r.status_code == 200
    payload = r.json()
    assert payload["meta"] == {"page": 1, "size": 20, "total": 2, "total_pages": 1}
    first = payload["data"][0]
    assert set(first) >= {"id", "org_id", "name", "status", "leader_id", "member_count", "created_at", "updated_at"}
    assert [(t["name"], t["member_count"], t["leader_id"]) for t in payload["data"]] == [
        ("A", 2, w.cleaners[0].id),
        ("B", 1, w.cleaners[2].id),
    ]


def test_default_order_is_newest_first_and_paging(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    r = w.client.get("/api/teams", headers=w.h(w.city_admin))
    assert [t["name"] for t in r.json()["data"]] == ["C", "B", "A"]
    r = w.client.get("/api/teams", params={"size": 2, "page": 2}, headers=w.h(w.city_admin))
    assert r.json()["meta"] == {"page": 2, "size": 2, "total": 3, "total_pages": 2}
    assert [t["name"] for t in r.json()["data"]] == ["A"]
    r = w.client.get("/api/teams", params={"page": 9}, headers=w.h(w.city_admin))
    assert r.status_code == 200 and r.json()["data"] == []
    r = w.client.get("/api/teams", params={"sort": "name,desc"}, headers=w.h(w.city_admin))
    assert [t["name"] for t in r.json()["data"]] == ["C", "B", "A"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "colour,asc"}, "query.sort"),
        ({"sort": "name,sideways"}, "query.sort"),
        ({"filter": "colour=red"}, "query.filter"),
        ({"filter": "status=SLEEPING"}, "query.filter"),
        ({"size": 101}, "query.size"),
        ({"page": 0}, "query.page"),
        ({"status": "SLEEPING"}, "query.status"),
        ({"org_id": "abc"}, "query.org_id"),
        ({"org_id": 0}, "query.org_id"),
    ],
)
def test_bad_list_parameters_answer_400(
    world: World, teams: dict[str, dict[str, Any]], params: dict[str, Any], field: str
) -> None:
    w = world
    r = w.client.get("/api/teams", params=params, headers=w.h(w.city_admin))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in r.json()["error"]["details"]] == [field]


def test_filters(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    h = w.h(w.city_admin)
    assert names(w.client.get("/api/teams", params={"org_id": w.d1.id}, headers=h)) == ["A", "B"]
    assert names(w.client.get("/api/teams", params={"org_id": w.city.id}, headers=h)) == ["A", "B", "C"]
    assert names(w.client.get("/api/teams", params={"filter": f"org_id={w.d2.id}"}, headers=h)) == ["C"]
    assert names(w.client.get("/api/teams", params={"q": "b"}, headers=h)) == ["B"]
    assert names(w.client.get("/api/teams", params={"filter": f"leader_id={w.cleaners[0].id}"}, headers=h)) == ["A"]
    r = w.client.patch(f"/api/teams/{teams['B']['id']}", json={"status": "DISBANDED"}, headers=w.h(w.admin1))
    assert r.status_code == 200, r.text
    assert names(w.client.get("/api/teams", params={"status": "DISBANDED"}, headers=h)) == ["B"]
    assert names(w.client.get("/api/teams", params={"status": "active"}, headers=h)) == ["A", "C"]
    assert names(w.client.get("/api/teams", params={"filter": "status=ACTIVE"}, headers=h)) == ["A", "C"]


def test_q_matches_literally(world: World) -> None:
    w = world
    w.create_team("100%팀")
    w.create_team("100팀")
    assert names(w.client.get("/api/teams", params={"q": "0%"}, headers=w.h(w.admin1))) == ["100%팀"]


def test_org_filter_outside_scope_answers_404(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    for org_id in (w.d2.id, w.city.id, w.od.id, 999_999):
        r = w.client.get("/api/teams", params={"org_id": org_id}, headers=w.h(w.admin1))
        assert r.status_code == 404, org_id
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = w.client.get("/api/teams", params={"org_id": w.d2.id}, headers=w.h(w.cleaners[0]))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_workers_list_the_teams_they_belong_to(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    assert names(w.client.get("/api/teams", headers=w.h(w.cleaners[0]))) == ["A"]
    assert names(w.client.get("/api/teams", headers=w.h(w.cleaners[1]))) == ["A"]
    assert names(w.client.get("/api/teams", headers=w.h(w.cleaners[2]))) == ["B"]
    assert names(w.client.get("/api/teams", headers=w.h(w.cleaners[3]))) == []
    assert names(w.client.get("/api/teams", headers=w.h(w.cleaner_d2))) == ["C"]
    assert names(w.client.get("/api/teams", headers=w.h(w.investigator))) == []
    assert names(w.client.get("/api/teams", params={"org_id": w.d1.id}, headers=w.h(w.cleaners[0]))) == ["A"]


def test_worker_who_left_no_longer_lists_the_team(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    team_id = teams["A"]["id"]
    r = w.client.delete(f"/api/teams/{team_id}/members/{w.cleaners[1].id}", headers=w.h(w.admin1))
    assert r.status_code == 200, r.text
    assert names(w.client.get("/api/teams", headers=w.h(w.cleaners[1]))) == []
    r = w.client.get(f"/api/teams/{team_id}", headers=w.h(w.cleaners[1]))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_get_one_team(world: World, teams: dict[str, dict[str, Any]]) -> None:
    w = world
    a = teams["A"]
    for user in (w.admin1, w.city_admin, w.platform, w.cleaners[0], w.cleaners[1]):
        r = w.client.get(f"/api/teams/{a['id']}", headers=w.h(user))
        assert r.status_code == 200, (user.nickname, r.text)
        assert r.json()["data"] == a


@pytest.mark.parametrize("who", ["admin2", "other_admin", "cleaner2", "cleaner3", "investigator", "cleaner_d2"])
def test_teams_out_of_reach_answer_404(world: World, teams: dict[str, dict[str, Any]], who: str) -> None:
    w = world
    user = {
        "admin2": w.admin2,
        "other_admin": w.other_admin,
        "cleaner2": w.cleaners[2],
        "cleaner3": w.cleaners[3],
        "investigator": w.investigator,
        "cleaner_d2": w.cleaner_d2,
    }[who]
    team_id = teams["A"]["id"]
    for method, path in (
        ("GET", f"/api/teams/{team_id}"),
        ("GET", f"/api/teams/{team_id}/members"),
    ):
        r = w.client.request(method, path, headers=w.h(user))
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"] == "NOT_FOUND"
    listed = w.client.get("/api/teams", headers=w.h(user)).json()["data"]
    assert team_id not in [t["id"] for t in listed]


def test_unknown_and_bad_ids(world: World) -> None:
    w = world
    r = w.client.get("/api/teams/999999", headers=w.h(w.admin1))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    for bad in ("0", "abc", str(2**63)):
        r = w.client.get(f"/api/teams/{bad}", headers=w.h(w.admin1))
        assert r.status_code == 400, bad
        assert r.json()["error"]["details"][0]["field"] == "path.team_id"


def test_list_has_no_n_plus_one(world: World) -> None:
    w = world
    w.create_team("T0")
    h = w.h(w.admin1)
    with counting(w.client.app.state.runtime.engine) as one:
        assert w.client.get("/api/teams", headers=h).status_code == 200
    for i in range(1, 6):
        w.create_team(f"T{i}")
    with counting(w.client.app.state.runtime.engine) as six:
        r = w.client.get("/api/teams", headers=h)
    assert len(r.json()["data"]) == 6
    assert len(six) == len(one)

    team_id = r.json()["data"][0]["id"]
    with counting(w.client.app.state.runtime.engine) as few:
        assert len(w.members(team_id)) == 3
    extra = [w.cleaner(f"추가{i}") for i in range(5)]
    for user in extra:
        r = w.client.post(f"/api/teams/{team_id}/members", json={"user_id": user.id}, headers=h)
        assert r.status_code == 201
    with counting(w.client.app.state.runtime.engine) as many:
        assert len(w.members(team_id)) == 8
    assert len(many) == len(few)
