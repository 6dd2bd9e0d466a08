"""Sign-in on both clients, the session cookie's CSRF guard, language and display modes, and
the accessibility scan of the first pages."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.conftest import (
    DISTRICT_ADMIN_PHONE,
    INVESTIGATOR_PHONE,
    PENDING_CITIZEN_PHONE,
    TWO_ROLE_PHONE,
    LiveServer,
    admin_sign_in,
    axe_violations,
    screenshot,
    worker_sign_in,
)


def test_admin_sign_in_with_the_code_reaches_the_dashboard(page: Any, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/admin")
    assert "/admin/login" in page.url  # not signed in: sent to the sign-in page
    assert axe_violations(page) == []
    screenshot(page, "admin-login")
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    assert page.get_by_role("heading", name="대시보드").is_visible()
    assert page.locator("[data-kpi=workers_total]").inner_text().strip().isdigit()
    # a district admin's menu has no operations entry
    assert page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="운영").count() == 0
    assert axe_violations(page) == []
    screenshot(page, "admin-dashboard")


def test_admin_wrong_password_is_refused_with_a_message(page: Any, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/admin/login")
    page.get_by_label("시스템 ID").fill("01000000004")  # 수영구 admin: failures here lock no one else
    page.get_by_label("비밀번호").fill("not-the-password")
    page.get_by_role("button", name="다음").click()
    assert "아이디 또는 비밀번호가 올바르지 않습니다" in page.get_by_role("alert").inner_text()
    page.get_by_label("비밀번호").fill("")
    page.get_by_role("button", name="다음").click()
    assert page.get_by_label("비밀번호").get_attribute("aria-invalid") == "true"


def test_worker_sign_in_with_role_choice(phone_page: Any, live_server: LiveServer) -> None:
    worker_sign_in(phone_page, live_server, TWO_ROLE_PHONE, role_label="조사자 · 강두역할")
    assert phone_page.get_by_role("heading", name="강두역할님, 안녕하세요").is_visible()
    assert phone_page.get_by_role("link", name="조사 보고서 작성").is_visible()
    assert axe_violations(phone_page) == []


def test_pending_citizen_sees_only_the_waiting_notice(phone_page: Any, live_server: LiveServer) -> None:
    worker_sign_in(phone_page, live_server, PENDING_CITIZEN_PHONE)
    assert (
        "승인을 기다리고" in phone_page.get_by_role("status").first.inner_text()
        or phone_page.get_by_text("가입 승인을 기다리고 있습니다").is_visible()
    )
    assert phone_page.get_by_role("link", name="조사 보고서 작성").count() == 0


def test_language_large_text_and_high_contrast(phone_page: Any, live_server: LiveServer) -> None:
    worker_sign_in(phone_page, live_server, INVESTIGATOR_PHONE)
    phone_page.goto(f"{live_server.url}/app/login")

    def choose(name: str) -> None:
        # each preference is a form posted back to the page: read the page once it has reloaded
        with phone_page.expect_navigation():
            phone_page.get_by_role("button", name=name).click()

    choose("English")
    assert phone_page.get_by_role("heading", name="Beach-Saver sign-in").is_visible()
    assert phone_page.evaluate("document.documentElement.lang") == "en"
    base = phone_page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    choose("Large text")
    large = phone_page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert large >= base * 1.2
    choose("High contrast")
    assert "high-contrast" in phone_page.evaluate("document.documentElement.className")
    assert axe_violations(phone_page) == []
    choose("한국어")
    assert phone_page.evaluate("document.documentElement.lang") == "ko"


def test_cookie_session_needs_the_csrf_header_for_changes(page: Any, live_server: LiveServer) -> None:
    """The API accepts the browser's cookie, but a changing request without the CSRF header is
    refused (a cross-site form cannot read the token)."""
    admin_sign_in(page, live_server, "01000000005")  # 사하구 admin (each test its own account: send limits)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=live_server.url, cookies={"bs_access": cookies["bs_access"]}) as plain:
        assert plain.get("/api/users/me").status_code == 200
        refused = plain.post("/api/notifications/read", json={"ids": []})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "FORBIDDEN"
    with httpx.Client(
        base_url=live_server.url, cookies={"bs_access": cookies["bs_access"], "bs_csrf": cookies["bs_csrf"]}
    ) as same_site:
        accepted = same_site.post(
            "/api/notifications/read", json={"ids": []}, headers={"X-CSRF-Token": cookies["bs_csrf"]}
        )
        assert accepted.status_code != 403


def test_sign_out_ends_the_session(page: Any, live_server: LiveServer) -> None:
    admin_sign_in(page, live_server, "01000000002")  # the city admin
    access = {c["name"]: c["value"] for c in page.context.cookies()}["bs_access"]
    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url("**/admin/login")
    assert httpx.get(f"{live_server.url}/api/users/me", cookies={"bs_access": access}).status_code == 401
