from __future__ import annotations

import threading
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.images import service as image_service
from beachsaver.notifications.models import Notification
from tests.factories import make_image

from .conftest import World

DEPOTS = [
    ("북쪽 집하장", 35.1600, 129.1610),
    ("남쪽 집하장", 35.1560, 129.1600),
    ("동쪽 집하장", 35.1585, 129.1660),
]


def collection_request(world: World, db: Any, **extra: Any) -> dict[str, Any]:
    photos = [make_image(db, world.solo_cleaner, "COLLECTION_DEPOT") for _ in DEPOTS]
    db.commit()
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "COLLECTION_REQUEST",
        "beach_id": world.beach.id,
        "collection_depots": [
            {"name": name, "latitude": lat, "longitude": lng, "photo": photo.id, "estimated_kg": 20}
            for (name, lat, lng), photo in zip(DEPOTS, photos, strict=True)
        ],
    }
    body.update(extra)
    return body


def submit_request(client: TestClient, world: World, db: Any) -> dict[str, Any]:
    r = client.post("/api/reports", json=collection_request(world, db), headers=world.h("solo_cleaner"))
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


def completion_photo(world: World, db: Any, who: str = "collector") -> int:
    image = make_image(db, getattr(world, who), "COLLECTION_COMPLETED")
    db.commit()
    return int(image.id)


def test_request_creates_waiting_depots_and_notifies_collectors(client: TestClient, world: World, db: Any) -> None:
    data = submit_request(client, world, db)
    assert [d["status"] for d in data["collection_depots"]] == ["WAITING"] * 3
    notified = set(
        db.execute(select(Notification.user_id).where(Notification.event == "COLLECTION_REQUESTED")).scalars()
    )
    assert notified == {world.collector.id, world.collector2.id, world.unverified.id}


def test_depot_needs_a_photo_on_submission(client: TestClient, world: World, db: Any) -> None:
    body = collection_request(world, db)
    del body["collection_depots"][1]["photo"]
    r = client.post("/api/reports", json=body, headers=world.h("solo_cleaner"))
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "collection_depots[1].photo"


def test_draft_depots_are_invisible(client: TestClient, world: World, db: Any) -> None:
    body = collection_request(world, db, is_draft=True)
    r = client.post("/api/reports", json=body, headers=world.h("solo_cleaner"))
    assert r.status_code == 201
    assert [d["status"] for d in r.json()["data"]["collection_depots"]] == [None] * 3
    listing = client.get("/api/collection-depots", headers=world.h("collector"))
    assert listing.json()["data"] == []


