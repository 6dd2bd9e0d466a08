from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beachsaver.reports.models import Report

from .conftest import World
from .test_reports import investigation


def count_reports(db: Any) -> int:
    count = int(db.execute(select(func.count()).select_from(Report)).scalar_one())
    db.rollback()  # end the read transaction: on SQLite it holds the write lock
    return count


def test_sync_items_succeed_or_fail_alone_and_replay_adds_nothing(client: TestClient, world: World, db: Any) -> None:
    good = investigation(world.beach.id)
    draft = dict(investigation(world.beach.id), is_draft=True)
    bad = investigation(world.beach.id)
    bad["areas"][0]["start_latitude"] = 123
    no_client_id = investigation(world.beach.id)
    del no_client_id["client_id"]
    batch = {"reports": [good, bad, draft, no_client_id]}
    r = client.post("/api/reports/sync", json=batch, headers=world.h("investigator"))
    assert r.status_code == 200, r.text
    results = r.json()["data"]
    assert [x["status"] for x in results] == ["CREATED", "ERROR", "CREATED", "ERROR"]
    assert results[0]["client_id"] == good["client_id"]
    assert results[1]["error"]["code"] == "VALIDATION_ERROR"
    assert results[1]["error"]["details"][0]["field"] == "areas[0].start_latitude"
    assert results[3]["error"]["details"][0]["field"] == "client_id"
    assert count_reports(db) == 2

    replay = client.post("/api/reports/sync", json=batch, headers=world.h("investigator"))
    again = replay.json()["data"]
    assert [x["status"] for x in again] == ["DUPLICATE", "ERROR", "DUPLICATE", "ERROR"]
    assert again[0]["report_id"] == results[0]["report_id"]
    assert again[2]["report_id"] == results[2]["report_id"]
    assert count_reports(db) == 2

    changed_draft = dict(draft, note="현장 메모 추가")
    changed_submitted = dict(good, note="변경")
    r = client.post(
        "/api/reports/sync", json={"reports": [changed_draft, changed_submitted]}, headers=world.h("investigator")
    )
    statuses = [x["status"] for x in r.json()["data"]]
    assert statuses == ["UPDATED", "ERROR"]
    assert r.json()["data"][1]["error"]["code"] == "CONFLICT"


def test_enum_case_and_key_order_do_not_make_a_new_payload(client: TestClient, world: World) -> None:
    body = investigation(world.beach.id)
    first = client.post("/api/reports/sync", json={"reports": [body]}, headers=world.h("investigator"))
    variant = {key: body[key] for key in reversed(list(body))}
    variant["type"] = "INVESTIGATION"
    variant["weather"] = "Sunny"
    variant["areas"] = [dict(body["areas"][0], main_trash_type="PLASTIC", start_latitude=35.158100000001)]
    r = client.post("/api/reports/sync", json={"reports": [variant]}, headers=world.h("investigator"))
    assert r.json()["data"][0]["status"] == "DUPLICATE"
    assert r.json()["data"][0]["report_id"] == first.json()["data"][0]["report_id"]


def test_sync_limits(client: TestClient, world: World) -> None:
    r = client.post("/api/reports/sync", json={"reports": []}, headers=world.h("investigator"))
    assert r.status_code == 400
    too_many = {"reports": [{"client_id": str(uuid.uuid4())}] * 501}
    r = client.post("/api/reports/sync", json=too_many, headers=world.h("investigator"))
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "reports"
    assert client.post("/api/reports/sync", json={"reports": [{}]}).status_code == 401
