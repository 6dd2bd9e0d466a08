"""A real Prometheus, with the project's alert rules and scrape relabelling, scrapes a tiny
metrics server on loopback that reports a sign-in lock-out and a failed batch job; the
SignInLockout and BatchJobFailed alerts must fire within 30 seconds (06-real-components)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.helpers import ALERTS, PROMETHEUS_CONFIG, load_yaml, tool

DEADLINE_S = 30.0


class FakeService:
    """Serves /metrics like the service: the lock-out counter and the backup job's failure
    counter are 0 for the first two scrapes and 1 afterwards; another kind of security event
    grows on every scrape (it must not fire the lock-out rule)."""

    def __init__(self) -> None:
        self.scrapes = 0
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = service.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def exposition(self) -> str:
        with self.lock:
            self.scrapes += 1
            scrapes = self.scrapes
        happened = 0 if scrapes <= 2 else 1
        return (
            "# HELP beachsaver_security_events_total Security events raised\n"
            "# TYPE beachsaver_security_events_total counter\n"
            f'beachsaver_security_events_total{{kind="lockout"}} {happened}\n'
            f'beachsaver_security_events_total{{kind="role_change"}} {scrapes}\n'
            "# HELP beachsaver_job_runs_total Scheduled job runs\n"
            "# TYPE beachsaver_job_runs_total counter\n"
            f'beachsaver_job_runs_total{{job="backup",outcome="failure"}} {happened}\n'
            f'beachsaver_job_runs_total{{job="backup",outcome="success"}} {scrapes}\n'
        )

    def __enter__(self) -> FakeService:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape_config(target_port: int) -> dict[str, Any]:
    """The shipped prometheus.yml with 1 s intervals, the absolute rule path and the API job
    (including its metric relabelling) pointed at the fake service."""
    shipped = load_yaml(PROMETHEUS_CONFIG)
    api_job = next(job for job in shipped["scrape_configs"] if job["job_name"] == "beachsaver-api")
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {
                "job_name": api_job["job_name"],
                "metrics_path": api_job["metrics_path"],
                "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}],
                "metric_relabel_configs": api_job["metric_relabel_configs"],
            }
        ],
    }


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[FakeService, str, Path]]:
    binary = tool("prometheus")
    with FakeService() as service:
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(scrape_config(service.port)), encoding="utf-8")
        port = free_port()
        log = tmp_path / "prometheus.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield service, f"http://127.0.0.1:{port}", log
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def firing_alerts(base: str) -> list[dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{base}/api/v1/alerts", timeout=2) as response:
            payload = json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return []
    return [alert for alert in payload["data"]["alerts"] if alert["state"] == "firing"]


def test_lockout_and_job_failure_fire_in_a_real_prometheus(prometheus: tuple[FakeService, str, Path]) -> None:
    service, base, log = prometheus
    deadline = time.monotonic() + DEADLINE_S
    wanted = {"SignInLockout", "BatchJobFailed"}
    alerts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        alerts = firing_alerts(base)
        if wanted <= {alert["labels"]["alertname"] for alert in alerts}:
            break
        time.sleep(0.5)
    names = {alert["labels"]["alertname"] for alert in alerts}
    assert wanted <= names, f"firing after {DEADLINE_S:.0f} s: {sorted(names)}; log:\n{log.read_text()[-3000:]}"
    assert service.scrapes >= 3

    lockouts = [alert for alert in alerts if alert["labels"]["alertname"] == "SignInLockout"]
    assert [alert["labels"]["kind"] for alert in lockouts] == ["lockout"]
    assert lockouts[0]["labels"]["severity"] == "critical"
    assert lockouts[0]["labels"]["team"] == "security"
    assert lockouts[0]["labels"]["job"] == "beachsaver-api"

    failures = [alert for alert in alerts if alert["labels"]["alertname"] == "BatchJobFailed"]
    assert len(failures) == 1
    labels = failures[0]["labels"]
    # The scraped label `job` became `job_name`; the target label `job` stayed the scrape job.
    assert labels["job_name"] == "backup"
    assert labels["job"] == "beachsaver-api"
    assert "exported_job" not in labels
    assert labels["outcome"] == "failure"
    assert labels["severity"] == "notice"
    assert labels["team"] == "job-owner"
    assert failures[0]["annotations"]["summary"] == "Batch job backup failed"
