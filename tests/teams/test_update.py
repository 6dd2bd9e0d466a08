from __future__ import annotations

from typing import Any

import pytest

from beachsaver.teams import service as team_service
from tests.teams.conftest import World


@pytest.fixture
def team(world: World) -> dict[str, Any]:
    return world.create_team("해운대1팀", leader=world.cleaners[0], members=[world.cleaners[1], world.cleaners[2]])


def patch(w: World, team_id: int, body: dict[str, Any], by: Any = None) -> Any:
    return w.client.patch(f"/api/teams/{team_id}", json=body, headers=w.h(by or w.admin1))


def active(rows: list[dict[str, Any]]) -> dict[int, str]:
    return {m["user_id"]: m["role_in_team"] for m in rows if m["status"] == "ACTIVE"}


def test_rename(world: World, team: dict[str, Any]) -> None:
    w = world
    r = patch(w, team["id"], {"name": " 해운대A팀 "})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["name"] == "해운대A팀"
    assert data["member_count"] == 3
    assert data["updated_at"] >= team["updated_at"]
    entries = w.audit("TEAM_UPDATE")
    assert len(entries) == 1
    assert entries[0].before is not None and entries[0].before["name"] == "해운대1팀"
    assert entries[0].after is not None and entries[0].after["name"] == "해운대A팀"
    assert entries[0].target_id == team["id"] and entries[0].actor_id == w.admin1.id
    assert w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.admin1)).json()["data"]["name"] == "해운대A팀"


def test_same_name_is_a_no_op(world: World, team: dict[str, Any]) -> None:
    w = world
    r = patch(w, team["id"], {"name": "해운대1팀"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["name"] == "해운대1팀"
    r = patch(w, team["id"], {"status": "ACTIVE"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "ACTIVE"
    r = patch(w, team["id"], {})
    assert r.status_code == 200, r.text
    assert w.audit("TEAM_UPDATE") == []


def test_rename_to_a_taken_name_conflicts(world: World, team: dict[str, Any]) -> None:
    w = world
    w.create_team("해운대2팀", leader=w.cleaners[3], members=[])
    for name in ("해운대2팀", "해운대2팀 "):
        r = patch(w, team["id"], {"name": name})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "CONFLICT"
    # a team of another district may use it
    other = w.create_team("해운대1팀", leader=w.cleaner_d2, members=[], by=w.admin2)
    assert other["name"] == "해운대1팀"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"leader_id": None}, "leader_id"),
        ({"leader_id": 0}, "leader_id"),
        ({"status": None}, "status"),
        ({"status": "PAUSED"}, "status"),
        ({"org_id": 5}, "org_id"),
    ],
)
def test_bad_patch_bodies(world: World, team: dict[str, Any], body: dict[str, Any], field: str) -> None:
    w = world
    r = patch(w, team["id"], body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in r.json()["error"]["details"]] == [field]


def test_change_leader_to_an_existing_member(world: World, team: dict[str, Any]) -> None:
    w = world
    r = patch(w, team["id"], {"leader_id": w.cleaners[1].id})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["leader_id"] == w.cleaners[1].id
    assert data["member_count"] == 3
    rows = w.members(team["id"])
    assert active(rows) == {w.cleaners[0].id: "MEMBER", w.cleaners[1].id: "LEADER", w.cleaners[2].id: "MEMBER"}
    # history: the earlier rows of both are closed
    closed = [(m["user_id"], m["role_in_team"]) for m in rows if m["status"] == "LEFT"]
    assert sorted(closed) == sorted([(w.cleaners[0].id, "LEADER"), (w.cleaners[1].id, "MEMBER")])
    assert all(m["left_at"] is not None for m in rows if m["status"] == "LEFT")
    entry = w.audit("TEAM_UPDATE")[-1]
    assert entry.before is not None and entry.before["leader_id"] == w.cleaners[0].id
    assert entry.after is not None and entry.after["leader_id"] == w.cleaners[1].id


def test_change_leader_to_a_newcomer_adds_them(world: World, team: dict[str, Any]) -> None:
    w = world
    r = patch(w, team["id"], {"leader_id": w.cleaners[3].id, "name": "새팀"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["leader_id"] == w.cleaners[3].id
    assert r.json()["data"]["name"] == "새팀"
    assert r.json()["data"]["member_count"] == 4
    assert active(w.members(team["id"])) == {
        w.cleaners[0].id: "MEMBER",
        w.cleaners[1].id: "MEMBER",
        w.cleaners[2].id: "MEMBER",
        w.cleaners[3].id: "LEADER",
    }
    # the new leader now sees and leads the team
    r = w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.cleaners[3]))
    assert r.status_code == 200


