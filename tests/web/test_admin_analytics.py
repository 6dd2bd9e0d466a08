"""The console's jobs, notifications (with the emergency broadcast), statistics (table, chart,
Excel export with picked columns, PDF schedules), maps and audit pages, driven in the browser by
the Haeundae district admin. The field data is made through the real API by the worker roles,
and every result is re-read through the API (with the browser's own session)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from beachsaver.beaches.models import Beach
from beachsaver.core.time import SEOUL
from beachsaver.teams.models import Team
from beachsaver.web import i18n
from tests.images import imagegen
from tests.web.conftest import (
    CITY_ADMIN_PHONE,
    COLLECTOR_PHONE,
    DISTRICT_ADMIN_PHONE,
    INVESTIGATOR_PHONE,
    LEADER_PHONE,
    LiveServer,
    admin_sign_in,
    axe_violations,
    open_admin_menu,
    screenshot,
)

# Hand-computed figures of the arranged data.
AREA_KG = (12.5, 7.25)
KG_CLEANED = 19.75  # 12.5 + 7.25
KG_COLLECTED = 6.5  # one of the two depots collected
BEACH = "해운대해수욕장"
HAEUNDAE_BEACHES = 3  # 해운대해수욕장, 송정해수욕장, 청사포
DEPOTS = [("북쪽 집하장", 35.1600, 129.1610), ("남쪽 집하장", 35.1560, 129.1600)]


def ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def upload(api: httpx.Client, image_type: str, seed: int) -> int:
    picture = imagegen.encode("JPEG", size=(96, 72 + seed))
    r = api.post("/api/images", files={"file": (f"p{seed}.jpg", picture, "image/jpeg")}, data={"type": image_type})
    assert r.status_code == 201, r.text
    return int(r.json()["data"]["id"])


def area(name: str, kg: float, trash_type: str) -> dict[str, Any]:
    return {
        "area_name": name,
        "start_latitude": 35.1581,
        "start_longitude": 129.1590,
        "end_latitude": 35.1590,
        "end_longitude": 129.1620,
        "trash_amount_kg": kg,
        "main_trash_type": trash_type,
    }


@dataclass
class Field:
    beach_id: int
    cleaning_id: int
    cleaning_day: str  # the cleaning's day in Asia/Seoul
    depot_ids: list[int]
    notice_title: str


def read(page: Any, live_server: LiveServer, path: str) -> dict[str, Any]:
    """Re-read through the API with the browser's session (a new sign-in of the same admin would
    end the browser's session)."""
    response = page.request.get(f"{live_server.url}{path}")
    assert response.status == 200, response.text()
    return dict(response.json())


