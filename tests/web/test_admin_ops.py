"""The console's operations area: the state at a glance, incidents with their timeline,
inspections, backups and job runs — platform and city admins only."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from beachsaver.ops import backup
from beachsaver.ops.check import run_check
from beachsaver.ops.models import JobRun
from tests.web.conftest import (
    CITY_ADMIN_PHONE,
    DISTRICT_ADMIN_PHONE,
    PLATFORM_ADMIN_PHONE,
    LiveServer,
    admin_sign_in,
    axe_violations,
    open_admin_menu,
    screenshot,
)


def test_incident_opened_updated_and_exported_in_the_console(page: Any, live_server: LiveServer) -> None:
    admin_sign_in(page, live_server, PLATFORM_ADMIN_PHONE)
    open_admin_menu(page, "운영")
    assert page.locator("[data-component=db]").get_by_text("정상").is_visible()
    assert axe_violations(page) == []
    screenshot(page, "admin-ops")

    page.get_by_role("link", name="장애 기록").click()
    page.get_by_role("button", name="장애 등록").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="저장").click()  # no title: the API's 400 names the field
    expect(dialog.get_by_label("제목")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("제목").fill("사진 업로드 실패")
    dialog.get_by_label("심각도").select_option("HIGH")
    dialog.get_by_label("증상").fill("S3 응답 지연으로 업로드 503")
    dialog.get_by_role("button", name="저장").click()
    page.wait_for_url("**/admin/ops/incidents/*")
    incident_id = int(page.url.rsplit("/", 1)[1])
    assert axe_violations(page) == []

    page.get_by_label("진행 상태").select_option("MITIGATED")
    page.get_by_label("경과 기록 추가").fill("저장소 재시작, 업로드 정상화")
    page.get_by_role("button", name="저장").click()
    expect(page.locator("[data-field=status]")).to_have_text("완화")  # the page reloads after the save
    assert "업로드 정상화" in page.locator("ol.timeline").inner_text()

    with live_server.api(live_server.token(PLATFORM_ADMIN_PHONE, "PLATFORM_ADMIN")) as api:
        shown = api.get(f"/api/ops/incidents/{incident_id}").json()["data"]
        assert shown["status"] == "MITIGATED" and shown["severity"] == "HIGH"
        assert any("업로드 정상화" in entry["note"] for entry in shown["timeline"])
        markdown = api.get(f"/api/ops/incidents/{incident_id}/export.md")
        assert "사진 업로드 실패" in markdown.text


def test_inspections_backups_and_job_runs_are_listed(page: Any, live_server: LiveServer) -> None:
    runtime = live_server.app.state.runtime
    run_check(runtime, audit_dependencies=False)
    made = backup.create(runtime.settings, label="milestone")
    with live_server.session() as db:
        db.add(JobRun(job="backup", outcome="FAILED", rows=0, error="target unreachable", host="test"))

    admin_sign_in(page, live_server, CITY_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/ops")
    assert "target unreachable" in page.get_by_role("region", name="최근 24시간 실패한 작업").inner_text()
    assert made.id in page.locator("[data-backup-age]").inner_text()

    page.get_by_role("link", name="정기 점검").click()
    assert page.locator("details").count() >= 1
    assert axe_violations(page) == []

    page.get_by_role("link", name="백업").click()
    assert page.get_by_role("cell", name=made.id).is_visible()
    assert axe_violations(page) == []
    screenshot(page, "admin-ops-backups")

    page.get_by_role("link", name="배치 작업").click()
    page.get_by_label("결과").select_option("FAILED")
    page.get_by_role("button", name="조회").click()
    assert page.get_by_role("cell", name="target unreachable").is_visible()
    assert axe_violations(page) == []

    with live_server.api(live_server.token(CITY_ADMIN_PHONE, "CITY_ADMIN")) as api:
        listed = api.get("/api/ops/backups").json()
        assert listed["data"][0]["id"] == made.id and listed["meta"]["total"] >= 1


def test_district_admins_have_no_operations_area(page: Any, live_server: LiveServer) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    response = page.goto(f"{live_server.url}/admin/ops/incidents")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="접근 권한 없음").is_visible()
    assert axe_violations(page) == []
