"""Concurrent applications and assignments never over-fill a job (real threads, fresh database)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beachsaver.core.enums import CleanerType, Role
from beachsaver.teams.models import TeamMembership
from beachsaver.users.models import User
from tests.conftest import fresh_database_url
from tests.factories import make_user
from tests.jobs.conftest import World, assignees


@pytest.fixture(scope="module")
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: these tests commit from many connections at once."""
    url, cleanup = fresh_database_url(backend, tmp_path_factory.mktemp(f"jobs-race-{backend}"))
    yield url
    cleanup()


def volunteers(w: World, n: int) -> list[User]:
    people = [
        make_user(w.db, Role.CLEANER, w.d1, nickname=f"동시{i}", cleaner_type=CleanerType.VOLUNTEER) for i in range(n)
    ]
    w.db.commit()
    for person in people:
        w.h(person)  # sign in before the race starts
    return people


def race(app: Any, calls: list[Callable[[TestClient], Any]]) -> list[Any]:
    """Run every call at the same moment, each from its own thread and event loop."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[TestClient], Any]) -> Any:
        client = TestClient(app, raise_server_exceptions=False)
        barrier.wait()
        return call(client)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def apply_call(w: World, job_id: int, user: User) -> Callable[[TestClient], Any]:
    headers = w.h(user)
    return lambda c: c.post(f"/api/slots/{job_id}/application", headers=headers)


def holders(w: World, job_id: int) -> list[int]:
    people = assignees(w.get(job_id))
    return [uid for uid, a in people.items() if a["kind"] == "VOLUNTEER" and a["status"] == "ASSIGNED"]


def test_the_last_place_goes_to_exactly_one_applicant(world: World, app: Any) -> None:
    w = world
    job = w.create_job(headcount=2)
    w.assign(job["id"], [w.cleaners[2]])
    people = volunteers(w, 8)
    responses = race(app, [apply_call(w, job["id"], p) for p in people])
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    outcomes = [r.json()["data"] for r in responses]
    assert Counter(o["status"] for o in outcomes) == {"APPROVED": 1, "WAITING": 7}
    assert sorted(o["position"] for o in outcomes if o["status"] == "WAITING") == list(range(1, 8))
    assert [o["position"] for o in outcomes if o["status"] == "APPROVED"] == [1]

    winner = next(p for p, o in zip(people, outcomes, strict=True) if o["status"] == "APPROVED")
    assert holders(w, job["id"]) == [winner.id]
    data = w.get(job["id"])
    waiting = sorted(a["position"] for a in data["assignees"] if a["status"] == "WAITING")
    assert waiting == list(range(1, 8))
    joined = w.db.execute(
        select(func.count(TeamMembership.id)).where(
            TeamMembership.team_id == w.team.id,
            TeamMembership.user_id.in_([p.id for p in people]),
            TeamMembership.status == "ACTIVE",
        )
    ).scalar_one()
    w.db.commit()
    assert joined == 1


def test_many_applicants_fill_exactly_the_open_places(world: World, app: Any) -> None:
    w = world
    job = w.create_job(headcount=4, volunteer_slots=3)
    people = volunteers(w, 10)
    responses = race(app, [apply_call(w, job["id"], p) for p in people])
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    outcomes = [r.json()["data"] for r in responses]
    assert sorted(o["position"] for o in outcomes if o["status"] == "APPROVED") == [1, 2, 3]
    assert sorted(o["position"] for o in outcomes if o["status"] == "WAITING") == list(range(1, 8))
    assert len(holders(w, job["id"])) == 3
    assert len(w.audit("SLOT_APPLY")) == 10


def test_withdrawals_and_new_applications_at_once_keep_the_queue_order(world: World, app: Any) -> None:
    w = world
    job = w.create_job(headcount=2)
    first = volunteers(w, 5)
    for person in first:
        w.applied(job["id"], person)
    late = volunteers(w, 3)
    calls = [
        *[(lambda c, h=w.h(p): c.delete(f"/api/slots/{job['id']}/application", headers=h)) for p in first[:2]],
        *[apply_call(w, job["id"], p) for p in late],
    ]
    responses = race(app, calls)
    assert [r.status_code for r in responses] == [200, 200, 201, 201, 201], [r.text for r in responses]
    # The places went to the applicants who were waiting first, never to a late one.
    assert sorted(holders(w, job["id"])) == sorted([first[2].id, first[3].id])
    data = w.get(job["id"])
    waiting = sorted((a["position"], a["user_id"]) for a in data["assignees"] if a["status"] == "WAITING")
    assert [pos for pos, _ in waiting] == [1, 2, 3, 4]
    assert waiting[0][1] == first[4].id
    assert {uid for _, uid in waiting[1:]} == {p.id for p in late}


def test_two_admins_assigning_the_last_place_leave_one_assignee(world: World, app: Any) -> None:
    w = world
    job = w.create_job("INVESTIGATION", headcount=1)
    calls = [
        (
            lambda c, h=w.h(w.admin1): c.patch(
                f"/api/jobs/{job['id']}", json={"assignee_ids": [w.investigators[0].id]}, headers=h
            )
        ),
        (
            lambda c, h=w.h(w.city_admin): c.patch(
                f"/api/jobs/{job['id']}", json={"assignee_ids": [w.investigators[1].id]}, headers=h
            )
        ),
    ]
    responses = race(app, calls)
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert [r.json()["error"]["code"] for r in responses if r.status_code == 409] == ["CONFLICT"]
    people = assignees(w.get(job["id"]))
    assert len(people) == 1