@pytest.fixture(scope="module")
def field(live_server: LiveServer) -> Iterator[Field]:
    """An approved team cleaning report of two areas (12.5 + 7.25 kg), a collection request with
    two depots (one collected: 6.5 kg) and a notice from the city admin to the district admins."""
    with live_server.session() as db:
        beach_id = db.execute(select(Beach.id).where(Beach.beach_name == BEACH)).scalar_one()
        team_id = db.execute(select(Team.id).where(Team.name == "해운대 1팀")).scalar_one()
    cleaned_at = ago(60)
    with (
        live_server.api(live_server.token(LEADER_PHONE, "CLEANER")) as leader,
        live_server.api(live_server.token(COLLECTOR_PHONE, "COLLECTOR")) as collector,
    ):
        body = {
            "client_id": str(uuid.uuid4()),
            "type": "CLEANING",
            "beach_id": beach_id,
            "team_id": team_id,
            "cleaning_at": cleaned_at.isoformat(),
            "areas": [area("A구역", AREA_KG[0], "STYROFOAM"), area("B구역", AREA_KG[1], "PLASTIC")],
        }
        r = leader.post("/api/reports", json=body)
        assert r.status_code == 201, r.text
        cleaning_id = int(r.json()["data"]["id"])
        request = {
            "client_id": str(uuid.uuid4()),
            "type": "COLLECTION_REQUEST",
            "beach_id": beach_id,
            "cleaning_report_id": cleaning_id,
            "collection_depots": [
                {"name": name, "latitude": lat, "longitude": lng, "photo": upload(leader, "COLLECTION_DEPOT", i)}
                for i, (name, lat, lng) in enumerate(
                    [("북쪽 집하장", 35.1600, 129.1610), ("남쪽 집하장", 35.1560, 129.16)]
                )
            ],
        }
        r = leader.post("/api/reports", json=request)
        assert r.status_code == 201, r.text
        depot_ids = [int(d["id"]) for d in r.json()["data"]["collection_depots"]]
        done = {"collected_amount": KG_COLLECTED, "photo": upload(collector, "COLLECTION_COMPLETED", 7)}
        r = collector.patch(f"/api/collection-depots/{depot_ids[0]}/complete", json=done)
        assert r.status_code == 200, r.text
    with live_server.api(live_server.token(DISTRICT_ADMIN_PHONE, "DISTRICT_ADMIN")) as admin:
        r = admin.patch(f"/api/reports/{cleaning_id}", json={"status": "APPROVED"})
        assert r.status_code == 200, r.text
    title = f"태풍 대비 점검 {uuid.uuid4().hex[:6]}"
    with live_server.api(live_server.token(CITY_ADMIN_PHONE, "CITY_ADMIN")) as city:
        r = city.post(
            "/api/notifications/broadcast",
            json={"title": title, "message": "해변 장비를 점검해 주세요.", "roles": ["DISTRICT_ADMIN"]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["data"]["recipients"] >= 1
    yield Field(
        beach_id=beach_id,
        cleaning_id=cleaning_id,
        cleaning_day=cleaned_at.astimezone(SEOUL).date().isoformat(),
        depot_ids=depot_ids,
        notice_title=title,
    )


# ---- jobs --------------------------------------------------------------------------------------


def test_create_a_job_assign_and_cancel_it(page: Any, live_server: LiveServer, field: Field) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "작업 배정")
    assert page.get_by_role("heading", name="작업 배정").is_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="작업 만들기").first.click()
    page.wait_for_url("**/admin/jobs/new")

    # No beach: the API's 400 is shown by the beach control.
    page.get_by_label("작업 유형").select_option(label="조사")
    page.get_by_label("필요 인원").fill("2")
    page.get_by_role("button", name="작업 만들기").click()
    beach = page.get_by_label("해변")
    page.wait_for_selector("#job-beach[aria-invalid=true]")
    message = page.locator("#job-beach + .field-error")
    assert message.inner_text() == "필수 항목입니다."
    assert beach.get_attribute("aria-describedby") == message.get_attribute("id")
    assert axe_violations(page) == []

    # A control's hint stays: the error joins its aria-describedby, and the hint alone is back
    # once the form's errors are cleared.
    beach.select_option(label=BEACH)
    page.get_by_label("작업 유형").select_option(label="청소")  # a cleaning job needs a team
    page.get_by_role("button", name="작업 만들기").click()
    page.wait_for_selector("#job-team[aria-invalid=true]")
    team = page.locator("#job-team")
    team_error = page.locator("#job-team + .field-error").get_attribute("id")
    assert team.get_attribute("aria-describedby") == f"team-help {team_error}"
    page.get_by_label("작업 유형").select_option(label="조사")
    page.get_by_label("봉사 자리").fill("5")  # more than the headcount
    page.get_by_role("button", name="작업 만들기").click()
    page.wait_for_selector("#job-slots[aria-invalid=true]")
    slots_error = page.locator("#job-slots + .field-error").get_attribute("id")
    assert page.locator("#job-slots").get_attribute("aria-describedby") == f"slots-help {slots_error}"
    assert team.get_attribute("aria-describedby") == "team-help" and team.get_attribute("aria-invalid") is None

    beach.select_option(label=BEACH)
    page.get_by_label("봉사 자리").fill("0")
    page.get_by_label("구역").fill("A구역, B구역")
    page.get_by_role("button", name="작업 만들기").click()
    page.wait_for_url(re.compile(r".*/admin/jobs/\d+$"))
    job_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert page.get_by_role("heading", name=f"작업 #{job_id}").is_visible()
    job = read(page, live_server, f"/api/jobs/{job_id}")["data"]
    assert (job["type"], job["beach_id"], job["headcount"], job["volunteer_slots"]) == (
        "INVESTIGATION",
        field.beach_id,
        2,
        0,
    )
    assert job["area_names"] == ["A구역", "B구역"]
    assert axe_violations(page) == []

    # Assign the district's investigator.
    page.get_by_label("김조사").check()
    page.get_by_role("button", name="선택한 사람 배정").click()
    page.wait_for_selector("text=배정됨")
    job = read(page, live_server, f"/api/jobs/{job_id}")["data"]
    assert [(a["nickname"], a["status"]) for a in job["assignees"]] == [("김조사", "ASSIGNED")]

    # Listed with its beach, filtered by type and status.
    page.goto(f"{live_server.url}/admin/jobs")
    page.get_by_label("작업 유형").select_option(label="조사")
    page.get_by_role("button", name="조회").click()
    row = page.locator(f"#jobs-table tr[data-job='{job_id}']")
    assert BEACH in row.inner_text() and "A구역, B구역" in row.inner_text()
    screenshot(page, "admin-jobs")

    # Cancel with a reason, in the dialog.
    page.goto(f"{live_server.url}/admin/jobs/{job_id}")
    page.get_by_role("button", name="작업 취소…").click()
    dialog = page.get_by_role("dialog")
    assert dialog.is_visible()
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    page.get_by_role("button", name="작업 취소…").click()
    dialog.get_by_label("취소 사유").fill("기상 악화로 연기")
    dialog.get_by_role("button", name="작업 취소").click()
    page.wait_for_selector("[data-job-status]:has-text('취소')")
    job = read(page, live_server, f"/api/jobs/{job_id}")["data"]
    assert (job["status"], job["cancel_reason"]) == ("CANCELLED", "기상 악화로 연기")

    page.goto(f"{live_server.url}/admin/jobs?view=slots")
    assert page.get_by_role("table", name="봉사자 모집 중인 청소 작업").is_visible()
    assert axe_violations(page) == []


