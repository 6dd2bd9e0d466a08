"""Volunteer slots: listing, applying (first come first served, waiting list) and withdrawing."""

from __future__ import annotations

from typing import Any

import pytest

from beachsaver.teams.models import TeamMembership
from tests.jobs.conftest import World, assignees, code, fields, in_days


def slot_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["data"]]


def withdraw(w: World, job_id: int, user: Any) -> Any:
    return w.client.delete(f"/api/slots/{job_id}/application", headers=w.h(user))


# ---- listing ----


def test_volunteers_see_open_places_of_their_district(world: World) -> None:
    w = world
    open_job = w.create_job(headcount=3, volunteer_slots=2)
    w.create_job("INVESTIGATION")
    w.create_job("COLLECTION")
    no_volunteers = w.create_job(headcount=2, volunteer_slots=0)
    filled_by_regulars = w.create_job(headcount=1)
    w.assign(filled_by_regulars["id"], [w.cleaners[2]])
    cancelled = w.create_job()
    w.patch(cancelled["id"], {"status": "CANCELLED", "reason": "취소"})
    w.create_job(beach_id=w.beach_d2.id, team_id=w.team_d2.id, by=w.admin2)
    later = w.create_job(headcount=1, date=in_days(20))

    r = w.client.get("/api/slots", headers=w.h(w.volunteers[0]))
    assert slot_ids(r) == [later["id"], open_job["id"]]
    assert r.json()["meta"] == {"page": 1, "size": 20, "total": 2, "total_pages": 1}
    slot = r.json()["data"][1]
    assert slot == {
        "id": open_job["id"],
        "job_id": open_job["id"],
        "org_id": w.d1.id,
        "beach_id": w.beach.id,
        "beach_name": "해운대해수욕장",
        "area_names": ["A구역", "B구역"],
        "date": in_days(3),
        "team_id": w.team.id,
        "job_status": "OPEN",
        "volunteer_slots": 2,
        "taken": 0,
        "remaining": 2,
        "waiting": 0,
        "my_application": None,
        "created_at": open_job["created_at"],
    }
    assert no_volunteers["id"] not in slot_ids(r)
    assert slot_ids(w.client.get("/api/slots", headers=w.h(w.volunteer_d2))) != []
    assert open_job["id"] not in slot_ids(w.client.get("/api/slots", headers=w.h(w.volunteer_d2)))


def test_slot_shows_remaining_places_waiting_count_and_my_application(world: World) -> None:
    w = world
    job = w.create_job(headcount=2)
    w.applied(job["id"], w.volunteers[0])
    w.applied(job["id"], w.volunteers[1])
    w.applied(job["id"], w.volunteers[2])
    r = w.client.get("/api/slots", headers=w.h(w.volunteers[2]))
    slot = r.json()["data"][0]
    assert (slot["volunteer_slots"], slot["taken"], slot["remaining"], slot["waiting"]) == (2, 2, 0, 1)
    assert slot["job_status"] == "ASSIGNED"
    assert slot["my_application"] == {"status": "WAITING", "position": 1}
    r = w.client.get(f"/api/slots/{job['id']}", headers=w.h(w.volunteers[0]))
    assert r.status_code == 200
    assert r.json()["data"]["my_application"] == {"status": "ASSIGNED", "position": 1}


def test_slot_filters_and_paging(world: World) -> None:
    w = world
    a = w.create_job(date=in_days(1))
    b = w.create_job(date=in_days(4), beach_id=w.beach_b.id)
    h = w.h(w.volunteers[0])

    def q(**params: Any) -> list[int]:
        return slot_ids(w.client.get("/api/slots", params=params, headers=h))

    assert q(beach_id=w.beach_b.id) == [b["id"]]
    assert q(**{"from": in_days(2)}) == [b["id"]]
    assert q(to=in_days(2)) == [a["id"]]
    assert q(sort="date,asc") == [a["id"], b["id"]]
    assert q(size=1, page=2) == [a["id"]]
    for params, field in (
        ({"sort": "headcount,asc"}, "query.sort"),
        ({"filter": "status=OPEN"}, "query.filter"),
        ({"from": "x"}, "query.from"),
        ({"size": 0}, "query.size"),
    ):
        r = w.client.get("/api/slots", params=params, headers=h)
        assert r.status_code == 400
        assert field in fields(r)