def test_claim_complete_once(client: TestClient, world: World, db: Any) -> None:
    depot_id = submit_request(client, world, db)["collection_depots"][0]["id"]
    r = client.post(f"/api/collection-depots/{depot_id}/claim", headers=world.h("unverified"))
    assert r.status_code == 403
    r = client.post(f"/api/collection-depots/{depot_id}/claim", headers=world.h("collector"))
    assert r.status_code == 200 and r.json()["data"]["status"] == "IN_ROUTE"
    r = client.post(f"/api/collection-depots/{depot_id}/claim", headers=world.h("collector2"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "CONFLICT"
    photo = completion_photo(world, db)
    body = {"collected_amount": 18.5, "photo": photo, "note": "완료"}
    r = client.patch(f"/api/collection-depots/{depot_id}/complete", json=body, headers=world.h("collector"))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "COMPLETED" and r.json()["data"]["collected_amount"] == 18.5
    r = client.patch(f"/api/collection-depots/{depot_id}/complete", json=body, headers=world.h("collector"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "INVALID_STATE"
    # COMPLETED depots of another collector are not visible to the others.
    assert client.get(f"/api/collection-depots/{depot_id}", headers=world.h("collector2")).status_code == 404


def test_direct_completion_and_concurrency(client: TestClient, world: World, db: Any) -> None:
    depot_id = submit_request(client, world, db)["collection_depots"][1]["id"]
    photos = {"collector": completion_photo(world, db), "collector2": completion_photo(world, db, "collector2")}
    results: list[int] = []

    def complete(who: str) -> None:
        r = client.patch(
            f"/api/collection-depots/{depot_id}/complete",
            json={"collected_amount": 10, "photo": photos[who]},
            headers=world.h(who),
        )
        results.append(r.status_code)

    threads = [threading.Thread(target=complete, args=(w,)) for w in ("collector", "collector2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]


def test_issue_and_resolve(client: TestClient, world: World, db: Any) -> None:
    depot_id = submit_request(client, world, db)["collection_depots"][2]["id"]
    r = client.post(
        f"/api/collection-depots/{depot_id}/issue", json={"note": "접근 불가"}, headers=world.h("collector")
    )
    assert r.status_code == 200 and r.json()["data"]["status"] == "ISSUE"
    assert client.post(f"/api/collection-depots/{depot_id}/resolve", headers=world.h("collector")).status_code == 403
    r = client.post(f"/api/collection-depots/{depot_id}/resolve", headers=world.h("admin"))
    assert r.status_code == 200 and r.json()["data"]["status"] == "WAITING"
    assert r.json()["data"]["collector_id"] is None


def test_near_and_route(client: TestClient, world: World, db: Any) -> None:
    depots = submit_request(client, world, db)["collection_depots"]
    r = client.get("/api/collection-depots", params={"near": "35.1561,129.1601"}, headers=world.h("collector"))
    assert r.status_code == 200
    items = r.json()["data"]
    assert items[0]["name"] == "남쪽 집하장"
    distances = [i["distance_m"] for i in items]
    assert distances == sorted(distances)
    bad = client.get("/api/collection-depots", params={"near": "95,129"}, headers=world.h("collector"))
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "query.near"
    for d in depots:
        assert client.post(f"/api/collection-depots/{d['id']}/claim", headers=world.h("collector")).status_code == 200
    r = client.get("/api/collection-depots/route", params={"start": "35.1550,129.1595"}, headers=world.h("collector"))
    assert r.status_code == 200
    route = r.json()["data"]
    assert [d["order"] for d in route] == [1, 2, 3]
    assert route[0]["name"] == "남쪽 집하장"
    assert abs(sum(d["leg_m"] for d in route) - r.json()["meta"]["total_m"]) < 1
    assert (
        client.get("/api/collection-depots/route", params={"start": "35,129"}, headers=world.h("admin")).status_code
        == 403
    )


def test_collectors_may_read_photos_of_depots_they_see(client: TestClient, world: World, db: Any) -> None:
    data = submit_request(client, world, db)
    photo_id = data["collection_depots"][0]["image_ids"][0]
    assert client.get(f"/api/images/{photo_id}", headers=world.h("collector")).status_code == 200
    assert client.get(f"/api/images/{photo_id}", headers=world.h("investigator")).status_code == 404


def test_completion_answers_what_a_fresh_read_returns(
    client: TestClient, world: World, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The completion is not read back from the database: its answer must still be the stored row
    (the completion time given with an offset is stored and answered in UTC, amounts and
    positions as stored)."""
    # The photo's signed URLs expire a fixed time after they are made: one clock for both answers,
    # or two answers on either side of a second's boundary differ in their expiry.
    signed_at = time.time()
    monkeypatch.setattr(image_service, "time", SimpleNamespace(time=lambda: signed_at))
    depot_id = submit_request(client, world, db)["collection_depots"][2]["id"]
    body = {
        "collected_amount": 18.25,
        "photo": completion_photo(world, db),
        "note": "완료",
        "latitude": 35.15851,
        "longitude": 129.16602,
        "collection_completed_at": "2026-01-05T09:30:15.123456+09:00",
    }
    r = client.patch(f"/api/collection-depots/{depot_id}/complete", json=body, headers=world.h("collector"))
    assert r.status_code == 200, r.text
    answered = r.json()["data"]
    assert answered["collection_completed_at"] == "2026-01-05T00:30:15Z"
    fresh = client.get(f"/api/collection-depots/{depot_id}", headers=world.h("collector"))
    assert fresh.status_code == 200
    assert answered == fresh.json()["data"]