# ---- notifications -----------------------------------------------------------------------------


def test_mark_notifications_read_and_send_a_broadcast(page: Any, live_server: LiveServer, field: Field) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/notifications?status=UNREAD")
    unread_before = read(page, live_server, "/api/notifications?status=UNREAD")["meta"]["total"]
    assert unread_before >= 2  # the city's notice and the field reports' notices
    assert page.get_by_role("heading", name=f"알림 목록 ({unread_before}건 안 읽음)").is_visible()
    assert axe_violations(page) == []

    row = page.locator("#notifications-table tbody tr", has_text=field.notice_title)
    notice_id = int(row.get_attribute("data-notification") or 0)
    row.get_by_role("button", name="읽음 표시").click()
    page.wait_for_selector(f"tr[data-notification='{notice_id}']", state="detached")  # gone from the unread list
    mine = read(page, live_server, "/api/notifications?size=100")["data"]
    assert next(n for n in mine if n["id"] == notice_id)["status"] == "READ"
    assert page.get_by_role("heading", name=f"알림 목록 ({unread_before - 1}건 안 읽음)").is_visible()

    page.get_by_role("button", name="모두 읽음 표시").click()
    page.wait_for_selector("h1:has-text('(0건 안 읽음)')")
    assert read(page, live_server, "/api/notifications?status=UNREAD")["meta"]["total"] == 0
    page.goto(f"{live_server.url}/admin/notifications")
    assert "읽음" in page.locator(f"tr[data-notification='{notice_id}'] [data-status]").inner_text()

    # The emergency broadcast, confirmed in a dialog.
    title = f"긴급 대피 안내 {uuid.uuid4().hex[:6]}"
    form = page.locator("#broadcast-form")
    form.get_by_label("제목").fill(title)
    form.get_by_label("내용").fill("해일 주의보: 해변 작업을 멈추고 대피해 주세요.")
    form.get_by_label("조사자").check()
    form.get_by_role("button", name="확인 후 발송…").click()
    dialog = page.get_by_role("dialog", name="긴급 공지를 보낼까요?")
    assert dialog.is_visible()
    assert title in dialog.inner_text() and "조사자" in dialog.inner_text()
    assert axe_violations(page) == []
    screenshot(page, "admin-notifications")
    dialog.get_by_role("button", name="발송").click()
    result = page.locator("#broadcast-result")
    result.wait_for(state="visible")
    assert "명에게 긴급 공지를 보냈습니다" in result.inner_text()
    with live_server.api(live_server.token(INVESTIGATOR_PHONE, "INVESTIGATOR")) as investigator:
        received = investigator.get("/api/notifications", params={"category": "NOTICE"}).json()["data"]
    assert [n["message"] for n in received if n["title"] == title] == ["해일 주의보: 해변 작업을 멈추고 대피해 주세요."]


