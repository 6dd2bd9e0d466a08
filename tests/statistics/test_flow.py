"""The figures follow the real field workflow: reports, credits, contributions and depots made
through the API show up in the statistics, the maps and the workers' performance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.enums import CleanerType, Role
from beachsaver.core.time import SEOUL
from tests.factories import auth, make_beach, make_city, make_district, make_image, make_team, make_user, token_for

AREA = {"start_latitude": 35.1581, "start_longitude": 129.1590, "end_latitude": 35.1590, "end_longitude": 129.1620}


def test_workflow_figures(client: TestClient, db: Session) -> None:
    city = make_city(db, name="부산광역시")
    district = make_district(db, city, name="해운대구")
    beach = make_beach(db, district, "해운대")
    people = {
        "admin": make_user(db, Role.DISTRICT_ADMIN, district),
        "investigator": make_user(db, Role.INVESTIGATOR, district),
        "leader": make_user(db, Role.CLEANER, district),
        "volunteer": make_user(db, Role.CLEANER, district, cleaner_type=CleanerType.VOLUNTEER),
        "collector": make_user(db, Role.COLLECTOR, district, verified=True),
    }
    team = make_team(db, district, people["leader"], [people["volunteer"]])
    h = {name: auth(token_for(db, user)) for name, user in people.items()}
    photo = make_image(db, people["leader"], "COLLECTION_DEPOT")
    done_photo = make_image(db, people["collector"], "COLLECTION_COMPLETED")
    db.commit()
    # an instant safely inside today in Seoul, in the past
    now = datetime.now(UTC)
    at = max(now - timedelta(minutes=30), datetime.now(SEOUL).replace(hour=0, minute=0, second=1))
    when = at.isoformat()

    investigation = {
        "client_id": str(uuid.uuid4()),
        "type": "investigation",
        "beach_id": beach.id,
        "investigation_at": when,
        "areas": [{"area_name": "A", **AREA, "trash_amount_est_l": 120.5, "main_trash_type": "plastic"}],
    }
    r = client.post("/api/reports", json=investigation, headers=h["investigator"])
    assert r.status_code == 201, r.text
    rid = r.json()["data"]["id"]
    assert client.patch(f"/api/reports/{rid}", json={"status": "APPROVED"}, headers=h["admin"]).status_code == 200

    cleaning = {
        "client_id": str(uuid.uuid4()),
        "type": "CLEANING",
        "beach_id": beach.id,
        "team_id": team.id,
        "cleaning_at": when,
        "areas": [{"area_name": "A", **AREA, "trash_amount_kg": 35, "main_trash_type": "STYROFOAM"}],
        "is_draft": True,
    }
    cid = client.post("/api/reports", json=cleaning, headers=h["leader"]).json()["data"]["id"]
    for who, hours in (("volunteer", 2), ("leader", 3)):
        c = client.post(f"/api/reports/{cid}/contributions", json={"hours": hours}, headers=h[who])
        assert c.status_code == 201, c.text
    r = client.patch(f"/api/reports/{cid}", json={"status": "SUBMITTED"}, headers=h["leader"])
    assert r.status_code == 200, r.text
    credits = {c["user_id"]: c["kg"] for c in r.json()["data"]["credits"]}

    request = {
        "client_id": str(uuid.uuid4()),
        "type": "COLLECTION_REQUEST",
        "beach_id": beach.id,
        "team_id": team.id,
        "collection_depots": [
            {"name": "북쪽", "latitude": 35.16, "longitude": 129.161, "photo": photo.id},
            {"name": "남쪽", "latitude": 35.156, "longitude": 129.16, "photo": photo.id},
        ],
    }
    r = client.post("/api/reports", json=request, headers=h["leader"])
    assert r.status_code == 201, r.text
    depot_id = r.json()["data"]["collection_depots"][0]["id"]
    r = client.patch(
        f"/api/collection-depots/{depot_id}/complete",
        json={"collected_amount": 18.5, "photo": done_photo.id},
        headers=h["collector"],
    )
    assert r.status_code == 200, r.text

    today = datetime.now(SEOUL).date().isoformat()
    r = client.get("/api/statistics", params={"group_by": "period", "period": "day", "from": today, "to": today},
                   headers=h["admin"])  # fmt: skip
    assert r.status_code == 200, r.text
    [row] = r.json()["data"]
    assert row["period"] == today
    assert {k: v for k, v in row.items() if k != "avg_hours_to_collection"} == {
        "period": today,
        "investigation_reports": 1,
        "cleaning_reports": 1,
        "collection_requests": 1,
        "litres_estimated": 120.5,
        "kg_cleaned": 35.0,
        "kg_collected": 18.5,
        "depots_waiting": 1,
        "depots_collected": 1,
        "volunteer_hours": 2.0,
    }
    assert 0 <= row["avg_hours_to_collection"] < 0.1

    users = client.get("/api/statistics", params={"group_by": "user"}, headers=h["admin"]).json()["data"]
    by_user: dict[int, dict[str, Any]] = {u["user_id"]: u for u in users}
    assert by_user[people["leader"].id]["kg_cleaned"] == credits[people["leader"].id]
    assert by_user[people["volunteer"].id]["kg_cleaned"] == credits[people["volunteer"].id]
    assert by_user[people["volunteer"].id]["volunteer_hours"] == 2.0
    assert by_user[people["collector"].id]["kg_collected"] == 18.5

    mine = client.get("/api/users/me/performance", headers=h["volunteer"]).json()["data"]
    assert mine["this_month"]["kg_cleaned"] == credits[people["volunteer"].id]
    assert mine["this_month"]["volunteer_hours"] == 2.0

    dashboard = client.get("/api/statistics/dashboard", headers=h["admin"]).json()["data"]
    assert dashboard["work_done_today"] == {"reports_submitted": 3, "depots_completed": 1, "total": 4}
    assert dashboard["workers_active_today"] == 4

    litter = client.get("/api/statistics/map", params={"layer": "litter"}, headers=h["admin"]).json()["data"]
    assert [f["properties"]["value"] for f in litter["features"]] == [53.5]
