"""The delivery loop: in a thread of the API process, and as `beachsaver worker` until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from beachsaver.notifications import delivery, service
from beachsaver.notifications.models import Delivery
from beachsaver.worker import loop
from beachsaver.worker.cli import deliver_notifications_job, notifications_app
from tests.notifications.receivers import HttpReceiver, SmtpServer, provider_settings

WORKER = "import typer; from beachsaver.worker.cli import worker_command; typer.run(worker_command)"


@pytest.fixture
def overrides(receiver: HttpReceiver, smtp: SmtpServer) -> dict[str, Any]:
    return provider_settings(receiver, smtp)


@pytest.fixture
def settings_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    return overrides


def environment(app: Any, overrides: dict[str, Any]) -> dict[str, str]:
    s = app.state.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHSAVER_")}
    env.update({f"BEACHSAVER_{k.upper()}": str(v) for k, v in overrides.items()})
    env.update(
        {
            "BEACHSAVER_ENV": "dev",
            "BEACHSAVER_ENV_FILE": "/nonexistent",
            "BEACHSAVER_AUTO_MIGRATE": "false",
            "BEACHSAVER_DATA_DIR": str(s.data_dir),
            "BEACHSAVER_DATABASE_URL": s.database_url,
            "BEACHSAVER_PII_KEY": s.pii_key,
            "BEACHSAVER_PHONE_HASH_KEY": s.phone_hash_key,
            "BEACHSAVER_JWT_SECRET": s.jwt_secret,
        }
    )
    return env


def queue(db: Any, n: int, prefix: str = "loop") -> list[str]:
    keys = [f"{prefix}:{i}" for i in range(n)]
    for i, key in enumerate(keys):
        service.queue_delivery(
            db,
            service.outgoing(
                db,
                channel="SLACK" if i % 2 else "SMS",
                address="slack" if i % 2 else "01012345678",
                key=key,
                title="t",
                message=f"m{i}",
            ),
        )
    db.commit()
    return keys


def statuses(db: Any) -> list[str]:
    db.expire_all()
    found = list(db.execute(select(Delivery.status).order_by(Delivery.id)).scalars())
    db.commit()
    return found


def wait_for(predicate: Any, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_in_process_thread_delivers_until_stopped(app: Any, db: Any, receiver: HttpReceiver) -> None:
    stop = loop.start_in_process(app.state.runtime, interval=0.1)
    try:
        keys = queue(db, 4)
        assert wait_for(lambda: len(receiver.accepted_keys()) == 4)
        # The receiver answers before the loop commits the row's new state: wait for the commit.
        assert wait_for(lambda: statuses(db) == ["SENT"] * 4)
    finally:
        started = time.monotonic()
        stop()
        assert time.monotonic() - started < 5
    assert not any(t.name == "beachsaver-delivery" and t.is_alive() for t in __import__("threading").enumerate())
    queue(db, 1, prefix="after-stop")
    time.sleep(0.3)
    assert sorted(receiver.accepted_keys()) == sorted(keys)


def test_the_loop_survives_a_failing_round(app: Any, db: Any, receiver: HttpReceiver, monkeypatch: Any) -> None:
    calls = {"n": 0}
    real = delivery.deliver_pending

    def flaky(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(delivery, "deliver_pending", flaky)
    queue(db, 2)
    stop = loop.start_in_process(app.state.runtime, interval=0.05)
    try:
        assert wait_for(lambda: len(receiver.accepted_keys()) == 2)
    finally:
        stop()
    assert calls["n"] >= 2


def test_beachsaver_worker_runs_until_sigterm(
    app: Any, db: Any, receiver: HttpReceiver, overrides: dict[str, Any]
) -> None:
    keys = queue(db, 3)
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, "--interval", "0.2"],
        env=environment(app, overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: len(receiver.accepted_keys()) == 3, timeout=30), proc.stderr
        more = queue(db, 2, prefix="second")
        assert wait_for(lambda: len(receiver.accepted_keys()) == 5, timeout=30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert b"SIGTERM stops it" in out
    assert receiver.accepted_keys() == dict.fromkeys(keys + more, 1)
    assert statuses(db) == ["SENT"] * 5


def test_notifications_retry_command(app: Any, db: Any, receiver: HttpReceiver, overrides: dict[str, Any]) -> None:
    queue(db, 2)
    settings = app.state.settings.model_copy(update={"notify_max_attempts": 1})
    receiver.mode = "fail"
    assert delivery.deliver_pending(app.state.runtime.session_factory, settings) == 2
    assert statuses(db) == ["DEAD", "DEAD"]
    receiver.mode = "ok"
    runner = CliRunner()
    env = environment(app, overrides)
    dead_id = db.execute(select(Delivery.id).order_by(Delivery.id)).scalars().first()
    db.commit()
    result = runner.invoke(notifications_app, ["retry", "--id", str(dead_id)], env=env)
    assert result.exit_code == 0, result.output
    assert "re-queued 1 dead delivery" in result.output
    assert statuses(db) == ["PENDING", "DEAD"]
    result = runner.invoke(notifications_app, ["retry", "--id", "999999"], env=env)
    assert result.exit_code == 1
    result = runner.invoke(notifications_app, ["retry"], env=env)
    assert result.exit_code == 0 and "re-queued 1 dead delivery" in result.output
    assert deliver_notifications_job(app.state.settings) == 2
    assert statuses(db) == ["SENT", "SENT"]
    assert sorted(receiver.accepted_keys().values()) == [1, 1]


def test_in_process_default_follows_the_database(app: Any) -> None:
    s = app.state.settings.model_copy(update={"worker_in_process": None})  # the default
    sqlite = s.model_copy(update={"database_url": "sqlite:////tmp/x.db"})
    mysql = s.model_copy(update={"database_url": "mysql://root@127.0.0.1/x"})
    assert loop.in_process_enabled(sqlite) is True
    assert loop.in_process_enabled(mysql) is False
    assert loop.in_process_enabled(mysql.model_copy(update={"worker_in_process": True})) is True
    assert loop.in_process_enabled(sqlite.model_copy(update={"worker_in_process": False})) is False
    assert loop.interval_s(s) == 5.0


def test_each_round_seals_the_audit_entries_committed_since(app: Any, db: Any) -> None:
    from beachsaver.audit import service as audit
    from beachsaver.audit.models import AuditEntry

    for i in range(3):
        audit.record(db, "TEST_BEFORE_ROUND", actor_id=None, after={"i": i})
        db.commit()
    unsealed = select(AuditEntry.id).where(AuditEntry.seq.is_(None))
    assert len(db.execute(unsealed).all()) == 3
    db.commit()
    loop.tick(app.state.runtime)
    assert db.execute(unsealed).all() == []
    result = audit.verify_chain(db)
    db.commit()
    assert result.ok and result.checked == 3 and result.unsealed == 0
