"""``beachsaver ops check``: the guide's routine inspection in one go, as a dated record."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from beachsaver.core.db import session_scope
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import utcnow
from beachsaver.ops import slowlog
from beachsaver.ops.models import Inspection

SLOW_QUERY_LIMIT = 5
DISK_WARN_PCT = 80


@dataclass
class Item:
    name: str
    status: str  # OK | WARN | FAIL | SKIPPED
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _api_health(runtime: Runtime) -> Item:
    from fastapi.testclient import TestClient

    from beachsaver.app import create_app

    app = create_app(runtime.settings, run_startup=False)
    with TestClient(app) as client:
        live = client.get("/health")
        ready = client.get("/health/ready")
    app.state.runtime.engine.dispose()
    if live.status_code == 200 and ready.status_code == 200:
        return Item("API health", "OK", "/health 200, /health/ready 200")
    return Item(
        "API health", "FAIL", f"/health {live.status_code}, /health/ready {ready.status_code}: {ready.text[:200]}"
    )


def _database(runtime: Runtime) -> list[Item]:
    started = time.perf_counter()
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return [Item("DB connectivity", "FAIL", type(exc).__name__)]
    latency = (time.perf_counter() - started) * 1000
    slow = slowlog.recent(runtime.settings.data_dir)
    return [
        Item("DB connectivity", "OK" if latency < 500 else "WARN", f"SELECT 1 in {latency:.1f} ms"),
        Item(
            "Slow queries (24 h)",
            "OK" if len(slow) < SLOW_QUERY_LIMIT else "FAIL",
            f"{len(slow)} statements over 1 s (limit: fewer than {SLOW_QUERY_LIMIT})",
        ),
    ]


def _disk(path: Path, name: str) -> Item:
    path.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(path)
    pct = usage.used / usage.total * 100
    status = "OK" if pct < DISK_WARN_PCT else ("WARN" if pct < 90 else "FAIL")
    return Item(f"Disk: {name}", status, f"{pct:.1f}% used of {usage.total / 2**30:.1f} GiB at {path}")


def _backups(runtime: Runtime) -> Item:
    from beachsaver.ops import backup

    try:
        newest = backup.newest(runtime.settings)
    except Exception as exc:
        return Item("Backups", "FAIL", f"cannot read the backup target: {type(exc).__name__}")
    if newest is None:
        return Item("Backups", "FAIL", "no backup yet")
    age_h = (utcnow() - newest.created_at).total_seconds() / 3600
    max_age_h = getattr(runtime.settings, "backup_max_age_h", 26)
    if newest.status != "OK" or age_h > max_age_h:
        return Item(
            "Backups", "FAIL", f"newest {newest.id} is {newest.status}, {age_h:.1f} h old (limit {max_age_h} h)"
        )
    return Item("Backups", "OK", f"newest {newest.id}, {age_h:.1f} h old")


def _logs(runtime: Runtime) -> Item:
    log_file = runtime.settings.log_file
    if not log_file:
        return Item("Log retention", "OK", "logs go to stdout (collected by the platform); no local files to keep")
    files = [p for p in Path(log_file).parent.glob(Path(log_file).name + "*") if p.is_file()]
    if not files:
        return Item("Log retention", "WARN", f"no log files at {log_file}")
    oldest_days = (time.time() - min(p.stat().st_mtime for p in files)) / 86400
    status = "OK" if oldest_days <= 366 else "FAIL"
    return Item("Log retention", status, f"{len(files)} files, oldest {oldest_days:.0f} days (kept 365, then purged)")


def _vulnerabilities() -> Item:
    tool = shutil.which("pip-audit")
    if tool is None:
        return Item("Dependency audit", "SKIPPED", "pip-audit is not installed here (it runs in the GitHub workflow)")
    try:
        result = subprocess.run(
            [tool, "--progress-spinner", "off", "-f", "json"], capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        return Item("Dependency audit", "SKIPPED", "vulnerability service unreachable (timeout)")
    if result.returncode == 0:
        return Item("Dependency audit", "OK", "no known vulnerabilities")
    if "ConnectionError" in result.stderr or "Max retries" in result.stderr:
        return Item("Dependency audit", "SKIPPED", "vulnerability service unreachable")
    return Item("Dependency audit", "FAIL", result.stdout[:300] or result.stderr[:300])


def run_check(runtime: Runtime, *, audit_dependencies: bool = True) -> tuple[Inspection, Path]:
    settings = runtime.settings
    items = [_api_health(runtime), *_database(runtime), _disk(settings.data_dir, "data")]
    backup_dir = Path(getattr(settings, "backup_dir", None) or settings.data_dir / "backups")
    items.append(_disk(backup_dir, "backups"))
    items.append(_backups(runtime))
    items.append(_logs(runtime))
    if audit_dependencies:
        items.append(_vulnerabilities())
    now = utcnow()
    ok = not any(i.failed for i in items)
    markdown = render_markdown(now.strftime("%Y-%m-%d %H:%M UTC"), items, ok)
    folder = settings.data_dir / "inspections"
    folder.mkdir(parents=True, exist_ok=True)
    stem = now.strftime("%Y%m%dT%H%M%SZ")
    (folder / f"{stem}.md").write_text(markdown, encoding="utf-8")
    payload: dict[str, Any] = {"at": now.isoformat(), "ok": ok, "items": [asdict(i) for i in items]}
    (folder / f"{stem}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    with session_scope(runtime.session_factory) as db:
        record = Inspection(at=now, ok=ok, items=[asdict(i) for i in items], markdown=markdown)
        db.add(record)
    return record, folder / f"{stem}.md"


def render_markdown(when: str, items: list[Item], ok: bool) -> str:
    lines = [
        f"# Beach-Saver inspection — {when}",
        "",
        f"Result: **{'PASS' if ok else 'FAIL'}**",
        "",
        "| item | status | detail |",
        "|---|---|---|",
    ]
    lines += [f"| {i.name} | {i.status} | {i.detail.replace('|', '/')} |" for i in items]
    return "\n".join(lines) + "\n"