# ---- statistics --------------------------------------------------------------------------------


def test_statistics_table_chart_export_and_schedules(
    page: Any, live_server: LiveServer, field: Field, tmp_path: Any
) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "통계/분석")
    filters = page.locator("#stats-filters")
    filters.get_by_label("묶음 기준").select_option(label="기간")
    filters.get_by_label("기간 단위").select_option(label="일별")
    filters.get_by_label("시작일").fill(field.cleaning_day)
    filters.get_by_label("종료일").fill(field.cleaning_day)
    filters.get_by_role("button", name="조회").click()
    page.wait_for_url("**period=day**")
    table = page.locator("#stats-table")
    assert table.locator("tbody th[scope=row]").all_inner_texts() == [field.cleaning_day]
    assert table.locator("tbody td[data-col=kg_cleaned]").inner_text() == "19.75"
    assert table.locator("tbody td[data-col=cleaning_reports]").inner_text() == "1"
    assert table.locator("tfoot td[data-col=kg_cleaned]").inner_text() == "19.75"
    assert table.locator("tfoot td[data-col=avg_hours_to_collection]").inner_text() == "—"
    api_rows = read(
        page,
        live_server,
        f"/api/statistics?group_by=period&period=day&from={field.cleaning_day}&to={field.cleaning_day}",
    )["data"]
    assert [r["kg_cleaned"] for r in api_rows] == [KG_CLEANED]
    chart = page.evaluate("() => Chart.getChart(document.getElementById('stats-chart')).data.datasets[0].data")
    assert chart == [KG_CLEANED]
    assert axe_violations(page) == []

    # By beach: the beach's row and the total.
    filters.get_by_label("묶음 기준").select_option(label="해변")
    filters.get_by_role("button", name="조회").click()
    page.wait_for_url("**group_by=beach**")
    beach_row = table.locator("tbody tr", has=page.locator("th", has_text=BEACH))
    assert beach_row.locator("td[data-col=kg_cleaned]").inner_text() == "19.75"
    assert table.locator("tfoot td[data-col=kg_cleaned]").inner_text() == "19.75"
    screenshot(page, "admin-statistics")

    # Excel with two picked columns.
    page.get_by_role("link", name="Excel 다운로드…").click()
    dialog = page.get_by_role("dialog", name="Excel로 내보낼 열 고르기")
    assert dialog.is_visible()
    dialog.get_by_role("button", name="모두 해제").click()
    dialog.get_by_role("button", name="다운로드").click()
    assert dialog.get_by_role("alert").inner_text() == "열을 하나 이상 고르세요."
    assert axe_violations(page) == []
    dialog.get_by_label("해변", exact=True).check()
    dialog.get_by_label("청소량 (kg)").check()
    with page.expect_download() as info:
        dialog.get_by_role("button", name="다운로드").click()
    target = tmp_path / "export.xlsx"
    info.value.save_as(target)
    sheet = load_workbook(target, read_only=True).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == ["해변", "청소량 (kg)"]
    assert [BEACH, KG_CLEANED] in cells[1:]
    assert not dialog.is_visible()

    pdf = page.get_by_role("link", name="PDF 요약 보고서").get_attribute("href") or ""
    assert pdf.startswith("/api/statistics/report.pdf?") and f"from={field.cleaning_day}" in pdf

    # A PDF schedule: created, listed, deleted.
    form = page.locator("#schedule-form")
    form.get_by_label("주기").select_option(label="매월")
    form.get_by_label("받는 사람 이메일").fill("ops@example.com, Lead@Example.com")
    form.get_by_role("button", name="추가").click()
    row = page.locator("#schedules-table tbody tr[data-schedule]")
    row.wait_for()
    assert "ops@example.com, lead@example.com" in row.inner_text() and "매월" in row.inner_text()
    schedules = read(page, live_server, "/api/statistics/report-schedules")["data"]
    assert [(s["frequency"], s["recipients"]) for s in schedules] == [
        ("MONTHLY", ["ops@example.com", "lead@example.com"])
    ]
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="삭제").click()
    page.wait_for_selector("#schedules-table tbody tr[data-schedule]", state="detached")
    assert read(page, live_server, "/api/statistics/report-schedules")["data"] == []


