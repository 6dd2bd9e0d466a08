from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from beachsaver.core.enums import Role
from beachsaver.core.time import utcnow
from beachsaver.ops import jobs
from beachsaver.ops.models import JobRun
from beachsaver.users.models import User
from tests.factories import make_city, make_district, make_user


def test_inactive_accounts_are_suspended_and_the_run_is_recorded(app: Any, db: Any) -> None:
    district = make_district(db, make_city(db))
    stale = make_user(db, Role.CLEANER, district)
    fresh = make_user(db, Role.CLEANER, district)
    admin = make_user(db, Role.DISTRICT_ADMIN, district)
    stale.last_login_at = utcnow() - timedelta(days=200)
    fresh.last_login_at = utcnow() - timedelta(days=10)
    admin.last_login_at = utcnow() - timedelta(days=400)  # the district's only admin stays
    db.commit()
    result = jobs.run(app.state.runtime, "deactivate-inactive")
    assert result.outcome == "SUCCESS" and result.rows == 1
    db.expire_all()
    assert db.get(User, stale.id).status == "SUSPENDED"
    assert db.get(User, stale.id).status_reason == "INACTIVE"
    assert db.get(User, fresh.id).status == "ACTIVE"
    assert db.get(User, admin.id).status == "ACTIVE"
    run = db.execute(select(JobRun).where(JobRun.job == "deactivate-inactive")).scalar_one()
    assert run.outcome == "SUCCESS" and run.rows == 1 and run.finished_at is not None
    db.rollback()
    again = jobs.run(app.state.runtime, "deactivate-inactive")
    assert again.rows == 0 and again.run_id is None  # idle runs leave no record


def test_failing_job_is_recorded_and_alerted(app: Any, db: Any, monkeypatch: Any) -> None:
    def explode(runtime: Any) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(jobs.REGISTRY, "explode", jobs.JobSpec("explode", explode, 60, "test"))
    result = jobs.run(app.state.runtime, "explode")
    assert result.outcome == "FAILURE" and "disk on fire" in (result.error or "")
    run = db.execute(select(JobRun).where(JobRun.job == "explode")).scalar_one()
    assert run.outcome == "FAILURE"
    db.rollback()
    spool = app.state.runtime.settings.data_dir / "alert-spool.jsonl"
    lines = [json.loads(line) for line in spool.read_text(encoding="utf-8").splitlines()]
    assert any("explode" in (line["subject"] or "") for line in lines)


def test_due_jobs_are_claimed_once(app: Any) -> None:
    runtime = app.state.runtime
    first = jobs.due_jobs(runtime)
    assert first == []  # a new schedule starts in the future
    from beachsaver.core.db import session_scope
    from beachsaver.ops.models import JobSchedule

    with session_scope(runtime.session_factory) as db:
        for schedule in db.execute(select(JobSchedule)).scalars():
            schedule.next_run_at = utcnow() - timedelta(seconds=1)
    claimed = jobs.due_jobs(runtime)
    assert "retention" in claimed and "backup" in claimed
    assert "deliver-notifications" not in claimed  # the worker loop delivers continuously
    assert jobs.due_jobs(runtime) == []


def test_audit_export_package(app: Any, db: Any, tmp_path: Any, monkeypatch: Any) -> None:
    import hashlib
    import tarfile

    from typer.testing import CliRunner

    from beachsaver import cli

    district = make_district(db, make_city(db))
    make_user(db, Role.CLEANER, district)
    from beachsaver.audit import service as audit

    audit.record(
        db,
        "USER_CREATE",
        actor_id=None,
        target_type="USER",
        target_id=1,
        org_id=district.id,
        after={"phone": "01012345678"},
    )
    db.commit()
    monkeypatch.setattr(cli, "_runtime", lambda: app.state.runtime)
    result = CliRunner().invoke(
        cli.app, ["audit", "export", "--from", "2000-01-01T00:00:00+09:00", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    path = result.output.strip().splitlines()[-1]
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        assert names == {"audit.jsonl", "verification.txt", "manifest.json"}
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        body = tar.extractfile("audit.jsonl").read()  # type: ignore[union-attr]
    assert manifest["chain_ok"] is True and manifest["entries"] >= 1
    assert manifest["files"]["audit.jsonl"] == hashlib.sha256(body).hexdigest()
    assert b"01012345678" not in body
    # the package seals what is committed first: every entry in it carries its place in the chain
    entries = [json.loads(line) for line in body.decode().splitlines()]
    assert entries and all(e["seq"] is not None and e["hash"] is not None for e in entries)
    naive = CliRunner().invoke(cli.app, ["audit", "export", "--from", "2026-01-01T00:00:00"])
    assert naive.exit_code == 2


def test_metrics_report_jobs_backups_and_pool_from_shared_state(app: Any, client: Any) -> None:
    from beachsaver.ops import metrics as ops_metrics

    ops_metrics.COLLECTOR._cached_at = 0.0  # a fresh read for this app
    text = client.get("/metrics").text
    assert 'beachsaver_security_events_total{kind="lockout"}' in text  # exported before the first lockout
    assert 'beachsaver_job_runs_total{job="backup",outcome="failure"} 0.0' in text
    assert "beachsaver_backup_last_success_timestamp_seconds 0.0" in text
    assert "beachsaver_db_pool_size" in text and "beachsaver_db_pool_in_use" in text
    result = jobs.run(app.state.runtime, "retention")
    assert result.outcome == "SUCCESS"
    ops_metrics.COLLECTOR._cached_at = 0.0
    text = client.get("/metrics").text
    assert 'beachsaver_job_last_success_timestamp_seconds{job="retention"}' in text


def _gauge(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


def test_metrics_report_audit_entries_the_worker_has_not_sealed(app: Any, client: Any, db: Any) -> None:
    """A stopped sealer (the worker) shows as unsealed entries growing old (alert AuditSealingStalled)."""
    from beachsaver.audit import service as audit
    from beachsaver.audit.models import AuditEntry
    from beachsaver.ops import metrics as ops_metrics

    factory = app.state.runtime.session_factory
    audit.seal_all(factory)  # whatever the fixtures recorded
    ops_metrics.COLLECTOR._cached_at = 0.0
    text = client.get("/metrics").text
    assert _gauge(text, "beachsaver_audit_unsealed_entries") == 0
    assert _gauge(text, "beachsaver_audit_oldest_unsealed_seconds") == 0
    for action in ("TEST_FIRST", "TEST_SECOND"):
        audit.record(db, action, actor_id=None)
        db.commit()
    first = db.execute(select(AuditEntry.id).where(AuditEntry.action == "TEST_FIRST")).scalar_one()
    db.execute(update(AuditEntry).where(AuditEntry.id == first).values(at=utcnow() - timedelta(minutes=15)))
    db.commit()
    ops_metrics.COLLECTOR._cached_at = 0.0
    text = client.get("/metrics").text
    assert _gauge(text, "beachsaver_audit_unsealed_entries") == 2
    assert 900 <= _gauge(text, "beachsaver_audit_oldest_unsealed_seconds") < 960
    assert audit.seal_all(factory) == 2
    ops_metrics.COLLECTOR._cached_at = 0.0
    text = client.get("/metrics").text
    assert _gauge(text, "beachsaver_audit_unsealed_entries") == 0
    assert _gauge(text, "beachsaver_audit_oldest_unsealed_seconds") == 0
