"""POST /api/jobs: who may create, what is validated, what is stored and audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from beachsaver.core.time import seoul_today
from tests.jobs.conftest import World, code, fields, in_days, make_team


def test_district_admin_creates_a_cleaning_job(world: World) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body("CLEANING", headcount=4), headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True
    job = body["data"]
    assert job["type"] == "CLEANING"
    assert job["org_id"] == w.d1.id
    assert job["beach_id"] == w.beach.id
    assert job["area_names"] == ["A구역", "B구역"]
    assert job["date"] == in_days(3)
    assert job["headcount"] == 4
    assert job["volunteer_slots"] == 4
    assert job["status"] == "OPEN"
    assert job["investigation_report_id"] is None
    assert job["team_id"] == w.team.id
    assert job["assignees"] == []
    assert job["created_by"] == w.admin1.id
    assert job["cancel_reason"] is None
    assert job["created_at"].endswith("Z") and job["updated_at"].endswith("Z")
    assert isinstance(job["id"], int) and job["id"] > 0

    entries = w.audit("JOB_CREATE")
    assert len(entries) == 1
    assert entries[0].target_type == "JOB"
    assert entries[0].target_id == job["id"]
    assert entries[0].actor_id == w.admin1.id
    assert entries[0].org_id == w.d1.id
    assert entries[0].after is not None and entries[0].after["headcount"] == 4


@pytest.mark.parametrize("job_type", ["INVESTIGATION", "COLLECTION", "investigation", "Collection"])
def test_other_types_need_no_team_and_accept_any_case(world: World, job_type: str) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body(job_type, headcount=2), headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["type"] == job_type.upper()
    assert r.json()["data"]["team_id"] is None
    assert r.json()["data"]["volunteer_slots"] == 2


def test_defaults_area_names_and_explicit_volunteer_slots(world: World) -> None:
    w = world
    body = w.body("CLEANING", headcount=5, volunteer_slots=2)
    del body["area_names"]
    r = w.client.post("/api/jobs", json=body, headers=w.h(w.admin1))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["area_names"] == []
    assert r.json()["data"]["volunteer_slots"] == 2


def test_today_is_allowed(world: World) -> None:
    w = world
    job = w.create_job(date=seoul_today().isoformat())
    assert job["date"] == seoul_today().isoformat()


@pytest.mark.parametrize("who", ["city_admin", "platform"])
def test_higher_tiers_create_in_their_subtree(world: World, who: str) -> None:
    w = world
    job = w.create_job(by=getattr(w, who))
    assert job["org_id"] == w.d1.id
    assert job["created_by"] == getattr(w, who).id


@pytest.mark.parametrize("who", ["admin2", "other_admin"])
def test_beach_outside_scope_answers_404(world: World, who: str) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body("INVESTIGATION"), headers=w.h(getattr(w, who)))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


def test_unknown_beach_answers_404(world: World) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body("INVESTIGATION", beach_id=999_999), headers=w.h(w.admin1))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


@pytest.mark.parametrize("who", ["investigator", "cleaner", "volunteer", "collector"])
def test_workers_cannot_create_jobs(world: World, who: str) -> None:
    w = world
    user = {
        "investigator": w.investigators[0],
        "cleaner": w.cleaners[0],
        "volunteer": w.volunteers[0],
        "collector": w.collector,
    }[who]
    r = w.client.post("/api/jobs", json=w.body("INVESTIGATION"), headers=w.h(user))
    assert r.status_code == 403
    assert code(r) == "FORBIDDEN"


def test_unauthenticated_answers_401(world: World) -> None:
    r = world.client.post("/api/jobs", json=world.body())
    assert r.status_code == 401
    assert code(r) == "UNAUTHENTICATED"


def test_non_json_body_answers_415(world: World) -> None:
    w = world
    r = w.client.post("/api/jobs", content=b"type=CLEANING", headers={**w.h(w.admin1), "Content-Type": "text/plain"})
    assert r.status_code == 415
    assert code(r) == "UNSUPPORTED_MEDIA_TYPE"


def test_missing_fields_are_all_named(world: World) -> None:
    w = world
    r = w.client.post("/api/jobs", json={}, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert code(r) == "VALIDATION_ERROR"
    assert set(fields(r)) == {"type", "beach_id", "date", "headcount"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"headcount": 0}, "headcount"),
        ({"headcount": -1}, "headcount"),
        ({"headcount": 1001}, "headcount"),
        ({"headcount": "many"}, "headcount"),
        ({"type": "SWEEPING"}, "type"),
        ({"date": "2030/01/01"}, "date"),
        ({"date": "2030-02-30"}, "date"),
        ({"date": "2030-01-01T00:00:00"}, "date"),
        ({"date": 1_900_000_000}, "date"),
        ({"beach_id": 0}, "beach_id"),
        ({"beach_id": 2**63}, "beach_id"),
        ({"area_names": [""]}, "area_names[0]"),
        ({"area_names": ["x" * 101]}, "area_names[0]"),
        ({"volunteer_slots": -1}, "volunteer_slots"),
        ({"investigation_report_id": 0}, "investigation_report_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_values_are_named(world: World, overrides: dict[str, Any], field: str) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body("CLEANING", **overrides), headers=w.h(w.admin1))
    assert r.status_code == 400, r.text
    assert code(r) == "VALIDATION_ERROR"
    assert field in fields(r)


def test_date_in_the_past_is_refused(world: World) -> None:
    w = world
    yesterday = (seoul_today() - timedelta(days=1)).isoformat()
    r = w.client.post("/api/jobs", json=w.body("CLEANING", date=yesterday), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert code(r) == "VALIDATION_ERROR"
    assert fields(r) == ["date"]


def test_volunteer_slots_cannot_exceed_headcount(world: World) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body("CLEANING", headcount=2, volunteer_slots=3), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["volunteer_slots"]


def test_cleaning_job_requires_a_team(world: World) -> None:
    w = world
    body = w.body("CLEANING")
    del body["team_id"]
    r = w.client.post("/api/jobs", json=body, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["team_id"]


@pytest.mark.parametrize("job_type", ["INVESTIGATION", "COLLECTION"])
def test_only_cleaning_jobs_take_a_team(world: World, job_type: str) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body(job_type, team_id=w.team.id), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["team_id"]


def test_every_problem_is_listed_at_once(world: World) -> None:
    w = world
    yesterday = (seoul_today() - timedelta(days=1)).isoformat()
    body = w.body("CLEANING", date=yesterday, headcount=1, volunteer_slots=2)
    del body["team_id"]
    r = w.client.post("/api/jobs", json=body, headers=w.h(w.admin1))
    assert r.status_code == 400
    assert set(fields(r)) == {"date", "volunteer_slots", "team_id"}


def test_team_of_another_district_in_scope_is_refused(world: World) -> None:
    w = world
    r = w.client.post("/api/jobs", json=w.body("CLEANING", team_id=w.team_d2.id), headers=w.h(w.city_admin))
    assert r.status_code == 400
    assert fields(r) == ["team_id"]


@pytest.mark.parametrize("team", ["team_d2", "team_od", "missing"])
def test_team_outside_scope_answers_404(world: World, team: str) -> None:
    w = world
    team_id = 999_999 if team == "missing" else getattr(w, team).id
    r = w.client.post("/api/jobs", json=w.body("CLEANING", team_id=team_id), headers=w.h(w.admin1))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


def test_disbanded_team_is_refused(world: World) -> None:
    w = world
    w.team.status = "DISBANDED"
    w.db.commit()
    r = w.client.post("/api/jobs", json=w.body("CLEANING"), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["team_id"]


# ---- investigation reports ----


def test_job_from_a_submitted_or_approved_investigation(world: World) -> None:
    w = world
    for status in ("SUBMITTED", "APPROVED"):
        report = w.investigation(status=status)
        job = w.create_job(investigation_report_id=report.id)
        assert job["investigation_report_id"] == report.id


def test_investigation_claimed_by_the_same_team_is_fine(world: World) -> None:
    w = world
    report = w.investigation(claimed_by=w.team)
    job = w.create_job(investigation_report_id=report.id)
    assert job["investigation_report_id"] == report.id


def test_investigation_claimed_by_another_team_answers_409(world: World) -> None:
    w = world
    rival = make_team(w.db, w.d1, "해운대2팀", w.cleaners[2], [])
    w.db.commit()
    report = w.investigation(claimed_by=rival)
    r = w.client.post("/api/jobs", json=w.body("CLEANING", investigation_report_id=report.id), headers=w.h(w.admin1))
    assert r.status_code == 409
    assert code(r) == "CONFLICT"


@pytest.mark.parametrize(
    ("status", "report_type"),
    [("DRAFT", "INVESTIGATION"), ("REJECTED", "INVESTIGATION"), ("SUBMITTED", "CLEANING")],
)
def test_investigation_must_be_submitted_or_approved(world: World, status: str, report_type: str) -> None:
    w = world
    report = w.investigation(status=status, report_type=report_type)
    r = w.client.post("/api/jobs", json=w.body("CLEANING", investigation_report_id=report.id), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["investigation_report_id"]


def test_investigation_of_another_beach_is_refused(world: World) -> None:
    w = world
    report = w.investigation(w.beach_b)
    r = w.client.post("/api/jobs", json=w.body("CLEANING", investigation_report_id=report.id), headers=w.h(w.admin1))
    assert r.status_code == 400
    assert fields(r) == ["investigation_report_id"]


def test_investigation_outside_scope_answers_404(world: World) -> None:
    w = world
    report = w.investigation(w.beach_d2, author=w.investigator_d2)
    r = w.client.post("/api/jobs", json=w.body("CLEANING", investigation_report_id=report.id), headers=w.h(w.admin1))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"
    r = w.client.post("/api/jobs", json=w.body("CLEANING", investigation_report_id=999_999), headers=w.h(w.admin1))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


def test_nothing_is_stored_when_creation_fails(world: World) -> None:
    w = world
    w.client.post("/api/jobs", json=w.body("CLEANING", headcount=0), headers=w.h(w.admin1))
    r = w.client.get("/api/jobs", headers=w.h(w.admin1))
    assert r.json()["data"] == []
    assert w.audit("JOB_CREATE") == []
