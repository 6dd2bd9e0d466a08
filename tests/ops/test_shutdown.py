"""Graceful shutdown of a real ``beachsaver serve`` process: readiness 503 while draining."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigterm_turns_readiness_503_then_exits(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHSAVER_")}
    env.update(BEACHSAVER_ENV="dev", BEACHSAVER_DATA_DIR=str(tmp_path))
    beachsaver = Path(sys.executable).with_name("beachsaver")
    proc = subprocess.Popen(
        [str(beachsaver), "serve", "--host", "127.0.0.1", "--port", str(port), "--drain-s", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("service did not become ready")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        draining = httpx.get(f"{base}/health/ready", timeout=2)
        assert draining.status_code == 503
        assert httpx.get(f"{base}/health", timeout=2).status_code == 200  # still serving in-flight traffic
        # uvicorn re-raises the captured SIGTERM after its graceful shutdown (the conventional exit).
        assert proc.wait(timeout=20) == -signal.SIGTERM
        output = proc.stdout.read().decode() if proc.stdout else ""
        assert "Traceback" not in output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
