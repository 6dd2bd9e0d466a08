"""PATCH /api/jobs/{id}: assignment by workers or team, and the PATCH body rules."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from beachsaver.core.enums import Role
from beachsaver.reports.models import Report
from beachsaver.users.models import User
from tests.factories import make_user
from tests.jobs.conftest import World, assignees, code, fields, make_team


def test_assigning_investigators(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION", headcount=2)
    data = w.assign(job["id"], w.investigators[:2])
    assert data["status"] == "ASSIGNED"
    assert data["assignees"] == [
        {
            "user_id": w.investigators[0].id,
            "nickname": "조사0",
            "kind": "REGULAR",
            "status": "ASSIGNED",
            "position": 1,
            "reason": None,
        },
        {
            "user_id": w.investigators[1].id,
            "nickname": "조사1",
            "kind": "REGULAR",
            "status": "ASSIGNED",
            "position": 2,
            "reason": None,
        },
    ]
    assert data["volunteer_slots"] == 0

    entries = w.audit("JOB_ASSIGN")
    assert len(entries) == 1
    assert entries[0].target_id == job["id"]
    assert entries[0].actor_id == w.admin1.id
    assert entries[0].before == {"status": "OPEN", "assignee_ids": []}
    assert entries[0].after is not None
    assert entries[0].after["added_ids"] == [w.investigators[0].id, w.investigators[1].id]

    for user in w.investigators[:2]:
        notes = w.notifications(user, "JOB_ASSIGNED")
        assert len(notes) == 1
        assert notes[0].category == "ASSIGNMENT"
        assert notes[0].link == f"/app/jobs/{job['id']}"
    assert w.notifications(w.investigators[2]) == []


def test_assigning_more_keeps_earlier_places_and_is_idempotent(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION", headcount=3)
    w.assign(job["id"], [w.investigators[0]])
    data = w.assign(job["id"], [w.investigators[0], w.investigators[1]])
    people = assignees(data)
    assert set(people) == {w.investigators[0].id, w.investigators[1].id}
    assert people[w.investigators[0].id]["position"] == 1
    assert people[w.investigators[1].id]["position"] == 2
    again = w.assign(job["id"], [w.investigators[1]])
    assert again["assignees"] == data["assignees"]
    assert len(w.audit("JOB_ASSIGN")) == 2
    assert len(w.notifications(w.investigators[0], "JOB_ASSIGNED")) == 1


def test_verified_collectors_for_collection_jobs(world: World) -> None:
    w = world
    job = w.create_job("COLLECTION", headcount=1)
    data = w.assign(job["id"], [w.collector])
    assert assignees(data)[w.collector.id]["kind"] == "REGULAR"


@pytest.mark.parametrize(
    ("job_type", "who"),
    [
        ("INVESTIGATION", "cleaner"),
        ("INVESTIGATION", "collector"),
        ("CLEANING", "investigator"),
        ("CLEANING", "volunteer"),
        ("CLEANING", "collector"),
        ("COLLECTION", "unverified"),
        ("COLLECTION", "cleaner"),
        ("CLEANING", "suspended"),
        ("CLEANING", "admin"),
    ],
)
def test_assignee_must_have_the_right_role(world: World, job_type: str, who: str) -> None:
    w = world
    user = {
        "cleaner": w.cleaners[2],
        "collector": w.collector,
        "investigator": w.investigators[0],
        "volunteer": w.volunteers[0],
        "unverified": w.unverified,
        "suspended": w.suspended,
        "admin": w.admin1,
    }[who]
    valid = {"INVESTIGATION": w.investigators[0], "CLEANING": w.cleaners[2], "COLLECTION": w.collector}[job_type]
    job = w.create_job(job_type, headcount=3)
    r = w.patch(job["id"], {"assignee_ids": [valid.id, user.id]})
    assert r.status_code == 400, r.text
    assert code(r) == "VALIDATION_ERROR"
    assert fields(r) == ["assignee_ids[1]"]
    assert w.get(job["id"])["assignees"] == []
    assert w.get(job["id"])["status"] == "OPEN"


def test_worker_of_another_district_in_scope_is_refused(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION", by=w.city_admin)
    r = w.patch(job["id"], {"assignee_ids": [w.investigator_d2.id]}, by=w.city_admin)
    assert r.status_code == 400
    assert fields(r) == ["assignee_ids[0]"]


@pytest.mark.parametrize("who", ["investigator_d2", "missing"])
def test_assignee_outside_scope_answers_404(world: World, who: str) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    user_id = 999_999 if who == "missing" else getattr(w, who).id
    r = w.patch(job["id"], {"assignee_ids": [user_id]})
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


def test_listing_someone_twice_is_refused(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    inv = w.investigators[0].id
    r = w.patch(job["id"], {"assignee_ids": [inv, inv]})
    assert r.status_code == 400
    assert fields(r) == ["assignee_ids[1]"]


def test_more_assignees_than_headcount_answers_409(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION", headcount=2)
    r = w.patch(job["id"], {"assignee_ids": [u.id for u in w.investigators]})
    assert r.status_code == 409
    assert code(r) == "CONFLICT"
    w.assign(job["id"], w.investigators[:2])
    r = w.patch(job["id"], {"assignee_ids": [w.investigators[2].id]})
    assert r.status_code == 409
    assert code(r) == "CONFLICT"


def test_regular_places_reduce_the_default_volunteer_slots(world: World) -> None:
    w = world
    job = w.create_job(headcount=5)
    assert job["volunteer_slots"] == 5
    data = w.assign(job["id"], w.cleaners[2:4])
    assert data["volunteer_slots"] == 3


def test_an_explicit_volunteer_cap_holds_until_regulars_need_the_places(world: World) -> None:
    w = world
    job = w.create_job(headcount=5, volunteer_slots=2)
    data = w.assign(job["id"], [w.cleaners[2]])
    assert data["volunteer_slots"] == 2
    data = w.assign(job["id"], w.cleaners[2:5])
    assert data["volunteer_slots"] == 2
    extra = make_user(w.db, Role.CLEANER, w.d1)
    w.db.commit()
    data = w.assign(job["id"], [extra])
    assert data["volunteer_slots"] == 1


def test_regular_cleaners_join_the_jobs_team(world: World) -> None:
    w = world
    job = w.create_job(headcount=3)
    assert not w.active_member(w.team, w.cleaners[3])
    w.assign(job["id"], [w.cleaners[1], w.cleaners[3]])
    assert w.active_member(w.team, w.cleaners[3])
    adds = w.audit("TEAM_MEMBER_ADD")
    assert [(e.target_id, e.after and e.after["user_id"]) for e in adds] == [(w.team.id, w.cleaners[3].id)]


def test_assigning_the_team_takes_its_regular_members(world: World) -> None:
    w = world
    # A volunteer member of the team is not a regular place.
    from beachsaver.teams.models import TeamMembership

    w.db.add(TeamMembership(team_id=w.team.id, user_id=w.volunteers[0].id, role_in_team="MEMBER", status="ACTIVE"))
    w.db.commit()
    job = w.create_job(headcount=4)
    data = w.patch(job["id"], {"team_id": w.team.id})
    assert data.status_code == 200, data.text
    people = assignees(data.json()["data"])
    assert set(people) == {w.cleaners[0].id, w.cleaners[1].id}
    assert all(p["kind"] == "REGULAR" and p["status"] == "ASSIGNED" for p in people.values())
    assert data.json()["data"]["status"] == "ASSIGNED"
    assert data.json()["data"]["volunteer_slots"] == 2
    assert w.audit("JOB_ASSIGN")[0].after == {
        "status": "ASSIGNED",
        "added_ids": [w.cleaners[0].id, w.cleaners[1].id],
        "team_id": w.team.id,
    }


def test_team_assignment_rules(world: World) -> None:
    w = world
    job = w.create_job(headcount=4)
    other = make_team(w.db, w.d1, "해운대2팀", w.cleaners[2], [w.cleaners[3]])
    w.db.commit()
    r = w.patch(job["id"], {"team_id": other.id})
    assert r.status_code == 400
    assert fields(r) == ["team_id"]
    r = w.patch(job["id"], {"team_id": w.team_d2.id})
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"
    inv_job = w.create_job("INVESTIGATION")
    r = w.patch(inv_job["id"], {"team_id": w.team.id})
    assert r.status_code == 400
    assert fields(r) == ["team_id"]


def test_team_with_more_members_than_places_answers_409(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    r = w.patch(job["id"], {"team_id": w.team.id})
    assert r.status_code == 409
    assert code(r) == "CONFLICT"


def test_disbanded_team_cannot_be_assigned(world: World) -> None:
    w = world
    job = w.create_job(headcount=3)
    w.team.status = "DISBANDED"
    w.db.commit()
    r = w.patch(job["id"], {"assignee_ids": [w.cleaners[2].id]})
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


def test_full_team_refuses_a_new_member(world: World) -> None:
    w = world
    members = [make_user(w.db, Role.CLEANER, w.d1, nickname=f"팀원{i}") for i in range(18)]
    big = make_team(w.db, w.d1, "대형팀", w.cleaners[2], members)
    w.db.commit()
    job = w.create_job(headcount=3, team_id=big.id)
    r = w.patch(job["id"], {"assignee_ids": [w.cleaners[3].id]})
    assert r.status_code == 200, r.text
    r = w.patch(job["id"], {"assignee_ids": [w.cleaners[4].id]})
    assert r.status_code == 409
    assert code(r) == "CONFLICT"
    assert w.cleaners[4].id not in assignees(w.get(job["id"]))


# ---- claims of the investigation ----


def test_assigning_a_cleaning_job_claims_its_investigation(world: World) -> None:
    w = world
    report = w.investigation()
    job = w.create_job(investigation_report_id=report.id)
    w.assign(job["id"], [w.cleaners[2]])
    stored = w.db.get(Report, report.id, populate_existing=True)
    assert stored is not None
    assert stored.claimed_by_team_id == w.team.id
    assert [e.target_id for e in w.audit("REPORT_CLAIM")] == [report.id]


def test_investigation_claimed_by_another_team_in_the_meantime_answers_409(world: World) -> None:
    w = world
    report = w.investigation()
    job = w.create_job(investigation_report_id=report.id)
    rival = make_team(w.db, w.d1, "해운대2팀", w.cleaners[2], [])
    w.db.commit()
    stored = w.db.get(Report, report.id)
    assert stored is not None
    stored.claimed_by_team_id = rival.id
    w.db.commit()
    r = w.patch(job["id"], {"assignee_ids": [w.cleaners[3].id]})
    assert r.status_code == 409
    assert code(r) == "CONFLICT"
    assert w.get(job["id"])["assignees"] == []
    assert not w.active_member(w.team, w.cleaners[3])


# ---- who may patch ----


@pytest.mark.parametrize("who", ["investigator", "cleaner", "volunteer", "collector"])
def test_workers_cannot_patch(world: World, who: str) -> None:
    w = world
    user = {
        "investigator": w.investigators[0],
        "cleaner": w.cleaners[0],
        "volunteer": w.volunteers[0],
        "collector": w.collector,
    }[who]
    job = w.create_job("INVESTIGATION")
    r = w.patch(job["id"], {"assignee_ids": [w.investigators[0].id]}, by=user)
    assert r.status_code == 403
    assert code(r) == "FORBIDDEN"


@pytest.mark.parametrize("who", ["admin2", "other_admin"])
def test_admins_outside_scope_get_404(world: World, who: str) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    r = w.patch(job["id"], {"assignee_ids": [w.investigators[0].id]}, by=getattr(w, who))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"
    r = w.patch(999_999, {"assignee_ids": [w.investigators[0].id]})
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


def test_city_admin_assigns_in_its_subtree(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    data = w.assign(job["id"], [w.investigators[0]], by=w.city_admin)
    assert data["status"] == "ASSIGNED"


# ---- body rules ----


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ["body"]),
        ({"assignee_ids": []}, ["assignee_ids"]),
        ({"assignee_ids": [0]}, ["assignee_ids[0]"]),
        ({"assignee_ids": "7"}, ["assignee_ids"]),
        ({"assignee_ids": [1], "status": "CANCELLED", "reason": "x"}, ["reason", "status"]),
        ({"assignee_ids": [1], "team_id": 1}, ["team_id"]),
        ({"status": "CANCELLED"}, ["reason"]),
        ({"status": "CANCELLED", "reason": "   "}, ["reason"]),
        ({"status": "CANCELLED", "reason": "비", "assignee_id": 1}, ["assignee_id"]),
        ({"status": "NO_SHOW"}, ["assignee_id"]),
        ({"status": "FINISHED"}, ["status"]),
        ({"reason": "why"}, ["reason"]),
        ({"assignee_id": 3}, ["assignee_id"]),
        ({"headcount": 9}, ["headcount"]),
    ],
)
def test_bad_patch_bodies_are_named(world: World, body: dict[str, Any], expected: list[str]) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    r = w.patch(job["id"], body)
    assert r.status_code == 400, r.text
    assert code(r) == "VALIDATION_ERROR"
    assert sorted(fields(r)) == expected


@pytest.mark.parametrize("status", ["OPEN", "ASSIGNED", "IN_PROGRESS", "DONE", "done"])
def test_workflow_states_cannot_be_set_by_hand(world: World, status: str) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    r = w.patch(job["id"], {"status": status})
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"
    assert w.get(job["id"])["status"] == "OPEN"


def test_cancelled_or_done_jobs_cannot_be_assigned(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    r = w.patch(job["id"], {"status": "CANCELLED", "reason": "태풍"})
    assert r.status_code == 200
    r = w.patch(job["id"], {"assignee_ids": [w.investigators[0].id]})
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"

    done = w.create_job("INVESTIGATION")
    row = w.job_row(done["id"])
    row.status = "DONE"
    w.db.commit()
    r = w.patch(done["id"], {"assignee_ids": [w.investigators[0].id]})
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


def test_a_declined_worker_can_be_assigned_again(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION", headcount=1)
    w.assign(job["id"], [w.investigators[0]])
    assert w.decline(job["id"], w.investigators[0]).status_code == 200
    data = w.assign(job["id"], [w.investigators[0]])
    person = assignees(data)[w.investigators[0].id]
    assert person["status"] == "ASSIGNED"
    assert person["reason"] is None


def test_users_in_the_database_are_unchanged_by_a_refused_assignment(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION", headcount=1)
    w.patch(job["id"], {"assignee_ids": [w.investigators[0].id, w.investigators[1].id]})
    assert w.rows(job["id"]) == {}
    assert w.db.execute(select(User).where(User.id == w.investigators[0].id)).scalar_one().status == "ACTIVE"
