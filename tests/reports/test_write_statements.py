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

#: Measured 25 on SQLite and MariaDB (session, client id, savepoint, the report, its area, the
#: duplicate check, the statistics mark, the admins' notifications and deliveries, the answer's
#: parts, the audit entry).
SUBMIT_BOUND = 25


def test_an_investigation_is_submitted_in_a_bounded_number_of_statements(
    client: TestClient, world: World, db: Any
) -> None:
    client.get("/api/me", headers=world.h("investigator"))  # caches warmed
    with counting(db.get_bind()) as statements:
        r = client.post("/api/reports", json=investigation(world.beach.id), headers=world.h("investigator"))
    assert r.status_code == 201, r.text
    flat = [" ".join(s.split()) for s in statements]
    updates = [s for s in flat if s.startswith("UPDATE reports ")]
    assert len(updates) == 1, updates  # the status change, with the coastline and event time
    assert not [s for s in flat if s.startswith("SELECT") and "FROM report_areas" in s]
    assert not [s for s in flat if "collection_depots" in s]
    assert len(flat) <= SUBMIT_BOUND, "\n".join(flat)
