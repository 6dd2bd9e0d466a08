"""Point-in-time recovery against a private MariaDB server with binary logging (started here;
the shared server on 3306 is never touched): archiving, ``restore --until``, the RPO drill."""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from beachsaver.cli import app as cli
from beachsaver.config import Settings
from beachsaver.core.db import normalise_database_url, session_scope
from beachsaver.core.runtime import Runtime, build_runtime
from beachsaver.ops import backup, pitr
from beachsaver.orgs.models import Organization
from tests.conftest import make_settings
from tests.factories import make_city
from tests.faults.mariadb import PrivateMariaDB, mariadb, mariadb_template, private_mariadb

__all__ = ["mariadb", "mariadb_template", "private_mariadb"]


@pytest.fixture
def source(mariadb: PrivateMariaDB, tmp_path: Path) -> Iterator[tuple[Settings, Runtime]]:
    settings = make_settings(mariadb.create_database("src"), tmp_path / "data")
    runtime = build_runtime(settings)
    yield settings, runtime
    runtime.engine.dispose()


def add_cities(runtime: Runtime, *codes: str) -> None:
    """One committed transaction per city (each also writes its audit entry)."""
    for code in codes:
        with session_scope(runtime.session_factory) as db:
            make_city(db, code=code)


def rename(runtime: Runtime, code: str, name: str) -> None:
    with session_scope(runtime.session_factory) as db:
        db.execute(select(Organization).where(Organization.code == code)).scalar_one().name = name


def stats(url: str) -> dict[str, Any]:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return backup.table_stats(conn)
    finally:
        engine.dispose()


def codes(url: str) -> list[str]:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Organization.code, Organization.name).order_by(Organization.id)).all()
    finally:
        engine.dispose()
    return [f"{code}:{name}" for code, name in rows]


def next_second_boundary(margin: float = 0.4) -> datetime:
    """A whole second at least ``margin`` s ahead; sleeps until ``margin`` s past it, so no write
    of this test lands within ``margin`` s of it on either side."""
    boundary = math.ceil(time.time() + margin)
    time.sleep(max(0.0, boundary + margin - time.time()))
    return datetime.fromtimestamp(boundary, UTC)


def test_restore_until_replays_exactly_the_transactions_committed_before_the_instant(
    source: tuple[Settings, Runtime], mariadb: PrivateMariaDB, tmp_path: Path
) -> None:
    settings, runtime = source
    target = str(tmp_path / "backups")
    add_cities(runtime, "A1", "A2")
    info = backup.create(settings, target=target)
    position = info.manifest["binlog"]
    assert position["file"].startswith("binlog.") and position["position"] > 0
    assert position["database"] == settings.resolved_database_url.rsplit("/", 1)[1]

    add_cities(runtime, "B1", "B2", "B3")
    rename(runtime, "A1", "renamed-before")
    assert pitr.archive_binlogs(settings, target) >= 1  # a run in the middle: the chain spans two logs
    add_cities(runtime, "B4")
    before_until = stats(settings.resolved_database_url)
    until = next_second_boundary()
    add_cities(runtime, "C1", "C2")
    rename(runtime, "A2", "renamed-after")
    assert pitr.archive_binlogs(settings, target) >= 1

    index = pitr.load_index(backup.open_target(target, settings))
    assert all(entry["closed"] and len(entry["sha256"]) == 64 for entry in index["files"].values())

    restored = mariadb.create_database("pitr", migrate=False)
    result = pitr.restore_until(
        settings, info.id, restored, until, target=target, to_storage=(tmp_path / "files").as_uri()
    )
    assert len(result["binlogs"]) >= 2 and result["binlogs"][0] == position["file"]
    assert codes(restored) == [
        "PLATFORM:Beach-Saver",
        "A1:renamed-before",
        "A2:테스트시",
        "B1:테스트시",
        "B2:테스트시",
        "B3:테스트시",
        "B4:테스트시",
    ]
    assert stats(restored) == before_until  # every table, row for row, as at the instant

    latest = mariadb.create_database("pitr", migrate=False)
    pitr.restore_until(settings, info.id, latest, None, target=target, to_storage=(tmp_path / "files2").as_uri())
    assert stats(latest) == stats(settings.resolved_database_url)


