from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beachsaver.notifications.models import Notification
from beachsaver.reports.models import Report
from tests.factories import make_image

from .conftest import World


def now_iso(delta_minutes: int = -30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=delta_minutes)).isoformat()


def investigation(beach_id: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "investigation",
        "beach_id": beach_id,
        "investigation_at": now_iso(),
        "weather": "sunny",
        "areas": [
            {
                "area_name": "A구역",
                "start_latitude": 35.1581,
                "start_longitude": 129.1590,
                "end_latitude": 35.1590,
                "end_longitude": 129.1620,
                "trash_amount_est_l": 120.5,
                "main_trash_type": "plastic",
            }
        ],
    }
    body.update(extra)
    return body


def test_investigation_submitted_with_coastline(client: TestClient, world: World, db: Any) -> None:
    r = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator"))
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["status"] == "SUBMITTED"
    assert data["type"] == "INVESTIGATION"
    assert data["weather"] == "SUNNY"
    assert data["areas"][0]["main_trash_type"] == "PLASTIC"
    assert 250 < data["coastline_m"] < 320
    assert data["submitted_at"].endswith("Z")
    admin_notes = db.execute(
        select(func.count()).select_from(Notification).where(Notification.user_id == world.admin.id)
    ).scalar_one()
    assert admin_notes == 1


def test_submission_lists_every_missing_field(client: TestClient, world: World) -> None:
    body = investigation(world.beach.id, areas=[{"area_name": "A"}])
    del body["investigation_at"]
    r = client.post("/api/reports", json=body, headers=world.h("investigator"))
    assert r.status_code == 400
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {
        "investigation_at",
        "areas[0].start_latitude",
        "areas[0].start_longitude",
        "areas[0].end_latitude",
        "areas[0].end_longitude",
        "areas[0].trash_amount_est_l",
        "areas[0].main_trash_type",
    } <= fields
    draft = client.post("/api/reports/draft", json=body, headers=world.h("investigator"))
    assert draft.status_code == 201
    assert draft.json()["data"]["status"] == "DRAFT"


def test_bad_values_are_400_naming_the_field(client: TestClient, world: World) -> None:
    body = investigation(world.beach.id, investigation_at=now_iso(60 * 24))
    body["areas"][0]["start_latitude"] = 91
    body["areas"][0]["main_trash_type"] = "NOT_A_TYPE"
    r = client.post("/api/reports", json=body, headers=world.h("investigator"))
    assert r.status_code == 400
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"investigation_at", "areas[0].start_latitude", "areas[0].main_trash_type"} <= fields
    naive = investigation(world.beach.id, investigation_at="2026-01-01T10:00:00")
    r = client.post("/api/reports", json=naive, headers=world.h("investigator"))
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "investigation_at"


def test_wrong_author_and_out_of_scope_beach(client: TestClient, world: World) -> None:
    assert client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("leader")).status_code == 403
    r = client.post("/api/reports", json=investigation(world.other_beach.id), headers=world.h("investigator"))
    assert r.status_code == 404
    r = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("admin"))
    assert r.status_code == 403


