from __future__ import annotations

from typing import Any

import pytest

from tests.teams.conftest import World


@pytest.fixture
def team(world: World) -> dict[str, Any]:
    return world.create_team("해운대1팀", leader=world.cleaners[0], members=[world.cleaners[1]])


def add(w: World, team_id: int, body: dict[str, Any], by: Any = None) -> Any:
    return w.client.post(f"/api/teams/{team_id}/members", json=body, headers=w.h(by or w.admin1))


def remove(w: World, team_id: int, user_id: int, by: Any = None) -> Any:
    return w.client.delete(f"/api/teams/{team_id}/members/{user_id}", headers=w.h(by or w.admin1))


def active(rows: list[dict[str, Any]]) -> dict[int, str]:
    return {m["user_id"]: m["role_in_team"] for m in rows if m["status"] == "ACTIVE"}


def count(w: World, team_id: int) -> int:
    n: int = w.client.get(f"/api/teams/{team_id}", headers=w.h(w.admin1)).json()["data"]["member_count"]
    return n


# ---- reading --------------------------------------------------------------------------------------


def test_members_may_read_members(world: World, team: dict[str, Any]) -> None:
    w = world
    for user in (w.cleaners[0], w.cleaners[1], w.admin1, w.city_admin):
        r = w.client.get(f"/api/teams/{team['id']}/members", headers=w.h(user))
        assert r.status_code == 200, r.text
        payload = r.json()
        assert payload["meta"]["total"] == 2
        assert {(m["user_id"], m["nickname"], m["role_in_team"], m["status"]) for m in payload["data"]} == {
            (w.cleaners[0].id, "청소0", "LEADER", "ACTIVE"),
            (w.cleaners[1].id, "청소1", "MEMBER", "ACTIVE"),
        }
        row = payload["data"][0]
        assert set(row) == {"id", "user_id", "nickname", "role_in_team", "status", "joined_at", "left_at"}


def test_member_history_and_status_filter(world: World, team: dict[str, Any]) -> None:
    w = world
    assert remove(w, team["id"], w.cleaners[1].id).status_code == 200
    assert add(w, team["id"], {"user_id": w.cleaners[1].id}).status_code == 201
    rows = w.members(team["id"])
    mine = [m for m in rows if m["user_id"] == w.cleaners[1].id]
    assert sorted(m["status"] for m in mine) == ["ACTIVE", "LEFT"]
    left = next(m for m in mine if m["status"] == "LEFT")
    assert left["left_at"] is not None and left["left_at"] >= left["joined_at"]
    assert len(w.members(team["id"], status="LEFT")) == 1
    assert len(w.members(team["id"], status="active")) == 2
    assert len(w.members(team["id"], filter="status=LEFT")) == 1
    assert len(w.members(team["id"], filter=f"user_id={w.cleaners[1].id}")) == 2
    r = w.client.get(f"/api/teams/{team['id']}/members", params={"sort": "nickname,asc"}, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "query.sort"
    r = w.client.get(f"/api/teams/{team['id']}/members", params={"status": "GONE"}, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "query.status"


# ---- adding ------------------------------------------------------------------------------------


def test_admin_adds_a_member(world: World, team: dict[str, Any]) -> None:
    w = world
    r = add(w, team["id"], {"user_id": w.cleaners[2].id, "role_in_team": "member"})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["user_id"] == w.cleaners[2].id
    assert data["nickname"] == "청소2"
    assert data["role_in_team"] == "MEMBER" and data["status"] == "ACTIVE" and data["left_at"] is None
    assert count(w, team["id"]) == 3
    entries = w.audit("TEAM_MEMBER_ADD")
    assert len(entries) == 1
    assert entries[0].target_id == team["id"] and entries[0].actor_id == w.admin1.id
    assert entries[0].after is not None and entries[0].after["user_id"] == w.cleaners[2].id
    # the new member sees the team now
    assert w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.cleaners[2])).status_code == 200


def test_role_defaults_to_member(world: World, team: dict[str, Any]) -> None:
    w = world
    r = add(w, team["id"], {"user_id": w.cleaners[2].id})
    assert r.status_code == 201, r.text
    assert r.json()["data"]["role_in_team"] == "MEMBER"


