"""Accept, decline, no-show, cancel and the job state machine (including the report hooks)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.db import session_scope
from beachsaver.jobs import service
from beachsaver.reports.models import Report
from beachsaver.teams.models import TeamMembership
from tests.jobs.conftest import World, assignees, code, fields


def investigation_job(w: World, headcount: int = 2) -> dict[str, Any]:
    job = w.create_job("INVESTIGATION", headcount=headcount)
    w.assign(job["id"], w.investigators[:headcount])
    return job


# ---- accept ----


def test_first_accept_starts_the_job(world: World) -> None:
    w = world
    job = investigation_job(w)
    r = w.accept(job["id"], w.investigators[0])
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "IN_PROGRESS"
    assert assignees(data)[w.investigators[0].id]["status"] == "ACCEPTED"
    assert assignees(data)[w.investigators[1].id]["status"] == "ASSIGNED"
    r = w.accept(job["id"], w.investigators[1])
    assert r.status_code == 200
    assert r.json()["data"]["status"] == "IN_PROGRESS"
    entries = w.audit("JOB_ACCEPT")
    assert [e.actor_id for e in entries] == [w.investigators[0].id, w.investigators[1].id]
    assert entries[0].after == {"user_id": w.investigators[0].id, "status": "ACCEPTED", "job_status": "IN_PROGRESS"}
    assert entries[0].before == {"user_id": w.investigators[0].id, "status": "ASSIGNED", "job_status": "ASSIGNED"}


def test_accepting_twice_answers_409(world: World) -> None:
    w = world
    job = investigation_job(w)
    assert w.accept(job["id"], w.investigators[0]).status_code == 200
    r = w.accept(job["id"], w.investigators[0])
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


def test_declined_assignee_cannot_accept(world: World) -> None:
    w = world
    job = investigation_job(w)
    assert w.decline(job["id"], w.investigators[0]).status_code == 200
    r = w.accept(job["id"], w.investigators[0])
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_others_get_404_and_admins_403(world: World, action: str) -> None:
    w = world
    job = investigation_job(w)

    def call(user: Any) -> Any:
        return w.accept(job["id"], user) if action == "accept" else w.decline(job["id"], user)

    for outsider in (w.investigators[2], w.investigator_d2, w.cleaners[0], w.volunteers[0], w.collector):
        r = call(outsider)
        assert r.status_code == 404, outsider.nickname
        assert code(r) == "NOT_FOUND"
    for admin in (w.admin1, w.city_admin, w.platform):
        r = call(admin)
        assert r.status_code == 403
        assert code(r) == "FORBIDDEN"
    r = w.client.post(f"/api/jobs/{job['id']}/{action}", json={"reason": "x"})
    assert r.status_code == 401
    assert code(r) == "UNAUTHENTICATED"
    r = w.client.post("/api/jobs/999999/accept", headers=w.h(w.investigators[0]))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


# ---- decline ----


def test_decline_frees_the_place_and_tells_the_admin(world: World) -> None:
    w = world
    job = investigation_job(w)
    r = w.decline(job["id"], w.investigators[0], "병원 진료")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    me = assignees(data)[w.investigators[0].id]
    assert me["status"] == "DECLINED"
    assert me["reason"] == "병원 진료"
    assert data["status"] == "ASSIGNED"
    # The freed place can be given to someone else.
    data = w.assign(job["id"], [w.investigators[2]])
    assert assignees(data)[w.investigators[2].id]["status"] == "ASSIGNED"

    notes = w.notifications(w.admin1, "JOB_DECLINED")
    assert len(notes) == 1
    assert notes[0].category == "ASSIGNMENT"
    assert "병원 진료" in notes[0].message
    entries = w.audit("JOB_DECLINE")
    assert len(entries) == 1
    assert entries[0].actor_id == w.investigators[0].id
    assert entries[0].after is not None and entries[0].after["reason"] == "병원 진료"


def test_decline_after_accept_is_allowed_and_twice_is_not(world: World) -> None:
    w = world
    job = investigation_job(w)
    assert w.accept(job["id"], w.investigators[0]).status_code == 200
    assert w.decline(job["id"], w.investigators[0]).status_code == 200
    r = w.decline(job["id"], w.investigators[0])
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


@pytest.mark.parametrize("body", [None, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 501}])
def test_decline_requires_a_reason(world: World, body: dict[str, Any] | None) -> None:
    w = world
    job = investigation_job(w)
    if body is None:
        r = w.client.post(f"/api/jobs/{job['id']}/decline", headers=w.h(w.investigators[0]))
        assert r.status_code == 400
        assert fields(r) == ["body"]
    else:
        r = w.client.post(f"/api/jobs/{job['id']}/decline", json=body, headers=w.h(w.investigators[0]))
        assert r.status_code == 400
        assert fields(r) == ["reason"]
    assert code(r) == "VALIDATION_ERROR"
    assert assignees(w.get(job["id"]))[w.investigators[0].id]["status"] == "ASSIGNED"


def test_decline_reason_is_shown_to_admins_and_the_person_only(world: World) -> None:
    w = world
    job = investigation_job(w)
    w.decline(job["id"], w.investigators[0], "가족 행사")
    assert assignees(w.get(job["id"], w.admin1))[w.investigators[0].id]["reason"] == "가족 행사"
    assert assignees(w.get(job["id"], w.investigators[0]))[w.investigators[0].id]["reason"] == "가족 행사"
    assert assignees(w.get(job["id"], w.investigators[1]))[w.investigators[0].id]["reason"] is None


def test_regular_decline_promotes_the_first_waiting_volunteer(world: World) -> None:
    w = world
    job = w.create_job(headcount=3)
    w.assign(job["id"], [w.cleaners[2], w.cleaners[3]])
    assert w.applied(job["id"], w.volunteers[0]) == {
        "slot_id": job["id"],
        "job_id": job["id"],
        "status": "APPROVED",
        "position": 1,
    }
    assert w.applied(job["id"], w.volunteers[1])["status"] == "WAITING"
    assert w.applied(job["id"], w.volunteers[2])["position"] == 2

    r = w.decline(job["id"], w.cleaners[2])
    assert r.status_code == 200, r.text
    people = assignees(r.json()["data"])
    assert r.json()["data"]["volunteer_slots"] == 2
    assert people[w.volunteers[1].id] == {
        "user_id": w.volunteers[1].id,
        "nickname": "봉사1",
        "kind": "VOLUNTEER",
        "status": "ASSIGNED",
        "position": 2,
        "reason": None,
    }
    assert people[w.volunteers[2].id]["status"] == "WAITING"
    assert people[w.volunteers[2].id]["position"] == 1
    assert w.active_member(w.team, w.volunteers[1])
    assert not w.active_member(w.team, w.cleaners[2])  # joined for this job only
    assert len(w.notifications(w.volunteers[1], "SLOT_PROMOTED")) == 1
    assert [e.after and e.after["user_id"] for e in w.audit("SLOT_PROMOTE")] == [w.volunteers[1].id]


def test_a_team_member_who_declines_stays_in_the_team(world: World) -> None:
    w = world
    job = w.create_job(headcount=3)
    w.patch(job["id"], {"team_id": w.team.id})
    assert w.decline(job["id"], w.cleaners[1]).status_code == 200
    assert w.active_member(w.team, w.cleaners[1])


def test_regular_decline_with_a_full_volunteer_cap_promotes_nobody(world: World) -> None:
    w = world
    job = w.create_job(headcount=3, volunteer_slots=1)
    w.assign(job["id"], [w.cleaners[2], w.cleaners[3]])
    w.applied(job["id"], w.volunteers[0])
    assert w.applied(job["id"], w.volunteers[1])["status"] == "WAITING"
    w.decline(job["id"], w.cleaners[2])
    people = assignees(w.get(job["id"]))
    assert people[w.volunteers[1].id]["status"] == "WAITING"


# ---- no-show ----


def test_admin_marks_a_no_show(world: World) -> None:
    w = world
    job = w.create_job(headcount=2)
    w.assign(job["id"], [w.cleaners[2]])
    w.applied(job["id"], w.volunteers[0])
    assert w.applied(job["id"], w.volunteers[1])["status"] == "WAITING"
    assert w.accept(job["id"], w.volunteers[0]).status_code == 200

    r = w.patch(job["id"], {"assignee_id": w.volunteers[0].id, "status": "NO_SHOW"})
    assert r.status_code == 200, r.text
    people = assignees(r.json()["data"])
    assert people[w.volunteers[0].id]["status"] == "NO_SHOW"
    assert people[w.volunteers[1].id]["status"] == "ASSIGNED"
    assert r.json()["data"]["status"] == "IN_PROGRESS"
    assert not w.active_member(w.team, w.volunteers[0])
    assert w.active_member(w.team, w.volunteers[1])
    notes = w.notifications(w.admin1, "JOB_NO_SHOW")
    assert len(notes) == 1
    assert notes[0].category == "ASSIGNMENT"
    entries = w.audit("JOB_NO_SHOW")
    assert len(entries) == 1
    assert entries[0].after is not None
    assert entries[0].after["promoted_ids"] == [w.volunteers[1].id]


def test_no_show_of_a_regular_with_a_reason(world: World) -> None:
    w = world
    job = investigation_job(w)
    r = w.patch(job["id"], {"assignee_id": w.investigators[1].id, "status": "no_show", "reason": "연락 두절"})
    assert r.status_code == 200, r.text
    me = assignees(r.json()["data"])[w.investigators[1].id]
    assert me["status"] == "NO_SHOW"
    assert me["reason"] == "연락 두절"


def test_no_show_rules(world: World) -> None:
    w = world
    job = investigation_job(w)
    r = w.patch(job["id"], {"assignee_id": w.investigators[2].id, "status": "NO_SHOW"})
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"
    w.decline(job["id"], w.investigators[0])
    r = w.patch(job["id"], {"assignee_id": w.investigators[0].id, "status": "NO_SHOW"})
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"
    r = w.patch(job["id"], {"assignee_id": w.investigators[1].id, "status": "NO_SHOW"}, by=w.investigators[1])
    assert r.status_code == 403
    assert code(r) == "FORBIDDEN"
    r = w.patch(job["id"], {"assignee_id": w.investigators[1].id, "status": "NO_SHOW"}, by=w.admin2)
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"


def test_no_show_can_be_recorded_after_the_job_is_done_but_not_after_cancel(world: World) -> None:
    w = world
    job = investigation_job(w)
    row = w.job_row(job["id"])
    row.status = "DONE"
    w.db.commit()
    r = w.patch(job["id"], {"assignee_id": w.investigators[0].id, "status": "NO_SHOW"})
    assert r.status_code == 200
    assert r.json()["data"]["status"] == "DONE"

    other = investigation_job(w)
    assert w.patch(other["id"], {"status": "CANCELLED", "reason": "기상 악화"}).status_code == 200
    r = w.patch(other["id"], {"assignee_id": w.investigators[0].id, "status": "NO_SHOW"})
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


# ---- cancel ----


def test_cancel_with_reason(world: World) -> None:
    w = world
    job = w.create_job(headcount=2)
    w.assign(job["id"], [w.cleaners[2]])
    w.applied(job["id"], w.volunteers[0])
    w.applied(job["id"], w.volunteers[1])
    r = w.patch(job["id"], {"status": "cancelled", "reason": "태풍 예보"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "CANCELLED"
    assert data["cancel_reason"] == "태풍 예보"
    entries = w.audit("JOB_CANCEL")
    assert len(entries) == 1
    assert entries[0].before == {"status": "ASSIGNED"}
    assert entries[0].after == {"status": "CANCELLED", "reason": "태풍 예보"}
    for user in (w.cleaners[2], w.volunteers[0], w.volunteers[1]):
        assert len(w.notifications(user, "JOB_CANCELLED")) == 1
    # Places that came with the job end with it.
    assert not w.active_member(w.team, w.cleaners[2])
    assert not w.active_member(w.team, w.volunteers[0])
    assert w.active_member(w.team, w.cleaners[0])


def test_cancelled_job_refuses_everything(world: World) -> None:
    w = world
    job = investigation_job(w)
    assert w.patch(job["id"], {"status": "CANCELLED", "reason": "중복 생성"}).status_code == 200
    for r in (
        w.patch(job["id"], {"status": "CANCELLED", "reason": "again"}),
        w.accept(job["id"], w.investigators[0]),
        w.decline(job["id"], w.investigators[1]),
    ):
        assert r.status_code == 409
        assert code(r) == "INVALID_STATE"


def test_open_and_in_progress_jobs_can_be_cancelled(world: World) -> None:
    w = world
    open_job = w.create_job("INVESTIGATION")
    assert w.patch(open_job["id"], {"status": "CANCELLED", "reason": "취소"}).json()["data"]["status"] == "CANCELLED"
    running = investigation_job(w)
    w.accept(running["id"], w.investigators[0])
    assert w.patch(running["id"], {"status": "CANCELLED", "reason": "취소"}).json()["data"]["status"] == "CANCELLED"


# ---- the report hooks ----


def _report(w: World, job_id: int, report_type: str = "INVESTIGATION") -> Report:
    report = w.investigation(status="DRAFT", report_type=report_type)
    report.job_id = job_id
    w.db.commit()
    return report


def _run(w: World, fn: Any) -> None:
    with session_scope(w.client.app.state.runtime.session_factory) as session:  # type: ignore[attr-defined]
        fn(session)


def test_linked_report_starts_an_open_or_assigned_job(world: World) -> None:
    w = world
    open_job = w.create_job("INVESTIGATION")
    report = _report(w, open_job["id"])
    _run(w, lambda s: service.on_report_linked(s, open_job["id"], s.get(Report, report.id)))
    assert w.get(open_job["id"])["status"] == "IN_PROGRESS"

    assigned = investigation_job(w)
    report2 = _report(w, assigned["id"])
    _run(w, lambda s: service.on_report_linked(s, assigned["id"], s.get(Report, report2.id)))
    assert w.get(assigned["id"])["status"] == "IN_PROGRESS"
    entries = w.audit("JOB_START")
    assert [e.target_id for e in entries] == [open_job["id"], assigned["id"]]
    assert entries[0].after == {"status": "IN_PROGRESS", "report_id": report.id}


def test_linking_changes_nothing_when_started_or_done(world: World) -> None:
    w = world
    job = investigation_job(w)
    w.accept(job["id"], w.investigators[0])
    report = _report(w, job["id"])
    _run(w, lambda s: service.on_report_linked(s, job["id"], s.get(Report, report.id)))
    assert w.get(job["id"])["status"] == "IN_PROGRESS"
    assert w.audit("JOB_START") == []


def test_linking_to_a_cancelled_or_missing_job_is_refused(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    w.patch(job["id"], {"status": "CANCELLED", "reason": "취소"})
    report = _report(w, job["id"])
    with pytest.raises(errors.InvalidState):
        _run(w, lambda s: service.on_report_linked(s, job["id"], s.get(Report, report.id)))
    with pytest.raises(errors.NotFound):
        _run(w, lambda s: service.on_report_linked(s, 999_999, s.get(Report, report.id)))


def test_submitted_linked_report_finishes_the_job(world: World) -> None:
    w = world
    job = investigation_job(w)
    w.accept(job["id"], w.investigators[0])
    report = _report(w, job["id"])
    _run(w, lambda s: service.on_report_submitted(s, s.get(Report, report.id)))
    data = w.get(job["id"])
    assert data["status"] == "DONE"
    entries = w.audit("JOB_COMPLETE")
    assert len(entries) == 1
    assert entries[0].before == {"status": "IN_PROGRESS"}
    assert entries[0].actor_id == w.investigators[0].id
    # DONE is final.
    r = w.patch(job["id"], {"status": "CANCELLED", "reason": "늦은 취소"})
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"
    r = w.decline(job["id"], w.investigators[1])
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


def test_submission_leaves_cancelled_jobs_and_unlinked_reports_alone(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION")
    w.patch(job["id"], {"status": "CANCELLED", "reason": "취소"})
    report = _report(w, job["id"])
    _run(w, lambda s: service.on_report_submitted(s, s.get(Report, report.id)))
    assert w.get(job["id"])["status"] == "CANCELLED"
    loose = w.investigation(status="DRAFT")
    _run(w, lambda s: service.on_report_submitted(s, s.get(Report, loose.id)))
    assert w.audit("JOB_COMPLETE") == []


def test_open_job_is_done_when_its_report_is_submitted_directly(world: World) -> None:
    w = world
    job = w.create_job()
    report = _report(w, job["id"], "CLEANING")
    _run(w, lambda s: service.on_report_submitted(s, s.get(Report, report.id)))
    assert w.get(job["id"])["status"] == "DONE"


def test_memberships_are_history_rows(world: World) -> None:
    w = world
    job = w.create_job(headcount=2)
    w.applied(job["id"], w.volunteers[0])
    r = w.client.delete(f"/api/slots/{job['id']}/application", headers=w.h(w.volunteers[0]))
    assert r.status_code == 200
    rows = list(
        w.db.execute(
            select(TeamMembership).where(
                TeamMembership.team_id == w.team.id, TeamMembership.user_id == w.volunteers[0].id
            )
        ).scalars()
    )
    w.db.commit()
    assert [(m.status, m.left_at is not None) for m in rows] == [("LEFT", True)]
    assert [e.after and e.after["user_id"] for e in w.audit("TEAM_MEMBER_REMOVE")] == [w.volunteers[0].id]
