"""The database stopped under load (04-quality §3, 03-operations §9): the service answers 503
DB_UNAVAILABLE fast, readiness is 503 naming db, it recovers by itself within 5 s of the
database's return, no acknowledged write is lost, and the database watcher sends one alert
(directly, never through the outbox) and one recovery notice.

Each test runs the app against a private MariaDB server it stops with SIGTERM and starts again."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.app import create_app
from beachsaver.core.enums import Role
from beachsaver.core.runtime import build_runtime
from beachsaver.ops import alerts
from beachsaver.ops.dbwatch import DbWatchThread, start_db_watch
from beachsaver.orgs import service as org_service
from tests.conftest import make_settings
from tests.factories import auth, make_user, token_for
from tests.faults.mariadb import PrivateMariaDB, free_port


@dataclass
class SlackReceiver:
    """A loopback Slack incoming webhook: records each message; ``status`` is what it answers."""

    status: int = 200
    messages: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    url: str = ""

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return True
            time.sleep(0.05)
        return len(self.messages) >= count


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.messages.append(json.loads(body))
            receiver.times.append(time.monotonic())
            self.send_response(receiver.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if receiver.status == 200 else b"error")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def test_database_stopped_under_load_fails_fast_recovers_and_loses_no_acknowledged_write(
    mariadb: PrivateMariaDB, tmp_path: Path
) -> None:
    url = mariadb.create_database("outage")
    application = create_app(make_settings(url, tmp_path))
    runtime = application.state.runtime
    results: list[tuple[str, int, str | None, float, float]] = []  # (code, status, error, seconds, sent at)
    stop_load = threading.Event()
    with TestClient(application, raise_server_exceptions=False) as client:
        with runtime.session_factory() as db:
            root = org_service.ensure_root(db)
            admin = make_user(db, Role.PLATFORM_ADMIN, root)
            headers = auth(token_for(db, admin))
            root_id = root.id
            db.commit()

        def load() -> None:
            number = 0
            while not stop_load.is_set():
                number += 1
                code = f"L{number:05d}"
                started = time.monotonic()
                response = client.post(
                    "/api/organizations",
                    json={"name": "부하시", "code": code, "type": "CITY", "parent_id": root_id},
                    headers=headers,
                )
                body = response.json()
                error = body["error"]["code"] if response.status_code >= 400 else None
                results.append((code, response.status_code, error, time.monotonic() - started, started))
                time.sleep(0.01)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        try:
            deadline = time.monotonic() + 30
            while sum(1 for r in results if r[1] == 201) < 10 and time.monotonic() < deadline:
                time.sleep(0.05)
            acknowledged_before_stop = [r[0] for r in results if r[1] == 201]
            assert len(acknowledged_before_stop) >= 10, results

            mariadb.stop()  # SIGTERM; returns once mariadbd has exited
            stopped_at = time.monotonic()

            started = time.monotonic()
            response = client.get("/api/organizations", headers=headers)
            assert time.monotonic() - started < 2.0
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "DB_UNAVAILABLE"
            assert response.headers["Retry-After"] == "5"

            started = time.monotonic()
            ready = client.get("/health/ready")
            assert time.monotonic() - started < 2.0
            assert ready.status_code == 503
            assert ready.json()["error"]["code"] == "DB_UNAVAILABLE"
            assert ready.json()["error"]["details"][0]["field"] == "components.db"
            assert client.get("/health").status_code == 200  # liveness does not touch the database

            deadline = time.monotonic() + 30  # the load keeps hitting the stopped database
            while len([r for r in results if r[4] >= stopped_at]) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            during = [r for r in results if r[4] >= stopped_at]  # sent while the server was down
            assert len(during) >= 5
            assert {(status, error) for _, status, error, _, _ in during} == {(503, "DB_UNAVAILABLE")}
            assert max(seconds for _, _, _, seconds, _ in during) < 2.0

            mariadb.start()
            back = time.monotonic()
            while True:
                response = client.get("/api/organizations", headers=headers)
                if response.status_code == 200:
                    break
                assert response.status_code == 503
                assert time.monotonic() - back < 5.0, "the service did not recover within 5 s"
                time.sleep(0.1)
            recovered_s = time.monotonic() - back
            assert recovered_s < 5.0
            assert client.get("/health/ready").status_code == 200
            resumed = time.monotonic()
            deadline = resumed + 30
            while len([r for r in results if r[4] >= resumed]) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop_load.set()
            loader.join(timeout=30)
        assert not loader.is_alive()
        after = [r for r in results if r[4] >= resumed]  # sent once the service answered again
        assert after and all(status == 201 for _, status, _, _, _ in after)

    # Every answer was 201 or 503 DB_UNAVAILABLE (never a 500), and every 201 is in the database.
    assert {(s, e) for _, s, e, _, _ in results} <= {(201, None), (503, "DB_UNAVAILABLE")}
    acknowledged = {code for code, status, _, _, _ in results if status == 201}
    stored = {str(row[0]) for row in mariadb.query("SELECT code FROM organizations", url.rsplit("/", 1)[1])}
    assert acknowledged <= stored
    assert set(acknowledged_before_stop) <= stored
    runtime.engine.dispose()


def test_db_watch_sends_one_alert_within_60_s_and_one_recovery_notice(
    mariadb: PrivateMariaDB, slack: SlackReceiver, tmp_path: Path
) -> None:
    settings = make_settings(
        mariadb.create_database("watch"), tmp_path, slack_webhook_url=slack.url, ops_email="ops@example.org"
    )
    runtime = build_runtime(settings)
    stop = start_db_watch(runtime, interval_s=0.5, failures=3)
    assert isinstance(stop, DbWatchThread)
    try:
        time.sleep(1.2)
        assert slack.messages == []  # healthy: nothing said

        lost = time.monotonic()
        mariadb.stop()
        assert slack.wait_for(1, timeout=60)
        assert slack.times[0] - lost <= 60
        assert "database unavailable" in slack.messages[0]["text"]
        assert "127.0.0.1" in slack.messages[0]["text"] and "root" not in slack.messages[0]["text"]
        time.sleep(2.0)  # four more failed checks: still one alert
        assert len(slack.messages) == 1

        mariadb.start()
        assert slack.wait_for(2, timeout=30)
        assert "database available again" in slack.messages[1]["text"]
        time.sleep(1.5)
        assert len(slack.messages) == 2
        assert stop.watch.alerts_sent == 1 and stop.watch.recoveries_sent == 1
    finally:
        stop()
        runtime.engine.dispose()
    assert not stop.thread.is_alive()
    assert not alerts.spool_path(settings).exists()  # both went out: nothing spooled


def test_db_watch_spools_the_alert_when_slack_fails(
    mariadb: PrivateMariaDB, slack: SlackReceiver, tmp_path: Path
) -> None:
    slack.status = 500
    settings = make_settings(mariadb.create_database("watch"), tmp_path, slack_webhook_url=slack.url)
    runtime = build_runtime(settings)
    stop = start_db_watch(runtime, interval_s=0.3, failures=2)
    try:
        mariadb.stop()
        assert slack.wait_for(1, timeout=60)
        deadline = time.monotonic() + 10
        while not alerts.spool_path(settings).is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        mariadb.start()
        assert slack.wait_for(2, timeout=30)
        time.sleep(0.5)
    finally:
        stop()
        runtime.engine.dispose()
    lines = [json.loads(line) for line in alerts.spool_path(settings).read_text().splitlines()]
    assert [(line["channel"], line["subject"]) for line in lines] == [
        ("SLACK", "Beach-Saver: database unavailable"),
        ("SLACK", "Beach-Saver: database available again"),
    ]
    assert len(slack.messages) == 2  # one attempt each: the spool keeps them for a later retry


def test_db_watch_alerts_within_60_s_when_the_database_hangs(
    mariadb: PrivateMariaDB, slack: SlackReceiver, tmp_path: Path
) -> None:
    """A hung server (SIGSTOP: TCP accepted, nothing answered) is an outage too: the watcher's
    own short timeouts bound each check, so the alert still leaves well within 60 s."""
    settings = make_settings(mariadb.create_database("watch"), tmp_path, slack_webhook_url=slack.url)
    runtime = build_runtime(settings)
    stop = start_db_watch(runtime, interval_s=1.0, failures=3)
    try:
        time.sleep(1.5)
        lost = time.monotonic()
        mariadb.freeze()
        try:
            assert slack.wait_for(1, timeout=60)
            assert slack.times[0] - lost <= 60
            assert "database unavailable" in slack.messages[0]["text"]
        finally:
            mariadb.thaw()
        assert slack.wait_for(2, timeout=30)
        assert "database available again" in slack.messages[1]["text"]
    finally:
        stop()
        runtime.engine.dispose()
    assert len(slack.messages) == 2


def test_db_watch_state_machine_alerts_once_per_outage_and_ignores_blips(tmp_path: Path, slack: SlackReceiver) -> None:
    """The watcher's rules without a server: a blip shorter than the threshold says nothing; a
    long outage gives one alert however long it lasts, then one notice; the next outage alerts
    again."""
    from beachsaver.ops.dbwatch import DbWatch

    settings = make_settings(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, slack_webhook_url=slack.url)
    down = {"now": False}

    def ping() -> None:
        if down["now"]:
            raise ConnectionRefusedError("database gone")

    watch = DbWatch(settings, ping, interval_s=1, failures=3)
    outcomes = []
    for state in [False, True, True, False, True, True, True, True, True, False, False, True, True, True, False]:
        down["now"] = state
        outcomes.append(watch.check())
    assert outcomes.count(False) == 10
    texts = [m["text"] for m in slack.messages]
    assert len(texts) == 4
    assert ["database unavailable" in t for t in texts] == [True, False, True, False]
    assert "available again" in texts[1] and "available again" in texts[3]
    assert "ConnectionRefusedError: database gone" in texts[0]
    assert (watch.alerts_sent, watch.recoveries_sent) == (2, 2)
