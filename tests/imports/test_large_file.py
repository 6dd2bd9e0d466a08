"""A large file end to end: every row written, the same file again creates nothing, and a dry run
writes nothing. The time budget of 04-quality §2 (10,000 rows in ≤ 15 s) is measured by
``bench/import_accounts.py`` (``make bench``), not here: timings do not belong in unit tests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.users.models import User
from tests.imports.bulk import bulk_file
from tests.imports.world import World, count, upload

ROWS = 2_000


def test_large_file_written_once_and_dry_run_writes_nothing(client: TestClient, db: Session, w: World) -> None:
    data = bulk_file(w, ROWS)
    users_before = count(db, User)

    first = upload(client, w.city_admin, data)
    assert first.status_code == 201
    job = first.json()["data"]
    assert (job["status"], job["total_rows"], job["created"], job["error_count"]) == ("COMPLETED", ROWS, ROWS, 0)
    assert count(db, User) == users_before + ROWS

    second = upload(client, w.city_admin, data)
    job = second.json()["data"]
    assert (job["status"], job["created"], job["existing"]) == ("COMPLETED", 0, ROWS)
    assert count(db, User) == users_before + ROWS

    other = bulk_file(w, ROWS, first_phone=ROWS)
    dry = upload(client, w.city_admin, other, dry_run=True)
    assert dry.json()["data"]["status"] == "VALIDATED"

    assert count(db, User) == users_before + ROWS
