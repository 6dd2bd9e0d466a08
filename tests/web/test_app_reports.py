"""The worker app's report forms, my reports and the offline outbox, driven in a phone-sized
browser whose geolocation is granted at 35.1586975, 129.1603842: what a field worker does, end
to end, re-read through the API."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from beachsaver.reports import service as report_service
from beachsaver.reports.models import Report, ReportArea
from beachsaver.reports.schemas import ReportOut
from tests.web.conftest import (
    DISTRICT_ADMIN_PHONE,
    INVESTIGATOR_PHONE,
    LEADER_PHONE,
    MEMBER_PHONE,
    PHONE_LAT,
    PHONE_LNG,
    LiveServer,
    axe_violations,
    new_phone_context,
    screenshot,
    worker_sign_in,
)

SOLO_CLEANER_PHONE = "01000001004"  # 최청소, a regular cleaner of the Haeundae team (not its leader)
LAT, LNG = PHONE_LAT, PHONE_LNG


def jpeg(color: tuple[int, int, int] = (30, 120, 200)) -> dict[str, Any]:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return {"name": "site.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


@pytest.fixture
def second_phone(browser: Any) -> Iterator[Any]:
    """Another phone (a team member's), with its own storage."""
    context = new_phone_context(browser, timeout_ms=15000)
    yield context.new_page()
    context.close()


def open_form(page: Any, server: LiveServer, kind: str) -> Any:
    page.goto(f"{server.url}/app/reports/new/{kind}")
    page.wait_for_selector("#report-form[data-ready='1']")
    return page.locator("#report-form")


def fill_area(card: Any, name: str, litres: str | None = "50", trash: str = "PLASTIC") -> None:
    card.get_by_label("구역 이름").fill(name)
    card.get_by_role("button", name="시작 위치 GPS 기록").click()
    expect(card.get_by_label("시작 위도")).to_have_value(str(LAT))
    expect(card.get_by_label("시작 경도")).to_have_value(str(LNG))
    card.get_by_role("button", name="끝 위치 GPS 기록").click()
    expect(card.get_by_label("끝 위도")).to_have_value(str(LAT))
    card.get_by_label("주요 쓰레기 종류").select_option(trash)
    if litres is not None:
        card.get_by_label("예상량 (L)").fill(litres)


def confirm_submit(page: Any, button: str = "제출") -> None:
    page.locator("#report-form").get_by_role("button", name=button, exact=True).click()
    page.get_by_role("dialog", name="보고서를 제출할까요?").get_by_role("button", name="제출", exact=True).click()


def report_id_of(url: str) -> int:
    found = re.search(r"/app/reports/(\d+)", url)
    assert found, url
    return int(found.group(1))


# A new sign-in ends the account's older sessions, so reading through the API with the worker's
# own token would sign the browser out: the tests read what the API answers from the database.


def stored(server: LiveServer, report_id: int) -> dict[str, Any]:
    """The report as GET /api/reports/{id} answers it."""
    with server.session() as db:
        report = db.get(Report, report_id)
        assert report is not None
        return ReportOut.model_validate(report_service.present(db, report)).model_dump(mode="json")


def reports_with_area(server: LiveServer, area_name: str) -> list[dict[str, Any]]:
    with server.session() as db:
        ids = db.execute(
            select(Report.id)
            .join(ReportArea, ReportArea.report_id == Report.id)
            .where(ReportArea.area_name == area_name, Report.deleted_at.is_(None))
            .distinct()
        ).scalars()
        found = sorted(ids)
    return [stored(server, i) for i in found]


def test_investigator_submits_an_investigation_with_gps_and_a_photo(phone_page: Any, live_server: LiveServer) -> None:
    page = phone_page
    worker_sign_in(page, live_server, INVESTIGATOR_PHONE)
    page.get_by_role("link", name="조사 보고서 작성").click()
    page.wait_for_selector("#report-form[data-ready='1']")
    assert axe_violations(page) == []
    page.get_by_label("해변").select_option(index=1)
    card = page.locator("[data-card]").first
    fill_area(card, "E2E 해변 중앙")
    card.get_by_label("현장 사진").set_input_files([jpeg()])
    expect(card.locator("[data-photo-state=uploaded]")).to_have_count(1)
    expect(card.get_by_text("(1/5)")).to_be_visible()
    page.get_by_label("전체 메모").fill("유리 조각이 많음")
    expect(page.locator("#f-note-count")).to_have_text("9/500")
    assert axe_violations(page) == []
    screenshot(page, "app-investigation-form")

    confirm_submit(page)
    page.wait_for_url("**/app/reports/*?sent=1")
    expect(page.locator("#report-status")).to_have_text("제출됨")
    assert axe_violations(page) == []
    report_id = report_id_of(page.url)

    report = stored(live_server, report_id)
    assert report["status"] == "SUBMITTED"
    assert report["type"] == "INVESTIGATION"
    assert report["note"] == "유리 조각이 많음"
    (area,) = report["areas"]
    assert area["area_name"] == "E2E 해변 중앙"
    assert (area["start_latitude"], area["start_longitude"]) == (LAT, LNG)
    assert (area["end_latitude"], area["end_longitude"]) == (LAT, LNG)
    assert area["trash_amount_est_l"] == 50
    assert area["main_trash_type"] == "PLASTIC"
    assert [image["type"] for image in area["images"]] == ["INVESTIGATION_AREA"]
    # the device keeps nothing once the server holds the report
    assert page.evaluate("JSON.parse(localStorage.getItem('bs.outbox') || '[]').length") == 0


def test_a_400_from_the_api_is_shown_next_to_the_field_it_names(phone_page: Any, live_server: LiveServer) -> None:
    page = phone_page
    worker_sign_in(page, live_server, INVESTIGATOR_PHONE)
    open_form(page, live_server, "investigation")
    page.get_by_label("해변").select_option(index=1)
    fill_area(page.locator("[data-card]").nth(0), "E2E 400 첫 구역")
    page.get_by_role("button", name="구역 추가").click()
    second = page.locator("[data-card]").nth(1)
    fill_area(second, "E2E 400 둘째 구역", litres=None)  # the second area lacks its litres

    confirm_submit(page)
    litres = page.locator('[name="areas[1].trash_amount_est_l"]')
    expect(litres).to_have_attribute("aria-invalid", "true")
    message = page.locator('[name="areas[1].trash_amount_est_l"] + .field-error')
    expect(message).to_be_visible()
    assert message.get_attribute("id") in (litres.get_attribute("aria-describedby") or "")
    assert page.locator('[name="areas[0].trash_amount_est_l"]').get_attribute("aria-invalid") is None
    expect(page.get_by_role("alert").first).to_be_visible()
    assert "/app/reports/new/investigation" in page.url
    assert axe_violations(page) == []
    assert reports_with_area(live_server, "E2E 400 첫 구역") == []

    # fixed in place, the same report goes through
    second.get_by_label("예상량 (L)").fill("20")
    confirm_submit(page)
    page.wait_for_url("**/app/reports/*?sent=1")
    (fixed,) = reports_with_area(live_server, "E2E 400 첫 구역")
    assert fixed["status"] == "SUBMITTED"
    assert [a["trash_amount_est_l"] for a in fixed["areas"]] == [50, 20]


def test_offline_submission_waits_in_the_outbox_and_is_sent_once(phone_page: Any, live_server: LiveServer) -> None:
    page = phone_page
    worker_sign_in(page, live_server, INVESTIGATOR_PHONE)
    open_form(page, live_server, "investigation")
    page.context.set_offline(True)
    expect(page.locator("#sync-state")).to_have_text("오프라인")
    page.get_by_label("해변").select_option(index=1)
    card = page.locator("[data-card]").first
    fill_area(card, "E2E 오프라인 구역", litres="75")
    card.get_by_label("현장 사진").set_input_files([jpeg((10, 160, 90))])
    expect(card.locator("[data-photo-state=waiting]")).to_have_count(1)  # kept on the device
    confirm_submit(page)
    expect(page.locator("#sync-state")).to_have_text("오프라인 · 1건 대기")
    expect(page.locator("#form-notice")).to_contain_text("전송 대기함")

    # Back online, the first sync's answer is lost after the server stored the report: the item
    # stays in the outbox and the next sync must not create a second report.
    lost: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if not lost:
            lost.append(route.request.post_data or "")
            route.fetch()
            route.abort("failed")
        else:
            route.continue_()

    page.route("**/api/reports/sync", lose_first_answer)
    with page.expect_event("requestfailed", lambda request: "/api/reports/sync" in request.url):
        page.context.set_offline(False)
    expect(page.locator("#sync-state")).to_have_text("1건 전송 대기")
    assert lost and "E2E 오프라인 구역" in lost[0]
    (first,) = reports_with_area(live_server, "E2E 오프라인 구역")
    page.unroute("**/api/reports/sync")
    # the open form saves its copy again meanwhile: it must keep the photo the outbox uploaded
    page.locator("#f-note").dispatch_event("input")
    page.wait_for_timeout(1500)

    # my reports: sent again at page load, answered as a replay, shown in the results
    page.goto(f"{live_server.url}/app/reports")
    expect(page.locator("#sync-state")).to_have_text("모두 전송됨")
    expect(page.locator("#results-list")).to_contain_text(f"조사 보고서 #{first['id']} 전송됨")
    expect(page.locator(f"#server-list [data-report-id='{first['id']}']")).to_be_visible()
    page.get_by_role("button", name="지금 전송").click()
    expect(page.get_by_text("전송할 항목이 없습니다")).to_be_visible()
    page.reload()
    expect(page.locator("#sync-state")).to_have_text("모두 전송됨")
    (again,) = reports_with_area(live_server, "E2E 오프라인 구역")
    assert again["id"] == first["id"]
    assert again["status"] == "SUBMITTED"
    assert again["areas"][0]["trash_amount_est_l"] == 75
    assert len(again["areas"][0]["images"]) == 1
    assert axe_violations(page) == []


def test_cleaning_leader_member_contribution_and_finalise(
    phone_page: Any, second_phone: Any, live_server: LiveServer
) -> None:
    leader = phone_page
    worker_sign_in(leader, live_server, LEADER_PHONE)
    open_form(leader, live_server, "cleaning")
    leader.get_by_label("작성 단위").select_option(label="해운대 1팀")
    expect(leader.get_by_role("button", name="확정 및 제출")).to_be_visible()
    leader.get_by_label("해변").select_option(index=1)
    leader.get_by_label("날씨").select_option("SUNNY")
    card = leader.locator("[data-card]").first
    card.get_by_label("구역 이름").fill("E2E 청소 구역")
    card.get_by_role("button", name="시작 위치 GPS 기록").click()
    card.get_by_role("button", name="끝 위치 GPS 기록").click()
    expect(card.get_by_label("끝 경도")).to_have_value(str(LNG))
    card.get_by_label("수거량 (kg)").fill("12.5")
    card.get_by_label("봉투 수").fill("3")
    card.get_by_label("청소 전 사진").set_input_files([jpeg((120, 90, 30))])
    expect(card.locator("[data-photo-state=uploaded]")).to_have_count(1)
    assert axe_violations(leader) == []
    screenshot(leader, "app-cleaning-form")
    leader.get_by_role("button", name="임시 저장").click()
    expect(leader.locator("#form-notice")).to_contain_text("서버에도 저장")
    leader.wait_for_url("**/app/reports/*/edit")
    report_id = report_id_of(leader.url)
    draft = stored(live_server, report_id)
    assert draft["status"] == "DRAFT" and draft["team_id"] is not None

    # a member finds the team's draft from the cleaning form and adds a contribution
    member = second_phone
    worker_sign_in(member, live_server, MEMBER_PHONE)
    member.goto(f"{live_server.url}/app/reports/new/cleaning")
    member.get_by_role("link", name=re.compile("해운대 1팀")).click()
    member.wait_for_url(f"**/app/reports/{report_id}*")
    form = member.locator("#contribution-form")
    form.get_by_label("수거량 (kg)").fill("3")
    form.get_by_label("활동 시간").fill("2")
    form.get_by_label("메모").fill("북쪽 바위 사이")
    form.get_by_label("사진").set_input_files([jpeg((200, 200, 200))])
    expect(form.locator("[data-photo-state=uploaded]")).to_have_count(1)
    assert axe_violations(member) == []
    form.get_by_role("button", name="기여 내용 추가").click()
    expect(member.get_by_role("row", name=re.compile("박청소"))).to_be_visible()
    contributions = stored(live_server, report_id)["contributions"]
    assert [(c["kg"], c["hours"], c["note"], len(c["image_ids"])) for c in contributions] == [
        (3, 2, "북쪽 바위 사이", 1)
    ]

    # the leader reviews the contributions and finalises
    leader.reload()
    leader.wait_for_selector("#report-form[data-ready='1']")
    expect(leader.get_by_role("row", name=re.compile("박청소"))).to_be_visible()
    expect(leader.locator("[data-card]").first.get_by_label("수거량 (kg)")).to_have_value("12.5")
    assert axe_violations(leader) == []
    confirm_submit(leader, "확정 및 제출")
    leader.wait_for_url(f"**/app/reports/{report_id}?sent=1")
    expect(leader.locator("#report-status")).to_have_text("제출됨")
    expect(leader.get_by_role("link", name="이어서 수거 요청 작성").first).to_be_visible()
    report = stored(live_server, report_id)
    assert report["status"] == "SUBMITTED"
    assert report["weather"] == "SUNNY"
    assert report["areas"][0]["trash_amount_kg"] == 12.5 and report["areas"][0]["bag_count"] == 3
    assert [i["type"] for i in report["areas"][0]["images"]] == ["CLEANING_BEFORE_AREA"]
    assert len(report["credits"]) >= 2 and abs(sum(c["share"] for c in report["credits"]) - 1) < 0.001


def test_collection_request_with_a_depot_and_its_photo(phone_page: Any, live_server: LiveServer) -> None:
    page = phone_page
    worker_sign_in(page, live_server, SOLO_CLEANER_PHONE)
    page.get_by_role("link", name="수거 요청 작성").click()
    page.wait_for_selector("#report-form[data-ready='1']")
    page.get_by_label("해변").select_option(index=1)
    depot = page.locator("[data-card]").first
    depot.get_by_label("집하장 이름").fill("E2E 입구 집하장")
    depot.get_by_label("주소").fill("부산 해운대구 우동")
    depot.get_by_role("button", name="현재 위치 GPS 기록").click()
    expect(depot.get_by_label("위도", exact=True)).to_have_value(str(LAT))
    # corrected by a tap on the map (no tile server here: a blank grid with the beach marked)
    depot.get_by_role("button", name="지도에서 고르기").click()
    dialog = page.get_by_role("dialog", name="지도에서 위치 고르기")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#map-points")).to_contain_text("해변")
    assert axe_violations(page) == []
    box = dialog.locator("#pick-map").bounding_box()
    assert box is not None
    dialog.locator("#pick-map").click(position={"x": box["width"] / 2 + 60, "y": box["height"] / 2 - 40})
    expect(dialog.locator("#map-picked")).to_contain_text("고른 위치")
    dialog.get_by_role("button", name="이 위치 사용").click()
    expect(dialog).to_be_hidden()
    lat = float(depot.get_by_label("위도", exact=True).input_value())
    lng = float(depot.get_by_label("경도", exact=True).input_value())
    assert lat > LAT and lng > LNG and abs(lat - LAT) < 0.01 and abs(lng - LNG) < 0.01  # tapped up and right
    depot.get_by_label("집하장 사진").set_input_files([jpeg((90, 90, 160))])
    expect(depot.locator("[data-photo-state=uploaded]")).to_have_count(1)
    depot.get_by_label("예상 무게 (kg)").fill("40")
    assert axe_violations(page) == []
    screenshot(page, "app-collection-form")
    confirm_submit(page)
    page.wait_for_url("**/app/reports/*?sent=1")
    report_id = report_id_of(page.url)
    expect(page.get_by_text("수거 대기")).to_be_visible()
    assert axe_violations(page) == []
    report = stored(live_server, report_id)
    assert report["type"] == "COLLECTION_REQUEST" and report["status"] == "SUBMITTED"
    (depot_out,) = report["collection_depots"]
    assert depot_out["name"] == "E2E 입구 집하장" and depot_out["address"] == "부산 해운대구 우동"
    assert (depot_out["latitude"], depot_out["longitude"]) == (lat, lng)
    assert depot_out["status"] == "WAITING" and len(depot_out["image_ids"]) == 1 and depot_out["estimated_kg"] == 40


def test_my_reports_shows_device_drafts_and_a_rejected_report_is_fixed_and_resubmitted(
    phone_page: Any, live_server: LiveServer
) -> None:
    token = live_server.token(INVESTIGATOR_PHONE)
    with live_server.api(token) as api:
        beach_id = api.get("/api/beaches").json()["data"][0]["id"]
        body = {
            "type": "INVESTIGATION",
            "beach_id": beach_id,
            "investigation_at": "2025-06-05T05:20:00Z",
            "areas": [
                {
                    "area_name": "E2E 반려 구역",
                    "start_latitude": 35.158,
                    "start_longitude": 129.16,
                    "end_latitude": 35.159,
                    "end_longitude": 129.161,
                    "trash_amount_est_l": 10,
                    "main_trash_type": "GLASS",
                }
            ],
        }
        created = api.post("/api/reports", json=body)
        assert created.status_code == 201, created.text
        report_id = created.json()["data"]["id"]
    with live_server.api(live_server.token(DISTRICT_ADMIN_PHONE, "DISTRICT_ADMIN")) as admin:
        rejected = admin.patch(f"/api/reports/{report_id}", json={"status": "REJECTED", "reason": "사진이 없습니다"})
        assert rejected.status_code == 200, rejected.text

    page = phone_page
    worker_sign_in(page, live_server, INVESTIGATOR_PHONE)
    # a draft saved online is kept on the server too (as DRAFT)
    open_form(page, live_server, "investigation")
    page.locator("[data-card]").first.get_by_label("구역 이름").fill("E2E 서버 초안")
    page.get_by_role("button", name="임시 저장").click()
    expect(page.locator("#form-notice")).to_contain_text("서버에도 저장")
    (server_draft,) = reports_with_area(live_server, "E2E 서버 초안")
    assert server_draft["status"] == "DRAFT"
    # a draft saved offline stays on this device only
    open_form(page, live_server, "investigation")
    page.context.set_offline(True)
    page.get_by_label("해변").select_option(index=1)
    page.locator("[data-card]").first.get_by_label("구역 이름").fill("E2E 기기에만")
    page.get_by_role("button", name="임시 저장").click()
    expect(page.locator("#form-notice")).to_contain_text("이 기기에 임시 저장")
    page.context.set_offline(False)
    assert reports_with_area(live_server, "E2E 기기에만") == []

    page.goto(f"{live_server.url}/app/reports")
    device = page.locator("#device-list li")
    expect(device).to_have_count(1)
    expect(device).to_contain_text("기기에 임시 저장")
    row = page.locator(f"#server-list [data-report-id='{report_id}']")
    expect(row).to_contain_text("반려")
    expect(row).to_contain_text("사진이 없습니다")
    expect(page.locator(f"#server-list [data-report-id='{server_draft['id']}']")).to_contain_text("작성 중")
    assert axe_violations(page) == []
    screenshot(page, "app-my-reports")
    # filters and pager of the server's list (C-01), and a value the controls cannot produce
    page.get_by_label("상태").select_option("REJECTED")
    page.get_by_role("button", name="조회").click()
    expect(page.locator("#server-list > li")).to_have_count(1)
    page.goto(f"{live_server.url}/app/reports?size=2")
    expect(page.locator("#server-list > li")).to_have_count(2)
    expect(page.get_by_role("navigation", name="페이지 이동").get_by_role("link", name="다음 페이지")).to_be_visible()
    assert page.goto(f"{live_server.url}/app/reports?status=LOST").status == 400
    assert page.goto(f"{live_server.url}/app/reports/99999999999999999999999").status == 404
    page.goto(f"{live_server.url}/app/reports")
    page.locator("#device-list li").get_by_role("link", name="열기").click()
    page.wait_for_selector("#report-form[data-ready='1']")
    expect(page.locator("[data-card]").first.get_by_label("구역 이름")).to_have_value("E2E 기기에만")
    expect(page.locator("#form-notice")).to_contain_text("불러왔습니다")

    page.goto(f"{live_server.url}/app/reports")
    page.locator(f"#server-list [data-report-id='{report_id}']").get_by_role(
        "link", name=re.compile("상세 보기")
    ).click()
    expect(page.get_by_text("반려 사유: 사진이 없습니다")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="수정", exact=True).click()
    page.wait_for_selector("#report-form[data-ready='1']")
    card = page.locator("[data-card]").first
    expect(card.get_by_label("구역 이름")).to_have_value("E2E 반려 구역")
    card.get_by_label("예상량 (L)").fill("12")
    card.get_by_label("현장 사진").set_input_files([jpeg((0, 0, 0))])
    expect(card.locator("[data-photo-state=uploaded]")).to_have_count(1)
    assert axe_violations(page) == []
    confirm_submit(page)
    page.wait_for_url(f"**/app/reports/{report_id}?sent=1")
    expect(page.locator("#report-status")).to_have_text("제출됨")
    report = stored(live_server, report_id)
    assert report["status"] == "SUBMITTED" and report["reject_reason"] is None
    assert report["areas"][0]["trash_amount_est_l"] == 12 and len(report["areas"][0]["images"]) == 1


def test_no_gps_means_typing_the_position_and_a_duplicate_is_confirmed(
    phone_page: Any, live_server: LiveServer
) -> None:
    from datetime import UTC, datetime, timedelta

    with live_server.api(live_server.token(LEADER_PHONE)) as api:  # the leader cleans the same spot alone
        beach_id = api.get("/api/beaches").json()["data"][0]["id"]
        when = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        point = {"start_latitude": LAT, "start_longitude": LNG, "end_latitude": LAT, "end_longitude": LNG}
        area = {"area_name": "E2E 먼저 청소", "trash_amount_kg": 5, **point}
        body = {"type": "CLEANING", "beach_id": beach_id, "cleaning_at": when, "areas": [area]}
        first = api.post("/api/reports", json=body)
        assert first.status_code == 201, first.text

    page = phone_page
    worker_sign_in(page, live_server, SOLO_CLEANER_PHONE)
    page.context.clear_permissions()  # no GPS on this phone
    form = open_form(page, live_server, "cleaning")
    assert form.get_by_label("작성 단위").count() == 0  # not a leader: a report of their own
    page.get_by_label("해변").select_option(str(beach_id))
    card = page.locator("[data-card]").first
    card.get_by_label("구역 이름").fill("E2E 중복 청소")
    card.get_by_role("button", name="시작 위치 GPS 기록").click()
    expect(card.get_by_text("GPS를 쓸 수 없습니다").first).to_be_visible(timeout=40000)
    expect(card.get_by_label("시작 위도")).to_be_focused()
    card.get_by_label("시작 위도").fill(str(LAT))
    card.get_by_label("시작 경도").fill(str(LNG))
    card.get_by_label("끝 위도").fill(str(LAT))
    card.get_by_label("끝 경도").fill("129.1613842")
    expect(page.locator("#length-summary")).to_contain_text("0.09 km")
    card.get_by_label("수거량 (kg)").fill("4")

    confirm_submit(page)
    dialog = page.get_by_role("dialog", name="비슷한 보고서가 있습니다")
    expect(dialog).to_be_visible()
    assert axe_violations(page) == []
    named = re.search(r"#(\d+)", dialog.inner_text())
    assert named, dialog.inner_text()
    existing = int(named.group(1))
    dialog.get_by_role("button", name="그래도 제출").click()
    page.wait_for_url("**/app/reports/*?sent=1")
    expect(page.get_by_text(f"#{existing}와(과) 중복 의심")).to_be_visible()
    report = stored(live_server, report_id_of(page.url))
    assert report["status"] == "SUBMITTED" and report["duplicate_of_id"] == existing
    assert stored(live_server, existing)["user_id"] != report["user_id"]
    assert report["areas"][0]["end_longitude"] == 129.1613842
