"""Regression (found by the API fuzzing drill): the switch middleware read the switches from the
database on the event loop. On SQLite a read waits for the write lock, so while one request held
it the whole server stood still until the 30 s busy timeout (requests timed out after 60 s)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from beachsaver.ops import switches


def test_reading_the_switches_never_blocks_the_event_loop(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real_load = switches.load
    loads: list[str] = []

    def slow_load(db: Any) -> switches.SwitchState:
        loads.append(threading.current_thread().name)
        time.sleep(0.6)  # a database that takes its time (a held lock, a slow network)
        return real_load(db)

    monkeypatch.setattr(switches, "load", slow_load)

    async def scenario() -> tuple[int, int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.02)

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            task = asyncio.create_task(ticker())
            response = await client.get("/api/version")
            done.set()
            await task
        return response.status_code, ticks

    status, ticks = asyncio.run(scenario())
    assert status == 200
    assert loads, "the switches were not read"
    assert threading.main_thread().name not in loads, "the switches were read on the event loop's thread"
    assert ticks >= 10, f"the event loop stood still while the switches were read ({ticks} ticks in 0.6 s)"


def test_a_refresh_in_progress_leaves_other_requests_on_the_last_state(app: Any) -> None:
    cache = switches.SwitchCache()
    cache._lock.acquire()  # another thread is reading
    try:
        started = time.monotonic()
        state = cache.get(app.state.runtime)
        assert time.monotonic() - started < 0.5
        assert state == switches.SwitchState(None, None, frozenset())
    finally:
        cache._lock.release()
