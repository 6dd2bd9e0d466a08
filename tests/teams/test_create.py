from __future__ import annotations

from typing import Any

import pytest

from tests.teams.conftest import World


def body(w: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "해운대1팀",
        "org_id": w.d1.id,
        "leader_id": w.cleaners[0].id,
        "member_ids": [w.cleaners[1].id, w.cleaners[2].id],
    }
    data.update(overrides)
    return data


def fields(response: Any) -> list[str]:
    return [d["field"] for d in response.json()["error"]["details"]]


def test_district_admin_creates_team(world: World) -> None:
    w = world
    r = w.client.post("/api/teams", json=body(w), headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    payload = r.json()
    assert payload["success"] is True and payload["error"] is None
    data = payload["data"]
    assert data["id"] > 0
    assert data["org_id"] == w.d1.id
    assert data["name"] == "해운대1팀"
    assert data["status"] == "ACTIVE"
    assert data["leader_id"] == w.cleaners[0].id
    assert data["member_count"] == 3
    assert data["created_at"].endswith("Z") and data["updated_at"].endswith("Z")
    assert data["disbanded_at"] is None

    members = w.members(data["id"])
    assert {(m["user_id"], m["role_in_team"], m["status"]) for m in members} == {
        (w.cleaners[0].id, "LEADER", "ACTIVE"),
        (w.cleaners[1].id, "MEMBER", "ACTIVE"),
        (w.cleaners[2].id, "MEMBER", "ACTIVE"),
    }
    assert all(m["left_at"] is None and m["joined_at"].endswith("Z") for m in members)
    assert {m["nickname"] for m in members} == {"청소0", "청소1", "청소2"}

    entries = w.audit("TEAM_CREATE")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_id == w.admin1.id
    assert entry.target_type == "TEAM" and entry.target_id == data["id"] and entry.org_id == w.d1.id
    assert entry.after is not None and entry.after["name"] == "해운대1팀"
    assert sorted(entry.after["member_ids"]) == sorted(c.id for c in w.cleaners[:3])


def test_leader_alone_and_leader_listed_in_member_ids_count_once(world: World) -> None:
    w = world
    alone = w.client.post("/api/teams", json=body(w, name="A", member_ids=[]), headers=w.h(w.admin1))
    assert alone.status_code == 201, alone.text
    assert alone.json()["data"]["member_count"] == 1
    omitted = {k: v for k, v in body(w, name="B").items() if k != "member_ids"}
    r = w.client.post("/api/teams", json=omitted, headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["member_count"] == 1
    listed = w.client.post(
        "/api/teams",
        json=body(w, name="C", member_ids=[w.cleaners[0].id, w.cleaners[1].id]),
        headers=w.h(w.admin1),
    )
    assert listed.status_code == 201, listed.text
    assert listed.json()["data"]["member_count"] == 2
    rows = w.members(listed.json()["data"]["id"])
    assert sorted((m["user_id"], m["role_in_team"]) for m in rows) == sorted(
        [(w.cleaners[0].id, "LEADER"), (w.cleaners[1].id, "MEMBER")]
    )


def test_cleaner_may_be_active_in_several_teams(world: World) -> None:
    w = world
    w.create_team("A")
    w.create_team("B")
    r = w.client.get("/api/teams", headers=w.h(w.cleaners[1]))
    assert r.status_code == 200
    assert sorted(t["name"] for t in r.json()["data"]) == ["A", "B"]


def test_higher_tier_admins_create_for_a_district_in_scope(world: World) -> None:
    w = world
    r = w.client.post("/api/teams", json=body(w, name="시팀"), headers=w.h(w.city_admin))
    assert r.status_code == 201, r.text
    r = w.client.post("/api/teams", json=body(w, name="플랫폼팀"), headers=w.h(w.platform))
    assert r.status_code == 201, r.text


def test_twenty_members_allowed_twentyone_refused(world: World) -> None:
    w = world
    extra = [w.cleaner(f"추가{i}") for i in range(17)]
    nineteen = [c.id for c in w.cleaners[1:]] + [c.id for c in extra[:16]]
    assert len(nineteen) == 19
    r = w.client.post("/api/teams", json=body(w, name="만원", member_ids=nineteen), headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["member_count"] == 20

    twenty = [*nineteen, extra[16].id]
    r = w.client.post("/api/teams", json=body(w, name="초과", member_ids=twenty), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == ["member_ids"]

    twentyone = [w.cleaners[0].id, *twenty]
    r = w.client.post("/api/teams", json=body(w, name="초과2", member_ids=twentyone), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == ["member_ids"]


def test_duplicate_member_ids_are_refused(world: World) -> None:
    w = world
    r = w.client.post(
        "/api/teams",
        json=body(w, member_ids=[w.cleaners[1].id, w.cleaners[1].id]),
        headers=w.h(w.admin1),
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == ["member_ids[1]"]


def test_missing_and_bad_fields_are_named(world: World) -> None:
    w = world
    r = w.client.post("/api/teams", json={}, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert set(fields(r)) == {"name", "org_id", "leader_id"}

    r = w.client.post(
        "/api/teams",
        json=body(w, name="   ", org_id=0, leader_id="x", member_ids=[-1], colour="red"),
        headers=w.h(w.admin1),
    )
    assert r.status_code == 400
    assert set(fields(r)) == {"name", "org_id", "leader_id", "member_ids[0]", "colour"}

    r = w.client.post("/api/teams", json=body(w, name="x" * 101), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["name"]

    r = w.client.post("/api/teams", json=body(w, org_id=2**63), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["org_id"]

    r = w.client.post("/api/teams", content=b"{", headers={**w.h(w.admin1), "content-type": "application/json"})
    assert r.status_code == 400
    assert fields(r) == ["body"]


def test_organisation_must_be_a_district_in_scope(world: World) -> None:
    w = world
    r = w.client.post("/api/teams", json=body(w, org_id=w.city.id), headers=w.h(w.city_admin))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == ["org_id"]
    for org_id in (w.d2.id, w.od.id, w.city.id, 999_999):
        r = w.client.post("/api/teams", json=body(w, org_id=org_id), headers=w.h(w.admin1))
        assert r.status_code == 404, org_id
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = w.client.post("/api/teams", json=body(w, org_id=w.od.id), headers=w.h(w.city_admin))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("who", ["investigator", "collector", "suspended_leader", "cleaner_d2"])
def test_leader_must_be_active_cleaner_of_the_district(world: World, who: str) -> None:
    w = world
    leader = {
        "investigator": w.investigator,
        "collector": w.collector,
        "suspended_leader": w.suspended,
        "cleaner_d2": w.cleaner_d2,
    }[who]
    # the city admin sees d2, so a d2 cleaner is a visible but ineligible leader for a d1 team
    r = w.client.post("/api/teams", json=body(w, leader_id=leader.id), headers=w.h(w.city_admin))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(r) == ["leader_id"]


def test_admin_cannot_be_a_member(world: World) -> None:
    w = world
    r = w.client.post("/api/teams", json=body(w, member_ids=[w.admin1.id]), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["member_ids[0]"]


def test_every_ineligible_member_is_listed(world: World) -> None:
    w = world
    r = w.client.post(
        "/api/teams",
        json=body(w, member_ids=[w.cleaners[1].id, w.suspended.id, w.investigator.id, w.cleaner_d2.id]),
        headers=w.h(w.city_admin),
    )
    assert r.status_code == 400
    assert fields(r) == ["member_ids[1]", "member_ids[2]", "member_ids[3]"]


def test_users_outside_scope_answer_404(world: World) -> None:
    w = world
    for leader_id in (w.cleaner_d2.id, w.cleaner_od.id, 999_999):
        r = w.client.post("/api/teams", json=body(w, leader_id=leader_id), headers=w.h(w.admin1))
        assert r.status_code == 404, leader_id
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = w.client.post("/api/teams", json=body(w, member_ids=[w.cleaner_od.id]), headers=w.h(w.city_admin))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_names_are_unique_per_organisation(world: World) -> None:
    w = world
    w.create_team("해운대1팀")
    r = w.client.post("/api/teams", json=body(w, name="해운대1팀"), headers=w.h(w.admin1))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    r = w.client.post("/api/teams", json=body(w, name="  해운대1팀 "), headers=w.h(w.admin1))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    w.create_team("Alpha")
    r = w.client.post("/api/teams", json=body(w, name="ALPHA"), headers=w.h(w.admin1))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    # the same name in another district is fine
    r = w.client.post(
        "/api/teams",
        json={"name": "해운대1팀", "org_id": w.d2.id, "leader_id": w.cleaner_d2.id, "member_ids": []},
        headers=w.h(w.admin2),
    )
    assert r.status_code == 201, r.text
    assert len(w.audit("TEAM_CREATE")) == 3


@pytest.mark.parametrize("who", ["cleaner", "investigator", "collector"])
def test_workers_cannot_create_teams(world: World, who: str) -> None:
    w = world
    user = {"cleaner": w.cleaners[0], "investigator": w.investigator, "collector": w.collector}[who]
    r = w.client.post("/api/teams", json=body(w), headers=w.h(user))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"


def test_unauthenticated_answers_401(world: World) -> None:
    w = world
    assert w.client.post("/api/teams", json=body(w)).status_code == 401
    r = w.client.get("/api/teams")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHENTICATED"


def test_non_json_body_answers_415(world: World) -> None:
    w = world
    r = w.client.post("/api/teams", content=b"name=x", headers={**w.h(w.admin1), "content-type": "text/plain"})
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