def test_leader_adds_a_member(world: World, team: dict[str, Any]) -> None:
    w = world
    r = add(w, team["id"], {"user_id": w.cleaners[2].id}, by=w.cleaners[0])
    assert r.status_code == 201, r.text
    assert w.audit("TEAM_MEMBER_ADD")[0].actor_id == w.cleaners[0].id


def test_adding_a_leader_demotes_the_old_one(world: World, team: dict[str, Any]) -> None:
    w = world
    r = add(w, team["id"], {"user_id": w.cleaners[2].id, "role_in_team": "LEADER"})
    assert r.status_code == 201, r.text
    assert r.json()["data"]["role_in_team"] == "LEADER"
    t = w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.admin1)).json()["data"]
    assert t["leader_id"] == w.cleaners[2].id
    assert t["member_count"] == 3
    rows = w.members(team["id"])
    assert active(rows) == {w.cleaners[0].id: "MEMBER", w.cleaners[1].id: "MEMBER", w.cleaners[2].id: "LEADER"}
    assert [(m["user_id"], m["role_in_team"]) for m in rows if m["status"] == "LEFT"] == [(w.cleaners[0].id, "LEADER")]
    # the old leader lost the leader's powers, the new one has them
    r = add(w, team["id"], {"user_id": w.cleaners[3].id}, by=w.cleaners[0])
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
    r = add(w, team["id"], {"user_id": w.cleaners[3].id}, by=w.cleaners[2])
    assert r.status_code == 201, r.text


def test_leader_may_hand_over_leadership(world: World, team: dict[str, Any]) -> None:
    w = world
    r = add(w, team["id"], {"user_id": w.cleaners[2].id, "role_in_team": "LEADER"}, by=w.cleaners[0])
    assert r.status_code == 201, r.text
    assert w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.admin1)).json()["data"]["leader_id"] == (
        w.cleaners[2].id
    )


def test_already_active_member_conflicts(world: World, team: dict[str, Any]) -> None:
    w = world
    for user, role in ((w.cleaners[1], "MEMBER"), (w.cleaners[1], "LEADER"), (w.cleaners[0], "MEMBER")):
        r = add(w, team["id"], {"user_id": user.id, "role_in_team": role})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "CONFLICT"
    assert count(w, team["id"]) == 2


def test_team_of_twenty_is_full(world: World) -> None:
    w = world
    extra = [w.cleaner(f"추가{i}") for i in range(17)]
    team = w.create_team("만원", leader=w.cleaners[0], members=[*w.cleaners[1:3], *extra[:16]])
    assert team["member_count"] == 19
    assert add(w, team["id"], {"user_id": extra[16].id}).status_code == 201
    assert count(w, team["id"]) == 20
    for role in ("MEMBER", "LEADER"):
        r = add(w, team["id"], {"user_id": w.cleaners[3].id, "role_in_team": role})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "CONFLICT"
    assert count(w, team["id"]) == 20
    # one leaves, one may join
    assert remove(w, team["id"], extra[0].id).status_code == 200
    assert add(w, team["id"], {"user_id": w.cleaners[3].id}).status_code == 201


def test_new_member_must_be_an_active_cleaner_of_the_district(world: World, team: dict[str, Any]) -> None:
    w = world
    for user in (w.investigator, w.collector, w.suspended, w.admin1):
        r = add(w, team["id"], {"user_id": user.id})
        assert r.status_code == 400, user.nickname
        assert r.json()["error"]["code"] == "VALIDATION_ERROR"
        assert [d["field"] for d in r.json()["error"]["details"]] == ["user_id"]
    r = add(w, team["id"], {"user_id": w.cleaner_d2.id}, by=w.city_admin)
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["error"]["details"]] == ["user_id"]
    assert count(w, team["id"]) == 2


