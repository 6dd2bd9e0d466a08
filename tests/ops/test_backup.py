from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from beachsaver.core.db import normalise_database_url
from beachsaver.core.enums import Role
from beachsaver.ops import backup
from beachsaver.storage import build_storage
from beachsaver.users.models import User
from tests.conftest import MYSQL_URL, create_mysql_database, drop_mysql_database
from tests.factories import make_city, make_district, make_user


@pytest.fixture
def populated(app: Any, db: Any) -> Any:
    district = make_district(db, make_city(db))
    for _ in range(3):
        make_user(db, Role.CLEANER, district)
    db.commit()
    store = build_storage(app.state.runtime.settings)
    store.put("images/2026/11/a.jpg", b"\xff\xd8 first", "image/jpeg")
    store.put("images/2026/11/b.jpg", b"\xff\xd8 second", "image/jpeg")
    return app.state.runtime.settings


@pytest.fixture
def empty_db(backend: str, tmp_path: Path) -> Any:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    assert MYSQL_URL
    name = f"bs_restore_{uuid.uuid4().hex[:8]}"
    url = create_mysql_database(MYSQL_URL, name)
    yield url
    drop_mysql_database(MYSQL_URL, name)


def _count_users(url: str) -> int:
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(User.__table__)).scalar_one())
    engine.dispose()
    return count


def test_create_verify_restore_round_trip(populated: Any, empty_db: str, tmp_path: Path) -> None:
    settings = populated
    target = str(tmp_path / "backups")
    info = backup.create(settings, label="milestone", target=target)
    assert info.status == "OK" and info.manifest["tables"]["users"]["rows"] == 3
    assert [b.id for b in backup.list_backups(settings, target)] == [info.id]
    assert backup.verify(settings, info.id, target) == []
    restored_files = (tmp_path / "restored-files").as_uri()
    result = backup.restore(settings, info.id, empty_db, target=target, to_storage=restored_files)
    assert result["objects"] == 2
    assert _count_users(empty_db) == 3
    assert (tmp_path / "restored-files" / "images/2026/11/b.jpg").read_bytes() == b"\xff\xd8 second"
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(settings, info.id, empty_db, target=target, to_storage=(tmp_path / "other").as_uri())


def test_verify_names_the_changed_file(populated: Any, tmp_path: Path) -> None:
    target = tmp_path / "backups"
    info = backup.create(populated, target=str(target))
    artifact = target / info.id / "files.tar.gz"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))
    assert backup.verify(populated, info.id, str(target)) == ["files.tar.gz: checksum mismatch (changed or corrupted)"]