def test_admins_read_slots_of_their_scope(world: World) -> None:
    w = world
    job = w.create_job()
    assert slot_ids(w.client.get("/api/slots", headers=w.h(w.admin1))) == [job["id"]]
    assert slot_ids(w.client.get("/api/slots", headers=w.h(w.city_admin))) == [job["id"]]
    assert slot_ids(w.client.get("/api/slots", headers=w.h(w.admin2))) == []
    r = w.client.get(f"/api/slots/{job['id']}", headers=w.h(w.admin2))
    assert r.status_code == 404


@pytest.mark.parametrize("who", ["regular", "investigator", "collector"])
def test_other_workers_cannot_see_slots(world: World, who: str) -> None:
    w = world
    user = {"regular": w.cleaners[2], "investigator": w.investigators[0], "collector": w.collector}[who]
    job = w.create_job()
    for path in ("/api/slots", f"/api/slots/{job['id']}"):
        r = w.client.get(path, headers=w.h(user))
        assert r.status_code == 403
        assert code(r) == "FORBIDDEN"


def test_slot_detail_outside_the_district_or_not_cleaning_answers_404(world: World) -> None:
    w = world
    inv = w.create_job("INVESTIGATION")
    other = w.create_job(beach_id=w.beach_d2.id, team_id=w.team_d2.id, by=w.admin2)
    for job_id in (inv["id"], other["id"], 999_999):
        r = w.client.get(f"/api/slots/{job_id}", headers=w.h(w.volunteers[0]))
        assert r.status_code == 404
        assert code(r) == "NOT_FOUND"


# ---- applying ----


def test_first_come_first_served_then_a_waiting_list(world: World) -> None:
    w = world
    job = w.create_job(headcount=3)
    w.assign(job["id"], [w.cleaners[2]])
    r = w.apply(job["id"], w.volunteers[0])
    assert r.status_code == 201, r.text
    assert r.json()["data"] == {"slot_id": job["id"], "job_id": job["id"], "status": "APPROVED", "position": 1}
    assert w.applied(job["id"], w.volunteers[1])["position"] == 2
    assert w.applied(job["id"], w.volunteers[2]) == {
        "slot_id": job["id"],
        "job_id": job["id"],
        "status": "WAITING",
        "position": 1,
    }
    assert w.applied(job["id"], w.volunteers[3])["position"] == 2

    people = assignees(w.get(job["id"]))
    assert [people[v.id]["status"] for v in w.volunteers[:4]] == ["ASSIGNED", "ASSIGNED", "WAITING", "WAITING"]
    assert all(people[v.id]["kind"] == "VOLUNTEER" for v in w.volunteers[:4])
    assert w.active_member(w.team, w.volunteers[0])
    assert w.active_member(w.team, w.volunteers[1])
    assert not w.active_member(w.team, w.volunteers[2])
    entries = w.audit("SLOT_APPLY")
    assert [(e.actor_id, e.after and e.after["status"]) for e in entries] == [
        (w.volunteers[0].id, "APPROVED"),
        (w.volunteers[1].id, "APPROVED"),
        (w.volunteers[2].id, "WAITING"),
        (w.volunteers[3].id, "WAITING"),
    ]
    member_adds = [e.after and e.after["user_id"] for e in w.audit("TEAM_MEMBER_ADD")]
    assert member_adds == [w.cleaners[2].id, w.volunteers[0].id, w.volunteers[1].id]


def test_first_volunteer_makes_the_job_assigned(world: World) -> None:
    w = world
    job = w.create_job(headcount=2)
    w.applied(job["id"], w.volunteers[0])
    assert w.get(job["id"])["status"] == "ASSIGNED"
    r = w.accept(job["id"], w.volunteers[0])
    assert r.status_code == 200
    assert r.json()["data"]["status"] == "IN_PROGRESS"


def test_explicit_volunteer_cap_is_respected(world: World) -> None:
    w = world
    job = w.create_job(headcount=5, volunteer_slots=1)
    assert w.applied(job["id"], w.volunteers[0])["status"] == "APPROVED"
    assert w.applied(job["id"], w.volunteers[1])["status"] == "WAITING"


