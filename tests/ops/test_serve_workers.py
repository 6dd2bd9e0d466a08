"""Several worker processes behind one port (``core.server.serve_workers``, D45): connections
opened at once are spread over the processes, a process that dies is replaced on its socket,
SIGTERM stops them all, and a broken application stops the group instead of restarting it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from beachsaver.core.server import STARTUP_FAILURE

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_group(app_path: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from beachsaver.core.server import serve_workers; "
        "sys.exit(serve_workers(sys.argv[1], '127.0.0.1', int(sys.argv[2]), int(sys.argv[3])))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, app_path, str(port), str(workers)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def pids_of_connections(port: int, count: int) -> Counter[int]:
    """Open ``count`` connections first (as a pool of keep-alive clients does), then ask each."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    answered: Counter[int] = Counter()
    try:
        for conn in connections:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        for conn in connections:
            data = b""
            while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
                chunk = conn.recv(4096)
                assert chunk, "connection closed without an answer"
                data += chunk
            answered[int(data.split(b"\r\n\r\n", 1)[1])] += 1
    finally:
        for conn in connections:
            conn.close()
    return answered


def wait_for_processes(port: int, workers: int, timeout_s: float = 30) -> Counter[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            answered = pids_of_connections(port, 32)
            if len(answered) == workers:
                return answered
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not every process answered within {timeout_s} s")
        time.sleep(0.3)


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.add(int(entry.name))
    return found


def test_connections_opened_at_once_are_spread_and_a_dead_process_is_replaced() -> None:
    port = free_port()
    group = start_group("tests.ops.pid_app:app", port, 2)
    try:
        wait_for_processes(port, 2)
        # 32 connections opened at once: with one shared socket, the first process to wake took
        # them all; with a socket per process each gets its share (fewer than 4 of 32: p < 1e-6)
        answered = pids_of_connections(port, 32)
        assert len(answered) == 2 and min(answered.values()) >= 4, answered
        assert set(answered) <= children(group.pid)

        victim = next(iter(answered))
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for_processes(port, 2)
        assert victim not in replaced
        assert set(replaced) <= children(group.pid)

        group.send_signal(signal.SIGTERM)
        assert group.wait(timeout=30) == 0
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        output = group.stdout.read().decode() if group.stdout else ""
        assert "Traceback" not in output
    finally:
        if group.poll() is None:
            os.killpg(group.pid, signal.SIGKILL)


def test_an_application_that_cannot_start_stops_the_group() -> None:
    group = start_group("tests.ops.no_such_module:app", free_port(), 2)
    try:
        assert group.wait(timeout=60) == STARTUP_FAILURE
    finally:
        if group.poll() is None:
            os.killpg(group.pid, signal.SIGKILL)


def test_a_port_taken_by_another_program_is_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        group = start_group("tests.ops.pid_app:app", taken.getsockname()[1], 2)
        try:
            assert group.wait(timeout=30) != 0
            output = group.stdout.read().decode() if group.stdout else ""
            assert "Address already in use" in output
        finally:
            if group.poll() is None:
                os.killpg(group.pid, signal.SIGKILL)
