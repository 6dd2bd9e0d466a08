"""Backup and restore drill on a SQLite copy: a SQLite database generated like the bench dataset
with ``20,000 × scale`` reports (or, when the bench itself runs on SQLite, a copy of the bench
database), then ``beachsaver backup drill`` (back up, restore into a scratch database, compare
every table and object) as a separate process; its measured backup and restore (with
verification) times."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import Bench, build_dataset, main_for


def copy_sqlite(b: Bench, target: Path) -> None:
    """A consistent copy of the bench's SQLite database (the online backup API)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    b.dataset()
    source = sqlite3.connect(str(make_url(b.url).database))
    copy = sqlite3.connect(str(target))
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def run(b: Bench) -> dict[str, Any]:
    from beachsaver.core.runtime import build_runtime

    folder = b.work / "restore"
    folder.mkdir(exist_ok=True)
    url = f"sqlite:///{folder / 'copy.db'}"
    overrides = {"database_url": url, "data_dir": folder / "data", "backup_dir": folder / "backups"}
    runtime = build_runtime(b.settings(**overrides))
    try:
        started = time.perf_counter()
        if b.backend == "sqlite":
            copy_sqlite(b, folder / "copy.db")
            source = "a copy of the bench database"
        else:
            build_dataset(url, b.sizes.restore_reports, runtime, years=b.sizes.years)
            source = "generated like the bench database"
        build_s = time.perf_counter() - started
        with runtime.engine.connect() as conn:
            reports = int(conn.exec_driver_sql("SELECT COUNT(*) FROM reports").scalar_one())
    finally:
        runtime.engine.dispose()
    db_bytes = (folder / "copy.db").stat().st_size
    done = subprocess.run(
        [sys.executable, "-c", "from beachsaver.cli import main; main()", "backup", "drill"],
        env=b.process_env(**overrides),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"backup drill failed ({done.returncode}): {done.stderr[-2000:]}")
    record = json.loads(done.stdout[done.stdout.index("{") :])
    params = b.params(
        database=f"SQLite ({source})",
        command="beachsaver backup drill",
        database_mb=round(db_bytes / 2**20, 1),
        rows=record.get("rows"),
        tables=record.get("tables"),
        rto_s=record.get("rto_s"),
        mismatched_tables=record.get("mismatched_tables"),
        prepare_s=round(build_s, 1),
    )
    figures = {
        "reports": reports,
        "backup_s": record["backup_s"],
        "restore_s": record["restore_s"],
        "verified": bool(record["verified"]),
    }
    return b.emit("restore", params, figures)


def main() -> None:
    main_for("restore", run, __doc__ or "")


if __name__ == "__main__":
    main()