def test_statistics_refuses_a_reversed_period_by_the_field(page: Any, live_server: LiveServer) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    response = page.goto(f"{live_server.url}/admin/statistics?from=2026-02-01&to=2026-01-01")
    assert response.status == 400
    start = page.locator("#s-from")
    assert start.get_attribute("aria-invalid") == "true"
    assert start.get_attribute("aria-describedby") == "err-from"
    assert page.locator("#err-from").inner_text().strip()  # the service's message, by the field
    assert page.locator("#stats-table").count() == 0
    assert axe_violations(page) == []


# ---- maps --------------------------------------------------------------------------------------


def test_maps_show_three_layers_with_legend_and_tables(page: Any, live_server: LiveServer, field: Field) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    today = datetime.now(SEOUL).date().isoformat()
    page.goto(f"{live_server.url}/admin/maps?from={field.cleaning_day}&to={today}")
    page.wait_for_selector("#analytics-map[data-ready=true]")

    # The text tables: litter per beach (cleaned + collected), depots by state, the forecast.
    litter = page.locator("#litter-table")
    assert litter.locator("tbody tr").count() == HAEUNDAE_BEACHES
    beach_row = litter.locator(f"tr[data-beach='{field.beach_id}']")
    assert beach_row.locator("td[data-value]").inner_text() == "26.25"  # 19.75 + 6.5
    assert "스티로폼" in beach_row.inner_text()  # 12.5 kg of styrofoam > 7.25 kg of plastic
    depots = page.locator("#depots-table")
    assert depots.locator(f"tr[data-depot='{field.depot_ids[0]}']").get_by_text("수거 완료").is_visible()
    assert depots.locator(f"tr[data-depot='{field.depot_ids[1]}']").get_by_text("수거 대기").is_visible()
    assert page.locator("#forecast-table tbody tr").count() == HAEUNDAE_BEACHES
    forecast = read(page, live_server, "/api/statistics/map?layer=forecast")["data"]
    mape = page.locator("#forecast-mape").inner_text()
    if forecast["backtest_mape"] is None:
        assert "기록이 부족해" in mape
    else:
        assert "MAPE" in mape

    # The map: three layers of markers (text symbols besides colour), switchable.
    markers = page.locator("#analytics-map .mk")
    assert page.locator("#analytics-map .mk-litter").count() == HAEUNDAE_BEACHES
    assert page.locator("#analytics-map .mk-depot").count() == 2
    assert page.locator("#analytics-map .mk-band").count() == HAEUNDAE_BEACHES
    assert page.locator("#analytics-map .mk-litter.lt-1").inner_text() == "스"  # STYROFOAM
    assert markers.count() == 2 * HAEUNDAE_BEACHES + 2
    page.get_by_role("checkbox", name="다음 달 예상 쓰레기량").uncheck()
    assert page.locator("#analytics-map .mk-band").count() == 0
    page.get_by_role("checkbox", name="다음 달 예상 쓰레기량").check()
    assert page.locator("#analytics-map .mk-band").count() == HAEUNDAE_BEACHES
    legend = page.get_by_role("complementary", name="범례")
    for text in ("스티로폼", "수거 완료", "10톤 이상", "1톤 미만"):
        assert legend.get_by_text(text, exact=True).count() == 1
    assert "no-tiles" in (page.locator("#analytics-map").get_attribute("class") or "")
    assert axe_violations(page) == []
    screenshot(page, "admin-maps")