def test_new_leader_must_be_eligible(world: World, team: dict[str, Any]) -> None:
    w = world
    for user in (w.investigator, w.collector, w.suspended):
        r = patch(w, team["id"], {"leader_id": user.id})
        assert r.status_code == 400, user.nickname
        assert r.json()["error"]["code"] == "VALIDATION_ERROR"
        assert r.json()["error"]["details"][0]["field"] == "leader_id"
    r = patch(w, team["id"], {"leader_id": w.cleaner_d2.id}, by=w.city_admin)
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "leader_id"
    for user_id in (w.cleaner_d2.id, w.cleaner_od.id, 999_999):
        r = patch(w, team["id"], {"leader_id": user_id})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"
    assert w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.admin1)).json()["data"]["leader_id"] == (
        w.cleaners[0].id
    )


def test_new_leader_cannot_overfill_a_full_team(world: World) -> None:
    w = world
    extra = [w.cleaner(f"추가{i}") for i in range(17)]
    team = w.create_team("만원", leader=w.cleaners[0], members=[*w.cleaners[1:3], *extra])
    assert team["member_count"] == 20
    r = patch(w, team["id"], {"leader_id": w.cleaners[3].id})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    # promoting someone already in the team is fine
    r = patch(w, team["id"], {"leader_id": extra[0].id})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["member_count"] == 20


def test_disband(world: World, team: dict[str, Any]) -> None:
    w = world
    r = patch(w, team["id"], {"status": "disbanded"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "DISBANDED"
    assert data["disbanded_at"] is not None and data["disbanded_at"].endswith("Z")
    assert data["member_count"] == 0
    assert data["leader_id"] == w.cleaners[0].id
    rows = w.members(team["id"])
    assert len(rows) == 3
    assert all(m["status"] == "LEFT" and m["left_at"] is not None for m in rows)
    entries = w.audit("TEAM_DISBAND")
    assert len(entries) == 1
    assert entries[0].target_id == team["id"] and entries[0].org_id == w.d1.id
    assert entries[0].before is not None and entries[0].before["status"] == "ACTIVE"
    assert entries[0].after is not None and entries[0].after["status"] == "DISBANDED"
    # former members no longer see it; admins still do
    assert w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.cleaners[0])).status_code == 404
    assert w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.admin1)).status_code == 200


def test_disbanded_team_cannot_change(world: World, team: dict[str, Any]) -> None:
    w = world
    assert patch(w, team["id"], {"status": "DISBANDED"}).status_code == 200
    for body in ({"status": "DISBANDED"}, {"status": "ACTIVE"}, {"name": "다시"}, {"leader_id": w.cleaners[1].id}):
        r = patch(w, team["id"], body)
        assert r.status_code == 409, body
        assert r.json()["error"]["code"] == "INVALID_STATE"
    r = w.client.post(f"/api/teams/{team['id']}/members", json={"user_id": w.cleaners[3].id}, headers=w.h(w.admin1))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "INVALID_STATE"
    r = w.client.delete(f"/api/teams/{team['id']}/members/{w.cleaners[1].id}", headers=w.h(w.admin1))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "INVALID_STATE"
    # the name stays taken in the district
    r = w.client.post(
        "/api/teams",
        json={"name": "해운대1팀", "org_id": w.d1.id, "leader_id": w.cleaners[3].id, "member_ids": []},
        headers=w.h(w.admin1),
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"


def test_disband_refused_while_a_draft_cleaning_report_exists(
    world: World, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    assert team_service.has_draft_cleaning_report(w.db, team["id"]) is False
    w.db.commit()  # end the read transaction (it holds the SQLite write lock); commit keeps objects loaded
    seen: list[int] = []

    def has_draft(db: Any, team_id: int) -> bool:
        seen.append(team_id)
        return True

    monkeypatch.setattr(team_service, "has_draft_cleaning_report", has_draft)
    r = patch(w, team["id"], {"status": "DISBANDED"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    assert seen == [team["id"]]
    r = w.client.get(f"/api/teams/{team['id']}", headers=w.h(w.admin1))
    assert r.json()["data"]["status"] == "ACTIVE"
    assert r.json()["data"]["member_count"] == 3
    assert w.audit("TEAM_DISBAND") == []


def test_higher_tier_admin_may_patch(world: World, team: dict[str, Any]) -> None:
    w = world
    r = patch(w, team["id"], {"name": "시에서 바꿈"}, by=w.city_admin)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("who", ["admin2", "other_admin"])
def test_admins_out_of_scope_get_404(world: World, team: dict[str, Any], who: str) -> None:
    w = world
    r = patch(w, team["id"], {"name": "x"}, by=getattr(w, who))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    r = patch(w, 999_999, {"name": "x"})
    assert r.status_code == 404


@pytest.mark.parametrize("who", ["leader", "member", "outsider", "investigator"])
def test_workers_cannot_patch(world: World, team: dict[str, Any], who: str) -> None:
    w = world
    user = {
        "leader": w.cleaners[0],
        "member": w.cleaners[1],
        "outsider": w.cleaners[3],
        "investigator": w.investigator,
    }[who]
    r = patch(w, team["id"], {"name": "x"}, by=user)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"
