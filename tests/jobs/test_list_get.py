"""GET /api/jobs and GET /api/jobs/{id}: scope, workers' own jobs, filters and paging."""

from __future__ import annotations

from typing import Any

import pytest

from tests.jobs.conftest import World, code, fields, in_days


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [j["id"] for j in response.json()["data"]]


def test_admins_see_their_subtree_newest_first(world: World) -> None:
    w = world
    a = w.create_job("INVESTIGATION")
    b = w.create_job("INVESTIGATION")
    c = w.create_job("INVESTIGATION", beach_id=w.beach_d2.id, by=w.admin2)
    assert ids(w.client.get("/api/jobs", headers=w.h(w.admin1))) == [b["id"], a["id"]]
    assert ids(w.client.get("/api/jobs", headers=w.h(w.admin2))) == [c["id"]]
    assert ids(w.client.get("/api/jobs", headers=w.h(w.city_admin))) == [c["id"], b["id"], a["id"]]
    assert ids(w.client.get("/api/jobs", headers=w.h(w.platform))) == [c["id"], b["id"], a["id"]]
    assert ids(w.client.get("/api/jobs", headers=w.h(w.other_admin))) == []
    r = w.client.get("/api/jobs", headers=w.h(w.admin1))
    assert r.json()["meta"] == {"page": 1, "size": 20, "total": 2, "total_pages": 1}


def test_workers_see_only_their_own_jobs(world: World) -> None:
    w = world
    mine = w.create_job("INVESTIGATION", headcount=1)
    w.assign(mine["id"], [w.investigators[0]])
    w.create_job("INVESTIGATION")
    slot = w.create_job(headcount=1)
    w.applied(slot["id"], w.volunteers[0])
    w.applied(slot["id"], w.volunteers[1])  # waiting: still its job to see
    assert ids(w.client.get("/api/jobs", headers=w.h(w.investigators[0]))) == [mine["id"]]
    assert ids(w.client.get("/api/jobs", headers=w.h(w.investigators[1]))) == []
    assert ids(w.client.get("/api/jobs", headers=w.h(w.volunteers[0]))) == [slot["id"]]
    assert ids(w.client.get("/api/jobs", headers=w.h(w.volunteers[1]))) == [slot["id"]]
    assert ids(w.client.get("/api/jobs", headers=w.h(w.cleaners[0]))) == []
    assert ids(w.client.get("/api/jobs", headers=w.h(w.collector))) == []
    # A worker cannot widen its view with filters.
    assert (
        ids(w.client.get("/api/jobs", params={"user_id": w.investigators[1].id}, headers=w.h(w.investigators[0]))) == []
    )


def test_detail_follows_the_same_scope(world: World) -> None:
    w = world
    job = w.create_job("INVESTIGATION", headcount=1)
    w.assign(job["id"], [w.investigators[0]])
    for user in (w.admin1, w.city_admin, w.platform, w.investigators[0]):
        r = w.client.get(f"/api/jobs/{job['id']}", headers=w.h(user))
        assert r.status_code == 200
        assert r.json()["data"]["id"] == job["id"]
    for user in (w.admin2, w.other_admin, w.investigators[1], w.investigator_d2, w.volunteers[0]):
        r = w.client.get(f"/api/jobs/{job['id']}", headers=w.h(user))
        assert r.status_code == 404
        assert code(r) == "NOT_FOUND"
    r = w.client.get("/api/jobs/999999", headers=w.h(w.admin1))
    assert r.status_code == 404
    r = w.client.get(f"/api/jobs/{job['id']}")
    assert r.status_code == 401
    assert code(r) == "UNAUTHENTICATED"


@pytest.mark.parametrize("path", ["0", "-1", "abc", str(2**63)])
def test_bad_ids_answer_400(world: World, path: str) -> None:
    w = world
    r = w.client.get(f"/api/jobs/{path}", headers=w.h(w.admin1))
    assert r.status_code == 400
    assert code(r) == "VALIDATION_ERROR"
    assert fields(r) == ["path.job_id"]


def test_filters(world: World) -> None:
    w = world
    a = w.create_job("INVESTIGATION", date=in_days(1))
    b = w.create_job("CLEANING", date=in_days(5))
    c = w.create_job("COLLECTION", date=in_days(10), beach_id=w.beach_b.id)
    w.assign(a["id"], [w.investigators[0]])
    w.patch(c["id"], {"status": "CANCELLED", "reason": "취소"})
    h = w.h(w.admin1)

    def q(**params: Any) -> list[int]:
        return ids(w.client.get("/api/jobs", params=params, headers=h))

    assert q(status="ASSIGNED") == [a["id"]]
    assert q(status="open") == [b["id"]]
    assert q(status="CANCELLED") == [c["id"]]
    assert q(type="CLEANING") == [b["id"]]
    assert q(type="collection") == [c["id"]]
    assert q(beach_id=w.beach_b.id) == [c["id"]]
    assert q(team_id=w.team.id) == [b["id"]]
    assert q(**{"from": in_days(2)}) == [c["id"], b["id"]]
    assert q(to=in_days(5)) == [b["id"], a["id"]]
    assert q(**{"from": in_days(2), "to": in_days(6)}) == [b["id"]]
    assert q(user_id=w.investigators[0].id) == [a["id"]]
    assert q(org_id=w.d1.id) == [c["id"], b["id"], a["id"]]
    assert q(filter="type=INVESTIGATION") == [a["id"]]
    assert q(filter=f"date={in_days(5)}") == [b["id"]]
    assert q(sort="date,asc") == [a["id"], b["id"], c["id"]]
    assert q(sort="date,desc") == [c["id"], b["id"], a["id"]]


def test_paging(world: World) -> None:
    w = world
    made = [w.create_job("INVESTIGATION")["id"] for _ in range(3)]
    r = w.client.get("/api/jobs", params={"size": 2, "page": 2}, headers=w.h(w.admin1))
    assert ids(r) == [made[0]]
    assert r.json()["meta"] == {"page": 2, "size": 2, "total": 3, "total_pages": 2}
    r = w.client.get("/api/jobs", params={"size": 2, "page": 9}, headers=w.h(w.admin1))
    assert ids(r) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"size": 101}, "query.size"),
        ({"page": 0}, "query.page"),
        ({"sort": "colour,asc"}, "query.sort"),
        ({"filter": "colour=red"}, "query.filter"),
        ({"filter": "date=tomorrow"}, "query.filter"),
        ({"status": "SLEEPING"}, "query.status"),
        ({"type": "SWEEPING"}, "query.type"),
        ({"from": "2030/01/01"}, "query.from"),
        ({"to": "soon"}, "query.to"),
        ({"beach_id": 0}, "query.beach_id"),
        ({"from": "2030-01-02", "to": "2030-01-01"}, "query.to"),
    ],
)
def test_bad_query_parameters_are_named(world: World, params: dict[str, Any], field: str) -> None:
    w = world
    r = w.client.get("/api/jobs", params=params, headers=w.h(w.admin1))
    assert r.status_code == 400, r.text
    assert code(r) == "VALIDATION_ERROR"
    assert field in fields(r)


def test_org_filter_outside_scope_answers_404(world: World) -> None:
    w = world
    r = w.client.get("/api/jobs", params={"org_id": w.d2.id}, headers=w.h(w.admin1))
    assert r.status_code == 404
    assert code(r) == "NOT_FOUND"
