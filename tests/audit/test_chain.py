"""The hash chain: ``beachsaver audit verify`` and concurrent writers (03 §6, 07 §5)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update
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
    """``n`` entries, one transaction each, then sealed (what the worker does within seconds)."""
    for i in range(n):
        audit.record(db, "TEST_ENTRY", actor_id=None, after={"i": i, "phone": "01012345678"})
        db.commit()
    audit.seal_all(runtime_of(db).session_factory)


def entry_ids(db: Any) -> list[int]:
    """The entries' ids in chain order (ids come from the table's counter: on MariaDB it does not
    restart when a previous test's rows are wiped)."""
    return [e.id for e in fetch_all(db, select(AuditEntry).order_by(AuditEntry.seq))]


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
    total = len(fetch_all(db, select(AuditEntry)))
    assert total > 2 and f"checked {total} entries: OK" in output


def test_unsealed_entries_are_reported_not_failed(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 3)
    audit.record(db, "TEST_LATE", actor_id=None)
    db.commit()
    [late] = fetch_all(db, select(AuditEntry).where(AuditEntry.action == "TEST_LATE"))
    assert (late.seq, late.prev_hash, late.hash) == (None, None, None)
    code, output = run_verify(client, tmp_path)
    assert code == 0, output
    assert "1 entries not sealed yet" in output and "checked 3 entries: OK" in output
    assert audit.seal_all(runtime_of(db).session_factory) == 1
    code, output = run_verify(client, tmp_path)
    assert code == 0 and "checked 4 entries: OK" in output and "not sealed" not in output


def test_writers_do_not_wait_for_the_chain_head(client: TestClient, db: Any, backend: str) -> None:
    """The head is locked only by the sealer: a write commits while another transaction holds it."""
    if backend == "sqlite":
        pytest.skip("MariaDB/MySQL only: on SQLite every writer takes the whole database")
    write_entries(db, 1)
    factory = runtime_of(db).session_factory
    with factory() as holder:
        holder.execute(select(AuditHead).with_for_update()).all()  # the sealer's lock, held
        with factory() as writer:
            writer.execute(text("SET SESSION innodb_lock_wait_timeout = 2"))
            audit.record(writer, "TEST_WHILE_SEALING", actor_id=None)
            writer.commit()  # would wait 2 s and fail if writers took the head
            writer.execute(text("SET SESSION innodb_lock_wait_timeout = DEFAULT"))
            writer.commit()
        holder.rollback()
    assert len(fetch_all(db, select(AuditEntry).where(AuditEntry.action == "TEST_WHILE_SEALING"))) == 1


def test_edited_after_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 5)
    third = entry_ids(db)[2]
    tamper(db, update(AuditEntry).where(AuditEntry.id == third).values(after={"i": 99}))
    code, output = run_verify(client, tmp_path)
    assert code == 1
    assert f"entry {third}:" in output and "TAMPERED" in output


def test_edited_actor_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 3)
    second = entry_ids(db)[1]
    tamper(db, update(AuditEntry).where(AuditEntry.id == second).values(actor_id=42))
    code, output = run_verify(client, tmp_path)
    assert code == 1 and f"entry {second}:" in output


def test_rehashed_entry_breaks_the_next_link(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 4)
    ids = entry_ids(db)
    entry = db.get(AuditEntry, ids[1])
    entry.after = {"i": 1000}
    entry.hash = audit.chain_hash(entry.prev_hash, entry)
    db.commit()
    code, output = run_verify(client, tmp_path)
    assert code == 1
    assert f"entry {ids[2]}:" in output


def test_deleted_entry_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 5)
    tamper(db, delete(AuditEntry).where(AuditEntry.id == entry_ids(db)[2]))
    code, output = run_verify(client, tmp_path)
    assert code == 1
    assert "entries 3..3 are missing" in output


def test_deleted_first_entry_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 3)
    tamper(db, delete(AuditEntry).where(AuditEntry.id == entry_ids(db)[0]))
    code, _output = run_verify(client, tmp_path)
    assert code == 1


def test_deleted_last_entry_is_detected(client: TestClient, db: Any, tmp_path: Path) -> None:
    write_entries(db, 5)
    tamper(db, delete(AuditEntry).where(AuditEntry.id == entry_ids(db)[4]))
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
    assert [e.seq for e in entries] == [1, 2, 3, 4]  # sealed in id order
    assert entries[0].prev_hash == audit.GENESIS
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
    for entry in entries:
        assert entry.hash == audit.chain_hash(entry.prev_hash, entry)
    [head] = fetch_all(db, select(AuditHead))
    assert head.last_id == 4 and head.last_hash == entries[-1].hash


@pytest.mark.parametrize("threads", [12])
def test_concurrent_writers_and_sealers_keep_one_linear_chain(
    client: TestClient, db: Any, tmp_path: Path, threads: int
) -> None:
    """Writers append while three sealers seal, all starting together on an empty log (no head
    row yet); every entry ends up sealed exactly once in one gap-free chain.

    Three rounds, each from an empty log, so that the creation of the head row is raced too.
    """
    factory = runtime_of(db).session_factory
    per_thread = 5
    sealers = 3
    for _round in range(3):
        tamper(db, delete(AuditEntry))
        tamper(db, delete(AuditHead))
        barrier = threading.Barrier(threads + sealers)
        failures: list[BaseException] = []
        writing = threading.Event()
        writing.set()

        def writer(n: int, barrier: threading.Barrier = barrier, failures: list[BaseException] = failures) -> None:
            try:
                barrier.wait(timeout=30)
                for i in range(per_thread):
                    with session_scope(factory) as session:
                        audit.record(session, "TEST_CONCURRENT", actor_id=None, after={"writer": n, "i": i})
                        audit.record(session, "TEST_CONCURRENT_PAIR", actor_id=None, after={"writer": n, "i": i})
            except BaseException as exc:  # surfaced below
                failures.append(exc)

        def sealer(
            barrier: threading.Barrier = barrier, failures: list[BaseException] = failures, writing: Any = writing
        ) -> None:
            try:
                barrier.wait(timeout=30)
                while writing.is_set():
                    audit.seal_all(factory)
            except BaseException as exc:
                failures.append(exc)

        writers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
        sealing = [threading.Thread(target=sealer) for _ in range(sealers)]
        for worker in writers + sealing:
            worker.start()
        for worker in writers:
            worker.join(timeout=120)
        writing.clear()
        for worker in sealing:
            worker.join(timeout=120)
        assert not failures, failures
        audit.seal_all(factory)
        entries = fetch_all(db, select(AuditEntry).order_by(AuditEntry.seq))
        assert len(entries) == threads * per_thread * 2
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].prev_hash == audit.GENESIS
        for previous, entry in itertools.pairwise(entries):
            assert entry.prev_hash == previous.hash
        pairs = {(e.action, e.after["writer"], e.after["i"]) for e in entries}
        assert len(pairs) == len(entries)  # each entry once
        code, output = run_verify(client, tmp_path)
        assert code == 0, output
        assert f"checked {len(entries)} entries: OK" in output
