"""The job's cleaning report through the reports API: linking starts the job, submitting ends it,
and the volunteers whose places were granted share the credit as team members."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.jobs.conftest import World


def cleaning_report(w: World, job_id: int) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "type": "CLEANING",
        "beach_id": w.beach.id,
        "team_id": w.team.id,
        "job_id": job_id,
        "cleaning_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "areas": [
            {
                "area_name": "A구역",
                "start_latitude": 35.1581,
                "start_longitude": 129.1590,
                "end_latitude": 35.1590,
                "end_longitude": 129.1620,
                "trash_amount_kg": 40,
                "main_trash_type": "PLASTIC",
            }
        ],
        "is_draft": True,
    }


def test_cleaning_job_runs_through_its_report(world: World) -> None:
    w = world
    job = w.create_job(headcount=3)
    w.patch(job["id"], {"team_id": w.team.id})
    assert w.applied(job["id"], w.volunteers[0])["status"] == "APPROVED"
    assert w.get(job["id"])["status"] == "ASSIGNED"

    r = w.client.post("/api/reports", json=cleaning_report(w, job["id"]), headers=w.h(w.cleaners[0]))
    assert r.status_code == 201, r.text
    report_id = r.json()["data"]["id"]
    assert r.json()["data"]["job_id"] == job["id"]
    assert w.get(job["id"])["status"] == "IN_PROGRESS"

    r = w.client.patch(f"/api/reports/{report_id}", json={"status": "SUBMITTED"}, headers=w.h(w.cleaners[0]))
    assert r.status_code == 200, r.text
    assert w.get(job["id"])["status"] == "DONE"
    credited = {c["user_id"] for c in r.json()["data"]["credits"]}
    assert credited == {w.cleaners[0].id, w.cleaners[1].id, w.volunteers[0].id}
    assert [e.target_id for e in w.audit("JOB_START")] == [job["id"]]
    assert [e.target_id for e in w.audit("JOB_COMPLETE")] == [job["id"]]


def test_a_report_cannot_join_a_cancelled_job(world: World) -> None:
    w = world
    job = w.create_job(headcount=3)
    w.patch(job["id"], {"status": "CANCELLED", "reason": "기상 악화"})
    r = w.client.post("/api/reports", json=cleaning_report(w, job["id"]), headers=w.h(w.cleaners[0]))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "INVALID_STATE"
