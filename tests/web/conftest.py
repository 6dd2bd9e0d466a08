"""Browser tests: the real service on a loopback port (uvicorn in a thread, the Busan demo data
on its own SQLite database) driven by Playwright for Python in Debian's Chromium.

The database behaviour under the pages is covered by the API tests on SQLite and MariaDB; the
browser tests check what a person does in the two clients, so one backend is enough here.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from beachsaver.core.db import session_scope
from beachsaver.core.migrate import upgrade
from beachsaver.demo.seed import DEMO_PASSWORD, seed_demo
from tests.conftest import make_settings

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

ADMIN_ROLE_NAMES = ("PLATFORM_ADMIN", "CITY_ADMIN", "DISTRICT_ADMIN")

# Demo accounts (src/beachsaver/demo/seed.py)
PLATFORM_ADMIN_PHONE = "01000000001"
CITY_ADMIN_PHONE = "01000000002"
DISTRICT_ADMIN_PHONE = "01000000003"  # 해운대구 (Haeundae); 04 수영구, 05 사하구
INVESTIGATOR_PHONE = "01000001001"  # 김조사, 해운대구
LEADER_PHONE = "01000001002"  # 이팀장, leader of the Haeundae team (members 01000001003, 01000001004)
MEMBER_PHONE = "01000001003"
VOLUNTEER_PHONE = "01000001005"
COLLECTOR_PHONE = "01000001006"  # verified vehicle
UNVERIFIED_COLLECTOR_PHONE = "01000001007"
PENDING_CITIZEN_PHONE = "01000001008"
TWO_ROLE_PHONE = "01000001009"  # investigator and cleaner in 수영구


@dataclass
class LiveServer:
    url: str
    app: Any

    def code_for(self, phone: str) -> str:
        """The newest sign-in code sent to ``phone`` (the dev outbox)."""
        response = httpx.get(f"{self.url}/api/dev/messages", params={"phone": phone, "size": 5}, timeout=60)
        codes = [m["code"] for m in response.json()["data"] if m["code"]]
        assert codes, f"no code sent to {phone}"
        return str(codes[0])

    def session(self) -> Any:
        return session_scope(self.app.state.runtime.session_factory)

    def token(self, phone: str, role: str | None = None) -> str:
        """A bearer token through the real sign-in API (admins: password + code), for
        arranging data before a browser test."""
        with httpx.Client(base_url=self.url, timeout=60) as http:
            if role in ADMIN_ROLE_NAMES:
                challenge = http.post("/api/auth/admin/login", json={"login_id": phone, "password": DEMO_PASSWORD})
                body = {"challenge_id": challenge.json()["data"]["challenge_id"], "code": self.code_for(phone)}
                return str(http.post("/api/auth/admin/verify", json=body).json()["data"]["access_token"])
            assert http.post("/api/auth/login", json={"phone": phone}).status_code == 200
            data = http.post("/api/auth/verify", json={"phone": phone, "code": self.code_for(phone)}).json()["data"]
            if "selection_token" in data:
                account = next(a for a in data["accounts"] if role is None or a["role"] == role)
                body = {"selection_token": data["selection_token"], "user_id": account["user_id"]}
                data = http.post("/api/auth/select", json=body).json()["data"]
            return str(data["access_token"])

    def api(self, token: str) -> httpx.Client:
        """An API client signed in with ``token`` (close it, or use it in a ``with``)."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from beachsaver.app import create_app

    data_dir = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{data_dir / 'web.db'}"
    upgrade(url)
    # Sign-in send limits are tested in tests/auth; here every test signs in afresh.
    app = create_app(make_settings(url, data_dir, otp_min_interval_s=0, otp_max_sends=10000))
    with session_scope(app.state.runtime.session_factory) as db:
        seed_demo(db)
    # The socket is bound here and handed to uvicorn, so no other process can take the port
    # between choosing it and listening on it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="web-test-server", daemon=True)
    thread.start()
    # Generous: on a loaded two-core machine the app's start-up can take many seconds.
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive(), "the test server stopped while starting (see the log above)"
        assert time.monotonic() < deadline, "the test server did not start within 120 s"
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per test module: Playwright's sync API keeps an event loop running in the main thread while
    it is started, which would break later tests of the same worker that call ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium package is required (scripts/lib.sh installs it)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30000)
    tab = context.new_page()
    yield tab
    context.close()


#: Where the phones stand: Haeundae beach.
PHONE_LAT, PHONE_LNG = 35.1586975, 129.1603842


def new_phone_context(browser: Any, timeout_ms: int = 30000) -> Any:
    """A phone's browser context (its own storage), allowed to read its position."""
    context = browser.new_context(
        locale="ko-KR",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"latitude": PHONE_LAT, "longitude": PHONE_LNG},
    )
    context.set_default_timeout(timeout_ms)
    return context


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    """A phone-sized tab for the worker app."""
    context = new_phone_context(browser)
    tab = context.new_page()
    yield tab
    context.close()


def admin_sign_in(page: Any, server: LiveServer, phone: str = PLATFORM_ADMIN_PHONE) -> None:
    page.goto(f"{server.url}/admin/login")
    page.get_by_label("시스템 ID").fill(phone)
    page.get_by_label("비밀번호").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="다음").click()
    page.get_by_label("인증번호 (6자리)").fill(server.code_for(phone))
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{server.url}/admin*")


def open_admin_menu(page: Any, item: str) -> None:
    """Follow an item of the console's main menu."""
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name=item).click()


def worker_sign_in(page: Any, server: LiveServer, phone: str, role_label: str | None = None) -> None:
    page.goto(f"{server.url}/app/login")
    page.get_by_label("휴대전화 번호").fill(phone)
    page.get_by_role("button", name="인증번호 받기").click()
    page.get_by_label("인증번호 (6자리)").fill(server.code_for(phone))
    page.get_by_role("button", name="로그인").click()
    if role_label is not None:
        page.get_by_label(role_label).check()
        page.get_by_role("button", name="계속").click()
    page.wait_for_url(f"{server.url}/app*")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now."""
    assert AXE.exists(), "run scripts/test.sh (it installs axe-core from tests/web/package.json)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str) -> None:
    """Saved under docs/screenshots/ when BEACHSAVER_SCREENSHOTS=1 (see docs/screenshots/README.md)."""
    import os

    if os.environ.get("BEACHSAVER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