def test_applying_twice_answers_409(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    w.applied(job["id"], w.volunteers[0])
    w.applied(job["id"], w.volunteers[1])
    for user in (w.volunteers[0], w.volunteers[1]):
        r = w.apply(job["id"], user)
        assert r.status_code == 409
        assert code(r) == "CONFLICT"


def test_a_volunteer_who_declined_may_apply_again_at_the_end(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    w.applied(job["id"], w.volunteers[0])
    w.applied(job["id"], w.volunteers[1])
    assert w.decline(job["id"], w.volunteers[0]).status_code == 200
    assert w.applied(job["id"], w.volunteers[0]) == {
        "slot_id": job["id"],
        "job_id": job["id"],
        "status": "WAITING",
        "position": 1,
    }


def test_no_show_volunteer_cannot_apply_again(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    w.applied(job["id"], w.volunteers[0])
    assert w.patch(job["id"], {"assignee_id": w.volunteers[0].id, "status": "NO_SHOW"}).status_code == 200
    r = w.apply(job["id"], w.volunteers[0])
    assert r.status_code == 409
    assert code(r) == "CONFLICT"


@pytest.mark.parametrize("who", ["regular", "investigator", "collector", "admin"])
def test_only_approved_volunteers_apply(world: World, who: str) -> None:
    w = world
    user = {
        "regular": w.cleaners[2],
        "investigator": w.investigators[0],
        "collector": w.collector,
        "admin": w.admin1,
    }[who]
    job = w.create_job()
    r = w.apply(job["id"], user)
    assert r.status_code == 403
    assert code(r) == "FORBIDDEN"
    r = withdraw(w, job["id"], user)
    assert r.status_code == 403
    assert code(r) == "FORBIDDEN"
    r = w.client.post(f"/api/slots/{job['id']}/application")
    assert r.status_code == 401


def test_slot_outside_district_or_not_cleaning_answers_404(world: World) -> None:
    w = world
    inv = w.create_job("INVESTIGATION")
    other = w.create_job(beach_id=w.beach_d2.id, team_id=w.team_d2.id, by=w.admin2)
    for job_id in (inv["id"], other["id"], 999_999):
        r = w.apply(job_id, w.volunteers[0])
        assert r.status_code == 404
        assert code(r) == "NOT_FOUND"
    r = w.apply(other["id"], w.volunteer_d2)
    assert r.status_code == 201


def test_closed_slots_answer_409(world: World) -> None:
    w = world
    cancelled = w.create_job()
    w.patch(cancelled["id"], {"status": "CANCELLED", "reason": "취소"})
    no_places = w.create_job(volunteer_slots=0)
    done = w.create_job()
    row = w.job_row(done["id"])
    row.status = "DONE"
    w.db.commit()
    past = w.create_job()
    row = w.job_row(past["id"])
    row.date = row.date.fromisoformat(in_days(-1))
    w.db.commit()
    for job in (cancelled, no_places, done, past):
        r = w.apply(job["id"], w.volunteers[0])
        assert r.status_code == 409, job
        assert code(r) == "INVALID_STATE"


def test_disbanded_team_closes_the_slot(world: World) -> None:
    w = world
    job = w.create_job()
    w.team.status = "DISBANDED"
    w.db.commit()
    r = w.apply(job["id"], w.volunteers[0])
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"


def test_full_regular_places_put_volunteers_on_the_waiting_list(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    w.assign(job["id"], [w.cleaners[2]])
    assert w.applied(job["id"], w.volunteers[0])["status"] == "WAITING"
    w.decline(job["id"], w.cleaners[2])
    assert assignees(w.get(job["id"]))[w.volunteers[0].id]["status"] == "ASSIGNED"


def test_regulars_cannot_overfill_places_taken_by_volunteers(world: World) -> None:
    w = world
    job = w.create_job(headcount=2)
    w.applied(job["id"], w.volunteers[0])
    w.applied(job["id"], w.volunteers[1])
    r = w.patch(job["id"], {"assignee_ids": [w.cleaners[2].id]})
    assert r.status_code == 409
    assert code(r) == "CONFLICT"


# ---- withdrawing ----


def test_withdrawing_a_place_promotes_the_first_waiting(world: World) -> None:
    w = world
    job = w.create_job(headcount=2)
    for v in w.volunteers[:4]:
        w.applied(job["id"], v)
    r = withdraw(w, job["id"], w.volunteers[0])
    assert r.status_code == 200, r.text
    assert r.json()["data"] is None
    people = assignees(w.get(job["id"]))
    assert w.volunteers[0].id not in people
    assert (people[w.volunteers[1].id]["status"], people[w.volunteers[1].id]["position"]) == ("ASSIGNED", 1)
    assert (people[w.volunteers[2].id]["status"], people[w.volunteers[2].id]["position"]) == ("ASSIGNED", 2)
    assert (people[w.volunteers[3].id]["status"], people[w.volunteers[3].id]["position"]) == ("WAITING", 1)
    assert not w.active_member(w.team, w.volunteers[0])
    assert w.active_member(w.team, w.volunteers[2])
    assert len(w.notifications(w.volunteers[2], "SLOT_PROMOTED")) == 1
    entries = w.audit("SLOT_WITHDRAW")
    assert len(entries) == 1
    assert entries[0].before == {"user_id": w.volunteers[0].id, "status": "ASSIGNED", "position": 1}
    assert entries[0].after == {"user_id": w.volunteers[0].id, "promoted_ids": [w.volunteers[2].id]}
    assert w.notifications(w.admin1, "SLOT_WITHDRAWN") == []


def test_withdrawing_from_the_waiting_list_moves_the_others_up(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    for v in w.volunteers[:4]:
        w.applied(job["id"], v)
    assert withdraw(w, job["id"], w.volunteers[1]).status_code == 200
    people = assignees(w.get(job["id"]))
    assert people[w.volunteers[0].id]["status"] == "ASSIGNED"
    assert (people[w.volunteers[2].id]["status"], people[w.volunteers[2].id]["position"]) == ("WAITING", 1)
    assert (people[w.volunteers[3].id]["status"], people[w.volunteers[3].id]["position"]) == ("WAITING", 2)
    assert w.audit("SLOT_PROMOTE") == []


def test_a_place_left_empty_tells_the_admin_and_can_be_taken_again(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    w.applied(job["id"], w.volunteers[0])
    assert withdraw(w, job["id"], w.volunteers[0]).status_code == 200
    notes = w.notifications(w.admin1, "SLOT_WITHDRAWN")
    assert len(notes) == 1
    assert notes[0].category == "ASSIGNMENT"
    assert w.applied(job["id"], w.volunteers[0])["status"] == "APPROVED"


def test_withdraw_rules(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    r = withdraw(w, job["id"], w.volunteers[0])
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"
    w.applied(job["id"], w.volunteers[0])
    w.decline(job["id"], w.volunteers[0])
    r = withdraw(w, job["id"], w.volunteers[0])
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"
    other = w.create_job(headcount=1)
    w.applied(other["id"], w.volunteers[1])
    w.patch(other["id"], {"status": "CANCELLED", "reason": "취소"})
    r = withdraw(w, other["id"], w.volunteers[1])
    assert r.status_code == 409
    assert code(r) == "INVALID_STATE"
    r = withdraw(w, 999_999, w.volunteers[1])
    assert r.status_code == 404


def test_a_member_before_the_job_stays_a_member_after_withdrawing(world: World) -> None:
    w = world
    w.db.add(TeamMembership(team_id=w.team.id, user_id=w.volunteers[0].id, role_in_team="MEMBER", status="ACTIVE"))
    w.db.commit()
    job = w.create_job(headcount=2)
    w.applied(job["id"], w.volunteers[0])
    assert withdraw(w, job["id"], w.volunteers[0]).status_code == 200
    assert w.active_member(w.team, w.volunteers[0])
    assert w.audit("TEAM_MEMBER_ADD") == []
    assert w.audit("TEAM_MEMBER_REMOVE") == []


def test_a_volunteer_on_two_jobs_of_the_team_keeps_the_membership(world: World) -> None:
    w = world
    first = w.create_job(headcount=2)
    second = w.create_job(headcount=2, date=in_days(4))
    w.applied(first["id"], w.volunteers[0])
    w.applied(second["id"], w.volunteers[0])
    assert withdraw(w, second["id"], w.volunteers[0]).status_code == 200
    assert w.active_member(w.team, w.volunteers[0])


def test_volunteer_decline_frees_the_place_for_the_waiting_list(world: World) -> None:
    w = world
    job = w.create_job(headcount=1)
    w.applied(job["id"], w.volunteers[0])
    w.applied(job["id"], w.volunteers[1])
    r = w.decline(job["id"], w.volunteers[0], "일정 변경")
    assert r.status_code == 200
    people = assignees(r.json()["data"])
    assert people[w.volunteers[0].id]["status"] == "DECLINED"
    assert people[w.volunteers[1].id]["status"] == "ASSIGNED"
    assert len(w.notifications(w.admin1, "JOB_DECLINED")) == 1