# ---- audit -------------------------------------------------------------------------------------


def test_audit_log_lists_the_broadcast(page: Any, live_server: LiveServer) -> None:
    title = f"해수욕장 통제 {uuid.uuid4().hex[:6]}"
    with live_server.api(live_server.token(DISTRICT_ADMIN_PHONE, "DISTRICT_ADMIN")) as admin:
        r = admin.post("/api/notifications/broadcast", json={"title": title, "message": "출입을 통제합니다."})
        assert r.status_code == 200, r.text
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "감사 로그")
    assert page.locator("#audit-table tbody tr").count() >= 2
    page.get_by_label("작업 (예: JOB_CREATE)").fill("notification_broadcast")
    page.get_by_role("button", name="조회").click()
    page.wait_for_url("**/admin/audit?*action=notification_broadcast*")
    assert page.get_by_label("작업 (예: JOB_CREATE)").input_value() == "NOTIFICATION_BROADCAST"
    rows = page.locator("#audit-table tbody tr[data-entry]")
    assert rows.count() >= 1
    assert {a for a in rows.evaluate_all("rs => rs.map(r => r.dataset.action)")} == {"NOTIFICATION_BROADCAST"}
    first = rows.first
    assert "해운대관리자" in first.inner_text()
    first.get_by_text("보기").click()
    assert title in first.inner_text()
    entries = read(page, live_server, "/api/logs?action=NOTIFICATION_BROADCAST")["data"]
    assert entries[0]["after"]["title"] == title
    assert int(first.get_attribute("data-entry") or 0) == entries[0]["id"]
    assert axe_violations(page) == []
    screenshot(page, "admin-audit")


def test_every_label_the_pages_build_exists() -> None:
    """Ids built at render time (statuses, kinds, bands, litter types) exist in both languages."""
    from beachsaver.core.enums import DepotStatus, LitterType
    from beachsaver.jobs.schemas import AssigneeKind, AssigneeStatus
    from beachsaver.notifications.schemas import Category, NotificationStatus, UserChannel
    from beachsaver.reports_pdf.schemas import Frequency, Language
    from beachsaver.statistics.schemas import GroupBy, Period
    from beachsaver.web.admin.pages_statistics import BANDS

    ids = (
        [f"jobs.assignee_status.{v}" for v in AssigneeStatus]
        + [f"jobs.kind.{v}" for v in AssigneeKind]
        + [f"analytics.notices.status.{v}" for v in NotificationStatus]
        + [f"analytics.notices.category.{v}" for v in Category]
        + [f"analytics.notices.channel.{v}" for v in UserChannel]
        + [f"analytics.schedules.freq.{v}" for v in Frequency]
        + [f"analytics.schedules.lang.{v.value}" for v in Language]
        + [f"analytics.stats.group.{v.value}" for v in GroupBy]
        + [f"analytics.stats.no_key.{v.value}" for v in GroupBy]
        + [f"analytics.stats.period.{v.value}" for v in Period]
        + [f"analytics.litter.{v}" for v in LitterType]
        + [f"analytics.litter_short.{v}" for v in LitterType]
        + [f"analytics.maps.depot_symbol.{v}" for v in DepotStatus]
        + [f"analytics.band.{b}" for b in BANDS]
        + [f"analytics.band_short.{b}" for b in BANDS]
    )
    for lang in ("ko", "en"):
        known = i18n.catalogue(lang)
        assert [i for i in ids if i not in known] == [], lang
