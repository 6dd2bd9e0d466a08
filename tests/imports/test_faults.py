"""A process killed (SIGKILL) in the middle of an import leaves all or nothing; a retry completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.imports.models import ImportJob
from beachsaver.users.models import User
from tests.imports.bulk import bulk_file
from tests.imports.world import World, count, upload

ROOT = Path(__file__).resolve().parents[2]


def test_killed_mid_import_leaves_nothing_and_a_retry_completes(
    client: TestClient, db: Session, w: World, database: str, tmp_path: Path
) -> None:
    data = bulk_file(w, 600)
    path = tmp_path / "accounts.xlsx"
    path.write_bytes(data)
    users_before = count(db, User)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.imports.kill_import", database, str(tmp_path), str(w.city_admin_id), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "written 600" in proc.stdout  # the accounts were written, the commit never came
    assert count(db, User) == users_before
    assert count(db, ImportJob) == 0

    response = upload(client, w.city_admin, data)
    assert response.status_code == 201
    job = response.json()["data"]
    assert (job["status"], job["created"], job["existing"]) == ("COMPLETED", 600, 0)
    assert count(db, User) == users_before + 600


def test_a_failure_while_writing_rolls_everything_back(
    client: TestClient, db: Session, w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from beachsaver.imports import service

    original = service._write

    def write_then_fail(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "_write", write_then_fail)
    users_before = count(db, User)
    response = upload(client, w.city_admin, bulk_file(w, 30))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert count(db, User) == users_before
    assert count(db, ImportJob) == 0


def test_an_account_created_meanwhile_fails_the_job_cleanly(
    client: TestClient, db: Session, w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between validation and write another request takes a phone of the file: the unique index
    refuses the insert, nothing of the file is written and the row is reported."""
    from beachsaver.core.enums import Role, UserStatus
    from beachsaver.imports import service
    from beachsaver.orgs.models import Organization
    from beachsaver.users import service as user_service

    original = service.validate

    def validate_then_race(session: Session, *args: Any, **kwargs: Any) -> Any:
        outcome = original(session, *args, **kwargs)
        org = session.get(Organization, w.d1)
        assert org is not None
        user_service.build_user(
            session,
            nickname="끼어든사람",
            phone="01070000002",  # row 4 of the file (a COLLECTOR, see bulk_rows)
            role=Role.COLLECTOR,
            org=org,
            status=UserStatus.ACTIVE,
            created_by=None,
        )
        return outcome

    monkeypatch.setattr(service, "validate", validate_then_race)
    users_before = count(db, User)
    response = upload(client, w.city_admin, bulk_file(w, 6))
    assert response.status_code == 201
    job = response.json()["data"]
    assert job["status"] == "FAILED"
    assert job["created"] == 0
    assert job["errors"] == [
        {"row": 4, "column": "phone", "message": "This phone already has a different account with this role."}
    ]
    assert [r["status"] for r in job["results"]] == ["VALID", "VALID", "INVALID", "VALID", "VALID", "VALID"]
    assert count(db, User) == users_before + 1  # only the other request's account
    assert count(db, ImportJob) == 1


def test_an_equal_account_created_meanwhile_is_existing_and_the_rest_is_written(
    client: TestClient, db: Session, w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two imports of the same file at once: the loser's insert is refused by the unique index,
    its rows are matched again and the write is retried: the accounts are not created twice."""
    from beachsaver.core.enums import Role, UserStatus
    from beachsaver.imports import service
    from beachsaver.orgs.models import Organization
    from beachsaver.users import service as user_service

    original = service.validate

    def validate_then_race(session: Session, *args: Any, **kwargs: Any) -> Any:
        outcome = original(session, *args, **kwargs)
        org = session.get(Organization, w.d1)
        assert org is not None
        user_service.build_user(
            session,
            nickname="작업자00001",  # exactly row 3 of the file (see bulk_rows)
            phone="01070000001",
            role=Role.CLEANER,
            org=org,
            status=UserStatus.ACTIVE,
            created_by=None,
        )
        return outcome

    monkeypatch.setattr(service, "validate", validate_then_race)
    users_before = count(db, User)
    job = upload(client, w.city_admin, bulk_file(w, 6)).json()["data"]
    assert (job["status"], job["created"], job["existing"], job["errors"]) == ("COMPLETED", 5, 1, [])
    assert [r["status"] for r in job["results"]] == ["CREATED", "EXISTING", "CREATED", "CREATED", "CREATED", "CREATED"]
    assert count(db, User) == users_before + 6
