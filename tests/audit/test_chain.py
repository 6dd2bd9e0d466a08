"""The hash chain: ``beachsaver audit verify`` and concurrent writers (03 §6, 07 §5)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from beachsaver.audit import service as audit
from beachsaver.audit.models import AuditEntry, AuditHead
from beachsaver.cli import app as cli_app
from beachsaver.core.db import session_scope
from beachsaver.core.runtime import runtime_of
from tests.auth.helpers import fetch_all


def cli_env(client: TestClient, tmp_path: Path) -> dict[str, str]:
    settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    env_file = tmp_path / "empty.env"
    env_file.write_text("", encoding="utf-8")
    return {
        "BEACHSAVER_ENV": "dev",
        "BEACHSAVER_ENV_FILE": str(env_file),
        "BEACHSAVER_DATA_DIR": str(tmp_path / "cli-data"),
        "BEACHSAVER_DATABASE_URL": settings.database_url,
        "BEACHSAVER_PII_KEY": settings.pii_key,
        "BEACHSAVER_PHONE_HASH_KEY": settings.phone_hash_key,
        "BEACHSAVER_JWT_SECRET": settings.jwt_secret,
        "BEACHSAVER_AUTO_MIGRATE": "false",
    }


def run_verify(client: TestClient, tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["audit", "verify"], env=cli_env(client, tmp_path))
    return result.exit_code, result.output


def write_entries(db: Any, n: int) -> None:
    for i in range(n):
        audit.record(db, "TEST_ENTRY", actor_id=None, after={"i": i, "phone": "01012345678"})
        db.commit()


def tamper(db: Any, statement: Any) -> None:
    db.execute(statement)
    db.commit()


def test_empty_log_verifies(client: TestClient, db: Any, tmp_path: Path) -> None:
    code, output = run_verify(client, tmp_path)
    assert code == 0, output
    assert "checked 0 entries: OK" in output


def test_intact_chain_exits_0(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 5)
    code, output = run_verify(client, tmp_path)
    assert code == 0, output
    assert "checked 5 entries: OK" in output


def test_intact_chain_after_api_traffic(client: TestClient, db: Any, tmp_path: Path) -> None:
    for phone in ("01099998888", "01099998887", "01099998886"):
        client.post("/api/auth/verify", json={"phone": phone, "code": "123456"})
        client.post("/api/auth/otp", json={"phone": phone, "purpose": "SIGNUP"})
    write_entries(db, 2)
    code, output = run_verify(client, tmp_path)
    assert code == 0, output


def test_edited_after_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 5)
    tamper(db, update(AuditEntry).where(AuditEntry.id == 3).values(after={"i": 99}))
    code, output = run_verify(client, tmp_path)
    assert code == 1
    assert "entry 3" in output and "TAMPERED" in output


def test_edited_actor_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 3)
    tamper(db, update(AuditEntry).where(AuditEntry.id == 2).values(actor_id=42))
    code, output = run_verify(client, tmp_path)
    assert code == 1 and "entry 2" in output


def test_rehashed_entry_breaks_the_next_link(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 4)
    entry = db.get(AuditEntry, 2)
    entry.after = {"i": 1000}
    entry.hash = audit.chain_hash(entry.prev_hash, entry)
    db.commit()
    code, output = run_verify(client, tmp_path)
    assert code == 1
    assert "entry 3" in output


def test_deleted_entry_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 5)
    tamper(db, delete(AuditEntry).where(AuditEntry.id == 3))
    code, output = run_verify(client, tmp_path)
    assert code == 1
    assert "3..3" in output


def test_deleted_first_entry_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 3)
    tamper(db, delete(AuditEntry).where(AuditEntry.id == 1))
    code, _output = run_verify(client, tmp_path)
    assert code == 1


def test_deleted_last_entry_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 5)
    tamper(db, delete(AuditEntry).where(AuditEntry.id == 5))
    code, output = run_verify(client, tmp_path)
    assert code == 1
    assert "removed" in output


def test_all_entries_deleted_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 2)
    tamper(db, delete(AuditEntry))
    code, _ = run_verify(client, tmp_path)
    assert code == 1


def test_deleted_head_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 2)
    tamper(db, delete(AuditHead))
    code, _ = run_verify(client, tmp_path)
    assert code == 1


def test_chain_links_and_head(client: TestClient, db: Any) -> None:
    write_entries(db, 4)
    entries = fetch_all(db, select(AuditEntry).order_by(AuditEntry.id))
    assert [e.id for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == audit.GENESIS
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
    for entry in entries:
        assert entry.hash == audit.chain_hash(entry.prev_hash, entry)
    [head] = fetch_all(db, select(AuditHead))
    assert head.last_id == 4 and head.last_hash == entries[-1].hash


@pytest.mark.parametrize("threads", [12])
def test_concurrent_writers_keep_one_linear_chain(client: TestClient, db: Any, tmp_path: Path, threads: int) -> None:
    """Writers start together on an empty log (no head row yet) and keep appending.

    Three rounds, each from an empty log, so that the creation of the head row is raced too.
    """
    factory = runtime_of(db).session_factory
    per_thread = 5
    for _round in range(3):
        tamper(db, delete(AuditEntry))
        tamper(db, delete(AuditHead))
        barrier = threading.Barrier(threads)
        failures: list[BaseException] = []

        def writer(n: int, barrier: threading.Barrier = barrier, failures: list[BaseException] = failures) -> None:
            try:
                barrier.wait(timeout=30)
                for i in range(per_thread):
                    with session_scope(factory) as session:
                        audit.record(session, "TEST_CONCURRENT", actor_id=None, after={"writer": n, "i": i})
                        audit.record(session, "TEST_CONCURRENT_PAIR", actor_id=None, after={"writer": n, "i": i})
            except BaseException as exc:  # surfaced below
                failures.append(exc)

        workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert not failures, failures
        entries = fetch_all(db, select(AuditEntry).order_by(AuditEntry.id))
        assert len(entries) == threads * per_thread * 2
        assert [e.id for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].prev_hash == audit.GENESIS
        for previous, entry in itertools.pairwise(entries):
            assert entry.prev_hash == previous.hash
        # The two entries of one transaction are adjacent: a transaction appends as one block.
        for first, second in zip(entries[::2], entries[1::2], strict=True):
            assert first.action == "TEST_CONCURRENT" and second.action == "TEST_CONCURRENT_PAIR"
            assert first.after == second.after
        code, output = run_verify(client, tmp_path)
        assert code == 0, output
        assert f"checked {len(entries)} entries: OK" in output
