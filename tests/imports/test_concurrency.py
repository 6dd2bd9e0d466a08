"""The same file imported twice at the same moment creates every account exactly once.

Runs against a fresh database of its own (07 §12) and real threads through the ASGI app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from beachsaver.users.models import User
from tests.conftest import fresh_database_url
from tests.imports.bulk import bulk_file
from tests.imports.world import World, upload

ROUNDS = 3
ROWS = 300


@pytest.fixture(scope="module")
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, cleanup = fresh_database_url(backend, tmp_path_factory.mktemp(f"import-concurrency-{backend}"))
    yield url
    cleanup()


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_the_same_file_twice_at_once(client: TestClient, db: Session, w: World) -> None:
    for round_no in range(ROUNDS):
        data = bulk_file(w, ROWS, first_phone=round_no * ROWS)
        before = int(db.execute(select(func.count()).select_from(User)).scalar_one())
        db.commit()
        responses = race([partial(upload, client, w.city_admin, data)] * 2)
        assert [r.status_code for r in responses] == [201, 201], [r.text[:300] for r in responses]
        winner, loser = sorted((r.json()["data"] for r in responses), key=lambda j: -j["created"])
        assert (winner["status"], winner["created"], winner["existing"]) == ("COMPLETED", ROWS, 0)
        # the loser either validated after the winner's commit, or had its insert refused by the
        # unique index and matched its rows again: either way they are all EXISTING
        assert (loser["status"], loser["created"], loser["existing"], loser["errors"]) == ("COMPLETED", 0, ROWS, [])
        after = int(db.execute(select(func.count()).select_from(User)).scalar_one())
        db.commit()
        assert after - before == ROWS


def test_an_import_waiting_too_long_for_another_is_409(
    client: TestClient, db: Session, w: World, backend: str, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "sqlite":
        pytest.skip("MariaDB/MySQL only: on SQLite writers are serialised by BEGIN IMMEDIATE")
    from sqlalchemy import text

    from beachsaver.imports import service

    monkeypatch.setattr(service, "WRITE_LOCK_WAIT_S", 0)
    before = int(db.execute(select(func.count()).select_from(User)).scalar_one())
    db.commit()
    with app.state.runtime.engine.connect() as other:
        assert other.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": service.WRITE_LOCK}).scalar() == 1
        response = upload(client, w.city_admin, bulk_file(w, 3, first_phone=9000))
        other.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": service.WRITE_LOCK})
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT",
        "message": "Another import is being written; try again in a moment.",
        "trace_id": response.json()["error"]["trace_id"],
    }
    assert int(db.execute(select(func.count()).select_from(User)).scalar_one()) == before
    db.commit()
    assert upload(client, w.city_admin, bulk_file(w, 3, first_phone=9000)).json()["data"]["created"] == 3