def test_second_backup_in_the_same_second_gets_a_suffix(populated: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from datetime import UTC, datetime

    fixed = datetime(2026, 11, 26, 12, 3, 1, tzinfo=UTC)
    monkeypatch.setattr(backup, "utcnow", lambda: fixed)
    first = backup.create(populated, target=str(tmp_path / "b"))
    second = backup.create(populated, target=str(tmp_path / "b"))
    assert (first.id, second.id) == ("20261126T120301Z", "20261126T120301Z-2")


def test_encrypted_backup_needs_the_key(populated: Any, empty_db: str, tmp_path: Path) -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    settings = populated.model_copy(update={"backup_key": key})
    info = backup.create(settings, target=str(tmp_path / "enc"))
    blob = (tmp_path / "enc" / info.id / "db.jsonl.gz").read_bytes()
    assert blob.startswith(b"BSENC1")
    with pytest.raises(backup.BackupError, match="encrypted"):
        backup.restore(populated, info.id, empty_db, target=str(tmp_path / "enc"), to_storage=(tmp_path / "f").as_uri())
    backup.restore(settings, info.id, empty_db, target=str(tmp_path / "enc"), to_storage=(tmp_path / "f").as_uri())
    assert _count_users(empty_db) == 3


def test_prune_keeps_by_label(populated: Any, tmp_path: Path) -> None:
    from datetime import timedelta

    target = str(tmp_path / "p")
    auto = backup.create(populated, label="auto", target=target)
    milestone = backup.create(populated, label="milestone", target=target)
    latest = backup.create(populated, label="auto", target=target)
    later = latest.created_at + timedelta(days=20)
    removed = backup.prune(populated, target, now=later)
    assert removed == [auto.id]
    assert {b.id for b in backup.list_backups(populated, target)} == {milestone.id, latest.id}


def test_drill_restores_and_compares_everything(populated: Any, tmp_path: Path) -> None:
    record = backup.drill(populated, target=str(tmp_path / "d"))
    assert record["verified"] is True
    assert record["mismatched_tables"] == [] and record["objects_match"] is True
    assert record["rows"] > 3 and record["objects"] == 2
    assert (populated.data_dir / "drills" / f"{record['backup']}.json").is_file()


def test_cli_list_and_verify(populated: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from beachsaver import cli

    monkeypatch.setattr(cli, "_settings", lambda: populated)
    runner = CliRunner()
    target = str(tmp_path / "cli")
    created = runner.invoke(cli.app, ["backup", "create", "--target", target])
    assert created.exit_code == 0, created.output
    backup_id = created.output.split()[0]
    listed = runner.invoke(cli.app, ["backup", "list", "--target", target])
    assert listed.output.split()[:2] == [backup_id, "auto"]
    assert listed.output.split()[3] == "OK"
    assert runner.invoke(cli.app, ["backup", "verify", backup_id, "--target", target]).exit_code == 0
    (Path(target) / backup_id / "db.jsonl.gz").write_bytes(b"tampered")
    bad = runner.invoke(cli.app, ["backup", "verify", backup_id, "--target", target])
    assert bad.exit_code == 1 and "db.jsonl.gz: checksum mismatch" in bad.output


def test_restore_refuses_a_database_that_is_not_empty(populated: Any, database: str, tmp_path: Path) -> None:
    info = backup.create(populated, target=str(tmp_path / "x"))
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(populated, info.id, database, target=str(tmp_path / "x"), to_storage=(tmp_path / "y").as_uri())
    engine = create_engine(normalise_database_url(database))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == 3
    engine.dispose()


def test_a_dump_line_reads_back_the_same_whichever_json_writer_wrote_it() -> None:
    """Dumps written before orjson (stdlib json, non-ASCII escaped) restore like today's."""
    values = {
        "id": 7,
        "name": "해운대 해수욕장",
        "at": datetime(2026, 11, 27, 10, 30, 0, 123456),
        "day": date(2026, 11, 27),
        "litres": Decimal("120.50"),
        "blob": b"\x00\x01\xff",
        "extra": {"a": [1, 2.5, None], "b": "부산"},
        "gone": None,
    }
    row = {key: backup._jsonable(value) for key, value in values.items()}
    lines = [json.dumps(row).encode(), backup._row_digest(row)]
    assert b"\\ud574" in lines[0] and "해운대".encode() in lines[1]
    for line in lines:
        assert backup._revive(orjson.loads(line)) == values


def test_a_generated_history_restores_row_for_row_into_either_backend(app: Any, backend: str, tmp_path: Path) -> None:
    """Every kind of column (UTC date-times, dates, decimals, JSON, enums, encrypted bytes) of a
    generated history goes through the restore's inserts and reads back the same, into the same
    backend and, where MariaDB is configured, into the other one."""
    from beachsaver.core.db import session_scope
    from beachsaver.demo import scale, seed

    runtime = app.state.runtime
    with session_scope(runtime.session_factory) as db:
        seed.seed_demo(db)
    scale.generate(runtime, 300)
    settings = runtime.settings
    target = str(tmp_path / "backups")
    info = backup.create(settings, label="drill", target=target)
    targets = {"sqlite": f"sqlite:///{tmp_path / 'restored.db'}"}
    if MYSQL_URL:
        name = f"bs_restore_{uuid.uuid4().hex[:8]}"
        targets["mysql"] = create_mysql_database(MYSQL_URL, name)
    try:
        for into, url in targets.items():
            backup.restore(settings, info.id, url, target=target, to_storage=(tmp_path / f"files-{into}").as_uri())
            engine = create_engine(normalise_database_url(url))
            with engine.connect() as conn:
                restored = backup.table_stats(conn)
            engine.dispose()
            assert restored["reports"]["rows"] >= 300
            mismatched = sorted(t for t, stats in info.manifest["tables"].items() if restored.get(t) != stats)
            assert mismatched == [], f"{backend} → {into}: {mismatched}"
    finally:
        if MYSQL_URL:
            drop_mysql_database(MYSQL_URL, name)