def test_new_member_out_of_reach_answers_404(world: World, team: dict[str, Any]) -> None:
    w = world
    for by in (w.admin1, w.cleaners[0]):
        for user_id in (w.cleaner_d2.id, w.cleaner_od.id, 999_999):
            r = add(w, team["id"], {"user_id": user_id}, by=by)
            assert r.status_code == 404, (by.nickname, user_id)
            assert r.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["user_id"]),
        ({"user_id": "x"}, ["user_id"]),
        ({"user_id": -3}, ["user_id"]),
        ({"user_id": 5, "role_in_team": "CAPTAIN"}, ["role_in_team"]),
        ({"user_id": 5, "team_id": 1}, ["team_id"]),
    ],
)
def test_bad_member_bodies(world: World, team: dict[str, Any], body: dict[str, Any], fields: list[str]) -> None:
    w = world
    r = add(w, team["id"], body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in r.json()["error"]["details"]] == fields


def test_who_may_add_members(world: World, team: dict[str, Any]) -> None:
    w = world
    body = {"user_id": w.cleaners[2].id}
    # a member who does not lead: sees the team, may not change it
    r = add(w, team["id"], body, by=w.cleaners[1])
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
    # a cleaner outside the team does not see it
    r = add(w, team["id"], body, by=w.cleaners[3])
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    # roles that can never lead a team
    for user in (w.investigator, w.collector):
        r = add(w, team["id"], body, by=user)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "FORBIDDEN"
    # admins out of scope
    for user in (w.admin2, w.other_admin):
        r = add(w, team["id"], body, by=user)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = add(w, 999_999, body)
    assert r.status_code == 404
    assert count(w, team["id"]) == 2
    assert w.audit("TEAM_MEMBER_ADD") == []


# ---- removing ----------------------------------------------------------------------------------


def test_admin_removes_a_member(world: World, team: dict[str, Any]) -> None:
    w = world
    r = remove(w, team["id"], w.cleaners[1].id)
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "data": None, "error": None, "meta": None}
    assert count(w, team["id"]) == 1
    rows = w.members(team["id"])
    row = next(m for m in rows if m["user_id"] == w.cleaners[1].id)
    assert row["status"] == "LEFT" and row["left_at"] is not None
    entries = w.audit("TEAM_MEMBER_REMOVE")
    assert len(entries) == 1
    assert entries[0].target_id == team["id"] and entries[0].org_id == w.d1.id
    assert entries[0].after == {"user_id": w.cleaners[1].id, "status": "LEFT"}
    # once gone: 404
    r = remove(w, team["id"], w.cleaners[1].id)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_leader_removes_a_member(world: World, team: dict[str, Any]) -> None:
    w = world
    r = remove(w, team["id"], w.cleaners[1].id, by=w.cleaners[0])
    assert r.status_code == 200, r.text
    assert count(w, team["id"]) == 1


def test_leader_cannot_be_removed_until_replaced(world: World, team: dict[str, Any]) -> None:
    w = world
    for by in (w.admin1, w.cleaners[0]):
        r = remove(w, team["id"], w.cleaners[0].id, by=by)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "CONFLICT"
    assert count(w, team["id"]) == 2
    r = w.client.patch(f"/api/teams/{team['id']}", json={"leader_id": w.cleaners[1].id}, headers=w.h(w.admin1))
    assert r.status_code == 200, r.text
    r = remove(w, team["id"], w.cleaners[0].id)
    assert r.status_code == 200, r.text
    assert active(w.members(team["id"])) == {w.cleaners[1].id: "LEADER"}


def test_removing_a_non_member_answers_404(world: World, team: dict[str, Any]) -> None:
    w = world
    for user_id in (w.cleaners[3].id, w.cleaner_od.id, 999_999):
        r = remove(w, team["id"], user_id)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = w.client.delete(f"/api/teams/{team['id']}/members/0", headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "path.user_id"


def test_who_may_remove_members(world: World, team: dict[str, Any]) -> None:
    w = world
    target = w.cleaners[1].id
    r = remove(w, team["id"], target, by=w.cleaners[1])
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
    r = remove(w, team["id"], target, by=w.cleaners[3])
    assert r.status_code == 404
    for user in (w.investigator, w.collector):
        r = remove(w, team["id"], target, by=user)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "FORBIDDEN"
    for user in (w.admin2, w.other_admin):
        r = remove(w, team["id"], target, by=user)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"
    assert count(w, team["id"]) == 2
    assert w.audit("TEAM_MEMBER_REMOVE") == []
    assert remove(w, team["id"], target, by=w.city_admin).status_code == 200
