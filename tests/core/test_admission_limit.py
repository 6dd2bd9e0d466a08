"""The per-process admission limit: requests beyond it wait on the event loop, then are refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from beachsaver.app import create_app
from beachsaver.core.i18n import MESSAGES
from beachsaver.core.server import AdmissionLimit
from tests.conftest import make_settings


class SlowApp:
    """Answers 200 after ``delay_s``, recording how many requests were inside at once."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.inside = 0
        self.most_inside = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


async def _get_all(app: AdmissionLimit, paths: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(*(client.get(path) for path in paths)))


def test_requests_beyond_the_limit_wait_for_a_slot_and_all_succeed() -> None:
    inner = SlowApp(0.05)
    limited = AdmissionLimit(inner, limit=2, queue_timeout_s=5)
    responses = asyncio.run(_get_all(limited, ["/api/x"] * 6))
    assert [r.status_code for r in responses] == [200] * 6
    assert inner.most_inside == 2
    assert limited.waiting == 0


def test_a_request_that_waits_too_long_is_refused_503_with_retry_after() -> None:
    inner = SlowApp(0.5)
    limited = AdmissionLimit(inner, limit=1, queue_timeout_s=0.05)
    first, second = asyncio.run(_get_all(limited, ["/api/x", "/api/y"]))
    assert first.status_code == 200
    assert second.status_code == 503
    assert second.headers["retry-after"] == "5"
    body = json.loads(second.content)
    assert body["success"] is False and body["data"] is None
    assert body["error"]["code"] == "DB_UNAVAILABLE"
    assert body["error"]["message"] == MESSAGES["db_unavailable"]["ko"]


def test_probes_are_not_limited() -> None:
    inner = SlowApp(0.3)
    limited = AdmissionLimit(inner, limit=1, queue_timeout_s=0.05)
    busy, health = asyncio.run(_get_all(limited, ["/api/x", "/health/ready"]))
    assert busy.status_code == 200 and health.status_code == 200
    assert inner.most_inside == 2


def _admission_limits(app: FastAPI) -> list[int]:
    return [int(m.kwargs["limit"]) for m in app.user_middleware if m.cls is AdmissionLimit]


def test_the_service_runs_behind_the_limit_of_its_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'limit.db'}"
    assert _admission_limits(create_app(make_settings(url, tmp_path, db_pool_size=7))) == [4]
    assert _admission_limits(create_app(make_settings(url, tmp_path, db_pool_size=3))) == [3]
    configured = make_settings(url, tmp_path, db_pool_size=7, admission_limit=6)
    assert _admission_limits(create_app(configured)) == [6]