def test_until_before_the_backup_a_gap_or_a_changed_byte_is_refused(
    source: tuple[Settings, Runtime], mariadb: PrivateMariaDB, tmp_path: Path
) -> None:
    settings, runtime = source
    target = tmp_path / "backups"
    early = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)
    info = backup.create(settings, target=str(target))
    for code in ("D1", "D2", "D3"):
        add_cities(runtime, code)
        pitr.archive_binlogs(settings, str(target))
    restored = mariadb.create_database("pitr", migrate=False)

    with pytest.raises(pitr.PitrError, match="before backup"):
        pitr.restore_until(settings, info.id, restored, early, target=str(target))

    index = pitr.load_index(backup.open_target(str(target), settings))
    start = info.manifest["binlog"]["file"]
    chain = sorted(n for n in index["files"] if n >= start)
    assert len(chain) == 3
    victim = target / "binlogs" / chain[-1]
    original = victim.read_bytes()
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    victim.write_bytes(bytes(changed))
    with pytest.raises(pitr.PitrError, match=rf"binlogs/{chain[-1]}: checksum mismatch"):
        pitr.restore_until(settings, info.id, restored, None, target=str(target))
    victim.write_bytes(original)

    middle = chain[1]
    (target / "binlogs" / middle).unlink()
    del index["files"][middle]
    (target / "binlogs" / "index.json").write_text(json.dumps(index))
    with pytest.raises(pitr.PitrError, match=f"binary log {middle} is missing from the archive"):
        pitr.restore_until(settings, info.id, restored, None, target=str(target))
    assert mariadb.query("SHOW TABLES", restored.rsplit("/", 1)[1]) == []  # refused before anything was written


def test_streaming_archiver_keeps_the_log_in_use_current(
    source: tuple[Settings, Runtime], mariadb: PrivateMariaDB, tmp_path: Path
) -> None:
    settings, runtime = source
    target = str(tmp_path / "backups")
    info = backup.create(settings, target=target)
    stop = threading.Event()
    streamer = threading.Thread(
        target=pitr.stream_binlogs, args=(settings, target), kwargs={"stop": stop, "poll_s": 0.2}, daemon=True
    )
    streamer.start()
    try:
        add_cities(runtime, "S1")
        mariadb.query("FLUSH BINARY LOGS")  # a rotation: the earlier log is closed and checksummed
        add_cities(runtime, "S2", "S3")
        deadline = time.monotonic() + 15
        store = backup.open_target(target, settings)
        while time.monotonic() < deadline:
            files = pitr.load_index(store)["files"]
            if any(e["closed"] for e in files.values()) and any(not e["closed"] for e in files.values()):
                current = max(files, key=lambda n: int(n.rsplit(".", 1)[1]))
                if files[current]["source_bytes"] == (tmp_path / "backups/binlogs" / current).stat().st_size > 1000:
                    break
            time.sleep(0.1)
    finally:
        stop.set()
        streamer.join(timeout=30)
    assert not streamer.is_alive()
    files = pitr.load_index(store)["files"]
    closed = [n for n, e in files.items() if e["closed"]]
    assert closed and all(len(files[n]["sha256"]) == 64 for n in closed)
    newest = max(files, key=lambda n: int(n.rsplit(".", 1)[1]))
    assert files[newest]["closed"] is False and files[newest]["stream"] is True  # the log still in use
    restored = mariadb.create_database("pitr", migrate=False)
    pitr.restore_until(settings, info.id, restored, None, target=target, to_storage=(tmp_path / "f").as_uri())
    assert codes(restored)[-3:] == ["S1:테스트시", "S2:테스트시", "S3:테스트시"]  # S2, S3: from the open log


def cli_env(url: str, data_dir: Path) -> dict[str, str]:
    return {
        "BEACHSAVER_ENV": "dev",
        "BEACHSAVER_DATA_DIR": str(data_dir),
        "BEACHSAVER_DATABASE_URL": url,
        "BEACHSAVER_PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BEACHSAVER_PHONE_HASH_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BEACHSAVER_JWT_SECRET": secrets.token_urlsafe(40),
        "BEACHSAVER_AUTO_MIGRATE": "false",
    }


def test_cli_binlog_archive_and_restore_until(
    source: tuple[Settings, Runtime], mariadb: PrivateMariaDB, tmp_path: Path
) -> None:
    settings, runtime = source
    env = cli_env(settings.resolved_database_url, tmp_path / "data")
    runner = CliRunner()
    target = str(tmp_path / "backups")
    add_cities(runtime, "E1")
    created = runner.invoke(cli, ["backup", "create", "--target", target], env=env)
    assert created.exit_code == 0, created.output
    backup_id = created.output.split()[0]
    add_cities(runtime, "E2")
    until = next_second_boundary()
    add_cities(runtime, "E3")
    archived = runner.invoke(cli, ["backup", "binlog-archive", "--once", "--target", target], env=env)
    assert archived.exit_code == 0, archived.output
    assert archived.output.startswith("archived ")

    restored = mariadb.create_database("pitr", migrate=False)
    naive = runner.invoke(
        cli, ["backup", "restore", backup_id, "--to", restored, "--until", "2026-11-26T12:03:00", "--target", target]
    )
    assert naive.exit_code == 2
    assert "needs an offset" in naive.output
    assert mariadb.query("SHOW TABLES", restored.rsplit("/", 1)[1]) == []

    instant = until.astimezone(ZoneInfo("Asia/Seoul")).isoformat()  # the same instant, written in +09:00
    assert instant.endswith("+09:00")
    done = runner.invoke(
        cli, ["backup", "restore", backup_id, "--to", restored, "--until", instant, "--target", target], env=env
    )
    assert done.exit_code == 0, done.output
    assert "replayed" in done.output
    assert codes(restored) == ["PLATFORM:Beach-Saver", "E1:테스트시", "E2:테스트시"]