def test_replay_returns_same_report_and_conflict_on_change(client: TestClient, world: World, db: Any) -> None:
    body = investigation(world.beach.id)
    first = client.post("/api/reports", json=body, headers=world.h("investigator"))
    again = client.post("/api/reports", json=body, headers=world.h("investigator"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    changed = dict(body, note="different")
    r = client.post("/api/reports", json=changed, headers=world.h("investigator"))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    count = db.execute(select(func.count()).select_from(Report)).scalar_one()
    assert count == 1


def test_duplicate_suspected_then_confirmed(client: TestClient, world: World) -> None:
    first = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator"))
    assert first.status_code == 201
    second = investigation(world.beach.id)
    r = client.post("/api/reports", json=second, headers=world.h("investigator2"))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "DUPLICATE_SUSPECTED"
    assert error["details"] == [{"field": "existing_report_id", "message": str(first.json()["data"]["id"])}]
    r = client.post("/api/reports", json=dict(second, confirm_duplicate=True), headers=world.h("investigator2"))
    assert r.status_code == 201
    assert r.json()["data"]["duplicate_of_id"] == first.json()["data"]["id"]


def test_far_away_report_is_not_a_duplicate(client: TestClient, world: World) -> None:
    client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator"))
    far = investigation(world.beach.id)
    for key in ("start_latitude", "end_latitude"):
        far["areas"][0][key] += 0.01  # ~1.1 km north
    r = client.post("/api/reports", json=far, headers=world.h("investigator2"))
    assert r.status_code == 201, r.text


def test_review_by_admins_of_the_scope(client: TestClient, world: World) -> None:
    rid = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator")).json()[
        "data"
    ]["id"]
    assert (
        client.patch(f"/api/reports/{rid}", json={"status": "APPROVED"}, headers=world.h("investigator")).status_code
        == 403
    )
    assert (
        client.patch(f"/api/reports/{rid}", json={"status": "APPROVED"}, headers=world.h("other_admin")).status_code
        == 404
    )
    r = client.patch(f"/api/reports/{rid}", json={"status": "REJECTED"}, headers=world.h("admin"))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "reason"
    r = client.patch(
        f"/api/reports/{rid}", json={"status": "REJECTED", "reason": "사진 부족"}, headers=world.h("admin")
    )
    assert r.status_code == 200 and r.json()["data"]["reject_reason"] == "사진 부족"
    again = client.patch(f"/api/reports/{rid}", json={"status": "APPROVED"}, headers=world.h("admin"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_STATE"
    edit = client.patch(f"/api/reports/{rid}", json={"note": "사진 추가"}, headers=world.h("investigator"))
    assert edit.status_code == 200 and edit.json()["data"]["status"] == "DRAFT"
    sub = client.patch(f"/api/reports/{rid}", json={"status": "SUBMITTED"}, headers=world.h("investigator"))
    assert sub.status_code == 200 and sub.json()["data"]["status"] == "SUBMITTED"
    ok = client.patch(f"/api/reports/{rid}", json={"status": "APPROVED"}, headers=world.h("admin"))
    assert ok.status_code == 200 and ok.json()["data"]["status"] == "APPROVED"


def test_visibility(client: TestClient, world: World) -> None:
    draft = client.post("/api/reports/draft", json=investigation(world.beach.id), headers=world.h("investigator"))
    rid = draft.json()["data"]["id"]
    assert client.get(f"/api/reports/{rid}", headers=world.h("investigator2")).status_code == 404
    assert client.get(f"/api/reports/{rid}", headers=world.h("leader")).status_code == 404  # drafts stay private
    assert client.get(f"/api/reports/{rid}", headers=world.h("other_admin")).status_code == 404
    assert client.get(f"/api/reports/{rid}", headers=world.h("admin")).status_code == 200
    client.patch(f"/api/reports/{rid}", json={"status": "SUBMITTED"}, headers=world.h("investigator"))
    assert client.get(f"/api/reports/{rid}", headers=world.h("leader")).status_code == 200
    assert client.get(f"/api/reports/{rid}", headers=world.h("collector")).status_code == 404
    listing = client.get("/api/reports", headers=world.h("other_admin"))
    assert listing.status_code == 200 and listing.json()["data"] == []


def test_delete_only_own_draft(client: TestClient, world: World) -> None:
    rid = client.post("/api/reports/draft", json=investigation(world.beach.id), headers=world.h("investigator")).json()[
        "data"
    ]["id"]
    r = client.delete(f"/api/reports/{rid}", headers=world.h("investigator"))
    assert r.status_code == 200 and r.json()["data"] is None
    assert client.get(f"/api/reports/{rid}", headers=world.h("investigator")).status_code == 404
    sub = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator")).json()[
        "data"
    ]
    r = client.delete(f"/api/reports/{sub['id']}", headers=world.h("investigator"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "INVALID_STATE"


def cleaning(world: World, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "CLEANING",
        "beach_id": world.beach.id,
        "team_id": world.team.id,
        "cleaning_at": now_iso(),
        "areas": [
            {
                "area_name": "A",
                "start_latitude": 35.1581,
                "start_longitude": 129.1590,
                "end_latitude": 35.1590,
                "end_longitude": 129.1620,
                "trash_amount_kg": 35,
                "bag_count": 7,
                "main_trash_type": "STYROFOAM",
            }
        ],
        "is_draft": True,
    }
    body.update(extra)
    return body


def test_team_cleaning_contributions_and_credit(client: TestClient, world: World, db: Any) -> None:
    assert client.post("/api/reports", json=cleaning(world), headers=world.h("member")).status_code == 403
    r = client.post("/api/reports", json=cleaning(world), headers=world.h("leader"))
    assert r.status_code == 201, r.text
    rid = r.json()["data"]["id"]
    photo = make_image(db, world.member, "CLEANING_AFTER_AREA")
    db.commit()
    c = client.post(
        f"/api/reports/{rid}/contributions",
        json={"note": "북쪽 구역", "image_ids": [photo.id], "bags": 3, "kg": 12.5, "hours": 2},
        headers=world.h("member"),
    )
    assert c.status_code == 201, c.text
    assert c.json()["data"]["image_ids"] == [photo.id]
    assert (
        client.patch(f"/api/reports/{rid}", json={"status": "SUBMITTED"}, headers=world.h("member")).status_code == 403
    )
    r = client.patch(f"/api/reports/{rid}", json={"status": "SUBMITTED"}, headers=world.h("leader"))
    assert r.status_code == 200, r.text
    credits = {c["user_id"]: c for c in r.json()["data"]["credits"]}
    assert credits[world.leader.id]["weight"] == 1.5
    assert credits[world.member.id]["weight"] == 1.0
    assert abs(credits[world.leader.id]["share"] - 1.5 / 3.5) < 1e-5
    assert abs(sum(c["kg"] for c in credits.values()) - 35) < 0.02
    late = client.post(f"/api/reports/{rid}/contributions", json={"note": "늦음"}, headers=world.h("member"))
    assert late.status_code == 409


def test_volunteer_never_authors_solo(client: TestClient, world: World) -> None:
    body = cleaning(world)
    del body["team_id"]
    assert client.post("/api/reports", json=body, headers=world.h("volunteer")).status_code == 403
    assert client.post("/api/reports", json=body, headers=world.h("solo_cleaner")).status_code == 201


def test_claims_single_owner(client: TestClient, world: World, db: Any) -> None:
    from beachsaver.core.enums import Role
    from tests.factories import make_team, make_user, token_for

    rid = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator")).json()[
        "data"
    ]["id"]
    leader2 = make_user(db, Role.CLEANER, world.district)
    make_team(db, world.district, leader2, [])
    token2 = token_for(db, leader2)
    db.commit()
    r = client.post(f"/api/reports/{rid}/claim", headers=world.h("leader"))
    assert r.status_code == 200 and r.json()["data"]["claimed_by_team_id"] == world.team.id
    r = client.post(f"/api/reports/{rid}/claim", headers={"Authorization": f"Bearer {token2}"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "CONFLICT"
    assert client.post(f"/api/reports/{rid}/claim", headers=world.h("member")).status_code == 403
    r = client.delete(f"/api/reports/{rid}/claim", headers=world.h("admin"))
    assert r.status_code == 200 and r.json()["data"]["claimed_by_team_id"] is None
    body = cleaning(world, investigation_report_id=rid)
    r = client.post("/api/reports", json=body, headers=world.h("leader"))
    assert r.status_code == 201
    inv = client.get(f"/api/reports/{rid}", headers=world.h("admin")).json()["data"]
    assert inv["claimed_by_team_id"] == world.team.id
    assert inv["links"]["cleaning"] == r.json()["data"]["id"]


def test_team_with_a_draft_cleaning_report_cannot_be_disbanded(client: TestClient, world: World) -> None:
    r = client.post("/api/reports", json=cleaning(world), headers=world.h("leader"))
    assert r.status_code == 201
    blocked = client.patch(f"/api/teams/{world.team.id}", json={"status": "DISBANDED"}, headers=world.h("admin"))
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "CONFLICT"
    client.delete(f"/api/reports/{r.json()['data']['id']}", headers=world.h("leader"))
    ok = client.patch(f"/api/teams/{world.team.id}", json={"status": "DISBANDED"}, headers=world.h("admin"))
    assert ok.status_code == 200, ok.text
