"""A report submission is written in a bounded number of statements (04 §2): the report is
inserted with its own columns (not inserted bare and updated), its areas need no look-up, the
duplicate check does not flush it early, and nothing reads depots of a report that cannot have
them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.statements import counting

from .conftest import World
from .test_reports import investigation

#: Measured with three areas 24 statements on SQLite, 22 on MariaDB (session, client id, savepoint, the
#: report, its areas, the duplicate check, the statistics mark, the admins' notifications and
#: deliveries, the answer's parts, the audit entry).
SUBMIT_BOUND = 24


def test_an_investigation_is_submitted_in_a_bounded_number_of_statements(
    client: TestClient, world: World, db: Any
) -> None:
    client.get("/api/me", headers=world.h("investigator"))  # caches warmed
    body = investigation(world.beach.id)
    body["areas"] = [dict(body["areas"][0], area_name=name) for name in ("A구역", "B구역", "C구역")]
    with counting(db.get_bind()) as statements:
        r = client.post("/api/reports", json=body, headers=world.h("investigator"))
    assert r.status_code == 201, r.text
    assert [a["area_name"] for a in r.json()["data"]["areas"]] == ["A구역", "B구역", "C구역"]
    flat = [" ".join(s.split()) for s in statements]
    # every area in one flush: on MariaDB one INSERT (it returns the ids of a multi-row insert);
    # SQLAlchemy reads SQLite's generated ids back one row at a time
    one_insert = db.get_bind().dialect.name == "mysql"
    area_inserts = [s for s in flat if s.startswith("INSERT INTO report_areas")]
    assert len(area_inserts) == (1 if one_insert else 3), area_inserts
    # the notifications' dedupe keys (in-app markers and outbox rows) are looked up once
    assert len([s for s in flat if s.startswith("SELECT") and "FROM deliveries" in s]) == 1, flat
    updates = [s for s in flat if s.startswith("UPDATE reports ")]
    assert len(updates) == 1, updates  # the status change, with the coastline and event time
    assert not [s for s in flat if s.startswith("SELECT") and "FROM report_areas" in s]
    assert not [s for s in flat if "collection_depots" in s]
    assert len(flat) <= SUBMIT_BOUND, "\n".join(flat)