def test_cli_until_on_sqlite_is_refused(tmp_path: Path) -> None:
    from beachsaver.core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    env = cli_env(url, tmp_path / "data")
    runner = CliRunner()
    created = runner.invoke(cli, ["backup", "create", "--target", str(tmp_path / "b")], env=env)
    assert created.exit_code == 0, created.output
    backup_id = created.output.split()[0]
    target = ["--target", str(tmp_path / "b")]
    for to in (f"sqlite:///{tmp_path / 'restored.db'}", "mysql://root@127.0.0.1:1/never"):
        args = ["backup", "restore", backup_id, "--to", to, "--until", "2026-11-26T12:03:00+09:00", *target]
        result = runner.invoke(cli, args, env=env)
        assert result.exit_code == 1, result.output
        assert "point-in-time restore needs MariaDB/MySQL" in result.output
    assert not (tmp_path / "restored.db").exists()
    archive = runner.invoke(cli, ["backup", "binlog-archive", "--once", "--target", str(tmp_path / "b")], env=env)
    assert archive.exit_code == 1
    assert "needs MariaDB/MySQL" in archive.output


def test_pitr_drill_job_schedule_measures_a_loss_within_one_interval(
    source: tuple[Settings, Runtime], tmp_path: Path
) -> None:
    settings, _ = source
    record = pitr.pitr_drill(settings, str(tmp_path / "backups"), mode="job", interval_s=2.0, cycles=1)
    assert record["rows_acknowledged"] > 20
    assert record["rows_restored"] > 0
    assert record["missing_before_last_restored"] == 0
    assert record["unacknowledged_restored"] == 0
    # The writer stopped just before the next run: the loss is about one interval (or the run's
    # own time, when a run on a busy machine takes longer than the interval).
    assert 0.5 < record["data_loss_s"] <= 2.0 + max(record["archive_s"]) + 0.5
    assert record["data_loss_s"] <= pitr.RPO_TARGET_S
    assert record["within_target"] is True
    saved = json.loads((settings.data_dir / "drills" / f"pitr-{record['backup']}.json").read_text())
    assert saved == record


def test_pitr_drill_streaming_loses_only_what_was_in_flight(source: tuple[Settings, Runtime], tmp_path: Path) -> None:
    settings, _ = source
    record = pitr.pitr_drill(settings, str(tmp_path / "backups"), mode="stream", seconds=2.0)
    assert record["rows_acknowledged"] > 20
    assert record["missing_before_last_restored"] == 0
    assert record["unacknowledged_restored"] == 0
    assert record["data_loss_s"] <= 2.0  # only what was in flight when the archiver was cut off
    assert record["within_target"] is True
    assert (settings.data_dir / "drills" / f"pitr-{record['backup']}.json").is_file()


def test_binlog_prune_keeps_what_the_recent_backups_need(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'app.db'}", tmp_path / "data")
    target = tmp_path / "backups"
    store = backup.open_target(str(target), settings)
    now = datetime.now(UTC)
    for backup_id, age_days, first in (
        ("20260101T000000Z", 40, "binlog.000002"),
        ("20260201T000000Z", 3, "binlog.000005"),
    ):
        manifest = {
            "id": backup_id,
            "label": "auto",
            "status": "OK",
            "created_at": (now - timedelta(days=age_days)).isoformat(),
            "binlog": {"file": first, "position": 4},
            "files": [],
        }
        store.put(f"{backup_id}/manifest.json", json.dumps(manifest).encode(), "application/json")
    index: dict[str, Any] = {"files": {}, "gaps": []}
    for seq in range(1, 8):
        name = f"binlog.{seq:06d}"
        store.put(f"binlogs/{name}", b"\xfebin", "application/octet-stream")
        index["files"][name] = {"bytes": 4, "sha256": "x", "closed": True}
    store.put("binlogs/index.json", json.dumps(index).encode(), "application/json")

    assert pitr.prune_binlogs(settings, str(target)) == [
        "binlog.000001",
        "binlog.000002",
        "binlog.000003",
        "binlog.000004",
    ]
    assert sorted(pitr.load_index(store)["files"]) == [f"binlog.{seq:06d}" for seq in range(5, 8)]
    assert sorted(p.name for p in (target / "binlogs").iterdir()) == [
        "binlog.000005",
        "binlog.000006",
        "binlog.000007",
        "index.json",
    ]
    assert pitr.prune_binlogs(settings, str(target), keep_days=1) == []  # no backup that recent: keep all
