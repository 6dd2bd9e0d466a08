"""Shutdown of a real ``beachsaver serve`` / ``beachsaver demo`` process: readiness 503 while
draining, and a clean stop on SIGTERM (an orchestrator) or SIGINT (Ctrl-C at ``make run``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_ready(args: list[str], data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """``beachsaver ARGS`` on a dev instance in ``data_dir``, once ``/health/ready`` answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHSAVER_")}
    env.update(BEACHSAVER_ENV="dev", BEACHSAVER_DATA_DIR=str(data_dir))
    beachsaver = Path(sys.executable).with_name("beachsaver")
    proc = subprocess.Popen(
        [str(beachsaver), *args, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"beachsaver {args[0]} did not become ready")


def test_sigterm_turns_readiness_503_then_exits(tmp_path: Path) -> None:
    port = free_port()
    proc = start_ready(["serve", "--drain-s", "2"], tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
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


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_stops_on_ctrl_c_and_sigterm(tmp_path: Path, stop: signal.Signals) -> None:
    """``make run`` (``beachsaver demo``) serves without a drain and stops at once, cleanly."""
    proc = start_ready(["demo"], tmp_path, free_port())
    try:
        proc.send_signal(stop)
        # Ctrl-C ends in the command line's exit status 130 (128 + SIGINT); SIGTERM is re-raised.
        assert proc.wait(timeout=20) == (130 if stop == signal.SIGINT else -stop)
        output = proc.stdout.read().decode() if proc.stdout else ""
        assert "Traceback" not in output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
