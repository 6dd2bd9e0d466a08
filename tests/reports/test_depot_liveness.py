"""Depots carry their request's liveness (``collection_depots.request_live``, D46): the depot
lists and counts read it instead of each depot's request, so every transition of a request must
keep it right. After each step, the column equals what the requests say, and the collectors'
lists show exactly the depots of live requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.depots.models import CollectionDepot, request_is_live
from beachsaver.reports.models import Report
from tests.factories import make_image

from .conftest import World
from .test_depots import collection_request, submit_request

NEAR = {"near": "35.1561,129.1601"}


def assert_liveness_matches_requests(db: Any) -> None:
    # on a connection of its own, closed at once: the test's session keeps no read open (on
    # SQLite that would hold up the service's next write) and its objects stay loaded
    with db.get_bind().connect() as conn:
        rows = conn.execute(
            select(CollectionDepot.id, CollectionDepot.request_live, Report.status, Report.deleted_at).join(
                Report, Report.id == CollectionDepot.report_id
            )
        ).all()
    assert rows, "no depot to check"
    wrong = [row.id for row in rows if row.request_live != request_is_live(row.status, row.deleted_at)]
    assert wrong == [], f"depots whose request_live disagrees with their request: {wrong}"


def near_ids(client: TestClient, world: World, **params: Any) -> tuple[list[int], int]:
    r = client.get("/api/collection-depots", params={**NEAR, **params}, headers=world.h("collector"))
    assert r.status_code == 200, r.text
    return [d["id"] for d in r.json()["data"]], r.json()["meta"]["total"]


def test_depots_follow_their_request_on_and_off_the_field(client: TestClient, world: World, db: Any) -> None:
    draft = client.post(
        "/api/reports", json=collection_request(world, db, is_draft=True), headers=world.h("solo_cleaner")
    )
    assert draft.status_code == 201
    assert_liveness_matches_requests(db)

    request = submit_request(client, world, db)
    rid, depots = request["id"], sorted(d["id"] for d in request["collection_depots"])
    assert_liveness_matches_requests(db)
    ids, total = near_ids(client, world)
    assert sorted(ids) == depots and total == 3

    rejected = client.patch(
        f"/api/reports/{rid}", json={"status": "REJECTED", "reason": "사진 부족"}, headers=world.h("admin")
    )
    assert rejected.status_code == 200
    assert_liveness_matches_requests(db)
    assert near_ids(client, world) == ([], 0)
    assert client.get(f"/api/collection-depots/{depots[0]}", headers=world.h("collector")).status_code == 404

    again = client.patch(f"/api/reports/{rid}", json={"status": "SUBMITTED"}, headers=world.h("solo_cleaner"))
    assert again.status_code == 200, again.text
    assert_liveness_matches_requests(db)
    ids, total = near_ids(client, world)
    assert sorted(ids) == depots and total == 3

    approved = client.patch(f"/api/reports/{rid}", json={"status": "APPROVED"}, headers=world.h("admin"))
    assert approved.status_code == 200
    photo = make_image(db, world.solo_cleaner, "COLLECTION_DEPOT")
    db.commit()
    added = client.post(
        "/api/collection-depots",
        json={"report_id": rid, "name": "추가 집하장", "latitude": 35.1562, "longitude": 129.1602, "photo": photo.id},
        headers=world.h("solo_cleaner"),
    )
    assert added.status_code == 201, added.text
    assert_liveness_matches_requests(db)
    ids, total = near_ids(client, world)
    assert ids[0] == added.json()["data"]["id"] and total == 4


def test_a_depot_written_without_its_liveness_takes_its_requests(client: TestClient, world: World, db: Any) -> None:
    live = submit_request(client, world, db)
    draft = client.post(
        "/api/reports", json=collection_request(world, db, is_draft=True), headers=world.h("solo_cleaner")
    ).json()["data"]
    for request in (live, draft):
        db.add(
            CollectionDepot(
                report_id=request["id"],
                org_id=world.beach.org_id,
                name="직접 입력",
                latitude=Decimal("35.1570000"),
                longitude=Decimal("129.1605000"),
                status="WAITING",
            )
        )
    db.commit()
    assert_liveness_matches_requests(db)
    written = db.execute(
        select(CollectionDepot.report_id, CollectionDepot.request_live).where(CollectionDepot.name == "직접 입력")
    )
    assert dict(written.all()) == {live["id"]: True, draft["id"]: False}
    db.rollback()


def test_near_pages_follow_the_distance_and_count_live_depots_only(client: TestClient, world: World, db: Any) -> None:
    submit_request(client, world, db)
    rejected = submit_request(client, world, db)["id"]
    client.patch(f"/api/reports/{rejected}", json={"status": "REJECTED", "reason": "중복"}, headers=world.h("admin"))
    everything, total = near_ids(client, world, size=20)
    assert total == 3 and len(everything) == 3
    first, _ = near_ids(client, world, size=2, page=1)
    second, second_total = near_ids(client, world, size=2, page=2)
    assert first + second == everything and second_total == 3
    assert near_ids(client, world, size=2, page=3) == ([], 3)
