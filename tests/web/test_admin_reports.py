"""The console's reports and depots pages (ADM-05, ADM-05a/b/c): the list with its filters and
pager, a report's detail (photos, map, investigation → cleaning → collection chain), approval
and rejection with a reason, credit objections, and the depots list and map with resolving an
issue. The data is made through the real API by the worker roles (photos uploaded first)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from beachsaver.beaches.models import Beach
from beachsaver.core.time import SEOUL
from beachsaver.teams.models import Team
from tests.images import imagegen
from tests.web.conftest import (
    COLLECTOR_PHONE,
    DISTRICT_ADMIN_PHONE,
    INVESTIGATOR_PHONE,
    LEADER_PHONE,
    MEMBER_PHONE,
    LiveServer,
    admin_sign_in,
    axe_violations,
    open_admin_menu,
    screenshot,
)

SUYEONG_ADMIN_PHONE = "01000000004"
IMAGES_LOADED = "(sel) => [...document.querySelectorAll(sel)].every(i => i.complete && i.naturalWidth > 0)"
EXTRA_INVESTIGATIONS = 11  # with the chain's reports: more than one page of 10


def ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def upload(api: httpx.Client, image_type: str, seed: int = 1) -> int:
    picture = imagegen.encode("JPEG", size=(96, 72 + seed))
    r = api.post("/api/images", files={"file": (f"p{seed}.jpg", picture, "image/jpeg")}, data={"type": image_type})
    assert r.status_code == 201, r.text
    return int(r.json()["data"]["id"])


def area(name: str, lat: float, lng: float, **amounts: Any) -> dict[str, Any]:
    return {
        "area_name": name,
        "start_latitude": lat,
        "start_longitude": lng,
        "end_latitude": lat + 0.0009,
        "end_longitude": lng + 0.003,
        **amounts,
    }


def investigation(api: httpx.Client, beach_id: int, minutes_ago: int, photos: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "INVESTIGATION",
        "beach_id": beach_id,
        "investigation_at": ago(minutes_ago),
        "weather": "SUNNY",
        "note": "북쪽 끝에 스티로폼이 많음",
        "areas": [area("A구역", 35.1581, 129.1590, trash_amount_est_l=120.5, main_trash_type="PLASTIC")],
    }
    if photos:
        body["images"] = [upload(api, "INVESTIGATION_MAIN", 1)]
        body["areas"][0]["image_ids"] = [upload(api, "INVESTIGATION_AREA", 2)]
    r = api.post("/api/reports", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


@dataclass
class Chain:
    investigation: dict[str, Any]
    to_reject: dict[str, Any]
    cleaning: dict[str, Any]
    request: dict[str, Any]
    completed_depot: int
    issue_depot: int
    waiting_depot: int
    extra_ids: list[int]
    tokens: dict[str, str]

    def api(self, live_server: LiveServer, who: str) -> httpx.Client:
        return live_server.api(self.tokens[who])


def read(page: Any, live_server: LiveServer, path: str) -> dict[str, Any]:
    """Re-read through the API with the browser's own session (a new sign-in of the same admin
    would end it)."""
    response = page.request.get(f"{live_server.url}{path}")
    assert response.status == 200, response.text()
    return dict(response.json())


@pytest.fixture(scope="module")
def chain(live_server: LiveServer) -> Iterator[Chain]:
    """Investigation → team cleaning (with an objection) → collection request with three depots:
    one collected, one with an issue, one waiting; and more investigations for the pager."""
    with live_server.session() as db:
        beach_id = db.execute(select(Beach.id).where(Beach.beach_name == "해운대해수욕장")).scalar_one()
        other_beach_id = db.execute(select(Beach.id).where(Beach.beach_name == "송정해수욕장")).scalar_one()
        team_id = db.execute(select(Team.id).where(Team.name == "해운대 1팀")).scalar_one()
    tokens = {
        "investigator": live_server.token(INVESTIGATOR_PHONE, "INVESTIGATOR"),
        "leader": live_server.token(LEADER_PHONE, "CLEANER"),
        "member": live_server.token(MEMBER_PHONE, "CLEANER"),
        "collector": live_server.token(COLLECTOR_PHONE, "COLLECTOR"),
    }
    with (
        live_server.api(tokens["investigator"]) as inv_api,
        live_server.api(tokens["leader"]) as leader_api,
        live_server.api(tokens["member"]) as member_api,
        live_server.api(tokens["collector"]) as collector_api,
    ):
        extra_ids = [investigation(inv_api, other_beach_id, 300 + i)["id"] for i in range(EXTRA_INVESTIGATIONS)]
        to_reject = investigation(inv_api, other_beach_id, 200)
        inv = investigation(inv_api, beach_id, 90, photos=True)
        cleaning_body = {
            "client_id": str(uuid.uuid4()),
            "type": "CLEANING",
            "beach_id": beach_id,
            "team_id": team_id,
            "investigation_report_id": inv["id"],
            "cleaning_at": ago(60),
            "areas": [
                area(
                    "A구역",
                    35.1581,
                    129.1590,
                    trash_amount_kg=35,
                    bag_count=7,
                    main_trash_type="STYROFOAM",
                    image_ids=[upload(leader_api, "CLEANING_AFTER_AREA", 3)],
                )
            ],
        }
        r = leader_api.post("/api/reports", json=cleaning_body)
        assert r.status_code == 201, r.text
        cleaning = r.json()["data"]
        r = member_api.post(f"/api/reports/{cleaning['id']}/objections", json={"reason": "제 작업량이 더 많았습니다"})
        assert r.status_code == 201, r.text
        depots = [
            ("북쪽 집하장", 35.1600, 129.1610),
            ("남쪽 집하장", 35.1560, 129.1600),
            ("동쪽 집하장", 35.1585, 129.1660),
        ]
        request_body = {
            "client_id": str(uuid.uuid4()),
            "type": "COLLECTION_REQUEST",
            "beach_id": beach_id,
            "cleaning_report_id": cleaning["id"],
            "collection_depots": [
                {
                    "name": name,
                    "latitude": lat,
                    "longitude": lng,
                    "estimated_kg": 20,
                    "photo": upload(leader_api, "COLLECTION_DEPOT", 4 + i),
                }
                for i, (name, lat, lng) in enumerate(depots)
            ],
        }
        r = leader_api.post("/api/reports", json=request_body)
        assert r.status_code == 201, r.text
        request = r.json()["data"]
        ids = [d["id"] for d in request["collection_depots"]]
        completion = {"collected_amount": 18.5, "photo": upload(collector_api, "COLLECTION_COMPLETED", 9)}
        r = collector_api.patch(f"/api/collection-depots/{ids[0]}/complete", json=completion)
        assert r.status_code == 200, r.text
        r = collector_api.post(f"/api/collection-depots/{ids[1]}/issue", json={"note": "차량 진입 불가 (공사 중)"})
        assert r.status_code == 200, r.text
    yield Chain(
        investigation=inv,
        to_reject=to_reject,
        cleaning=cleaning,
        request=request,
        completed_depot=ids[0],
        issue_depot=ids[1],
        waiting_depot=ids[2],
        extra_ids=extra_ids,
        tokens=tokens,
    )


def rows(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("table.reports-table tbody tr th[scope=row]").all_inner_texts()]


def test_report_list_filters_and_pager(page: Any, live_server: LiveServer, chain: Chain) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "보고서 관리")
    page.wait_for_url(f"{live_server.url}/admin/reports")
    assert page.get_by_role("heading", name=re.compile("보고서 목록")).is_visible()
    total = read(page, live_server, "/api/reports?size=1")["meta"]["total"]
    assert page.locator("[data-total]").first.get_attribute("data-total") == str(total)
    assert len(rows(page)) == min(total, 20)
    assert axe_violations(page) == []
    screenshot(page, "admin-reports")

    # Type filter: only the cleaning report, authored "Leader (Team)" (G-18), pending approval (G-17).
    page.get_by_label("유형").select_option("CLEANING")
    page.get_by_role("button", name="검색").click()
    page.wait_for_url(re.compile(r"type=CLEANING"))
    assert rows(page) == [f"RPT_{chain.cleaning['id']}"]
    row = page.locator(f"tr[data-report-id='{chain.cleaning['id']}']")
    assert "이팀장 (해운대 1팀)" in row.inner_text()
    assert "승인 대기" in row.inner_text()
    assert "해운대해수욕장" in row.inner_text()
    assert "이의 제기" in row.inner_text()

    # Keyword: a report id, then a beach name with the status filter.
    page.goto(f"{live_server.url}/admin/reports")
    page.get_by_label("검색어").fill(f"RPT_{chain.request['id']}")
    page.get_by_role("button", name="검색").click()
    page.wait_for_url(re.compile(r"q=RPT"))
    assert rows(page) == [f"RPT_{chain.request['id']}"]
    page.goto(f"{live_server.url}/admin/reports")
    page.get_by_label("검색어").fill("송정")
    page.get_by_label("유형").select_option("INVESTIGATION")
    page.get_by_role("button", name="검색").click()
    page.wait_for_url(re.compile(r"q="))
    page.get_by_label("표시 개수").select_option("10")  # applies at once
    page.wait_for_url(re.compile(r"size=10"))
    songjeong = {f"RPT_{i}" for i in [*chain.extra_ids, chain.to_reject["id"]]}
    first_page = rows(page)
    assert len(first_page) == 10 and set(first_page) <= songjeong
    page.get_by_role("navigation", name="페이지 이동").get_by_role("link", name="2 페이지").click()
    page.wait_for_url(re.compile(r"page=2"))
    second_page = rows(page)
    assert set(first_page) | set(second_page) == songjeong and not set(first_page) & set(second_page)
    assert page.get_by_role("link", name="2 페이지").get_attribute("aria-current") == "page"

    # Period: today's submissions match, tomorrow's none; a wrong period is refused, naming the field.
    today = datetime.now(SEOUL).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    page.goto(f"{live_server.url}/admin/reports?type=CLEANING&from={yesterday}&to={tomorrow}")
    assert rows(page) == [f"RPT_{chain.cleaning['id']}"]
    page.goto(f"{live_server.url}/admin/reports?from={today + timedelta(days=2)}")
    assert rows(page) == [] and page.get_by_text("조건에 맞는 보고서가 없습니다.").is_visible()
    response = page.goto(f"{live_server.url}/admin/reports?from=2026-05-10&to=2026-05-01")
    assert response is not None and response.status == 400
    assert page.get_by_label("종료일").get_attribute("aria-invalid") == "true"
    assert "종료일은 시작일과 같거나 뒤여야 합니다." in page.locator("#err-to").inner_text()
    assert axe_violations(page) == []

    # Another district's admin sees none of these (scope comes from the service).
    page.context.clear_cookies()
    admin_sign_in(page, live_server, SUYEONG_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/reports?type=CLEANING")
    assert rows(page) == []
    response = page.goto(f"{live_server.url}/admin/reports/{chain.cleaning['id']}")
    assert response is not None and response.status == 404


def test_report_detail_chain_photos_map_and_approval(page: Any, live_server: LiveServer, chain: Chain) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/reports?type=INVESTIGATION&q=해운대해수욕장")
    page.get_by_role("link", name=f"보고서 RPT_{chain.investigation['id']} 상세").click()
    page.wait_for_url(f"{live_server.url}/admin/reports/{chain.investigation['id']}")
    assert page.locator("[data-status]").first.inner_text() == "승인 대기"
    assert page.locator("[data-author]").inner_text() == "김조사"
    assert page.get_by_text("북쪽 끝에 스티로폼이 많음").is_visible()
    # Photos: the main one and the area's, served by the image endpoint.
    images = page.locator("ul.thumbs img")
    assert images.count() == 2
    for i in range(images.count()):
        assert "/api/images/" in (images.nth(i).get_attribute("src") or "")
    page.wait_for_function(IMAGES_LOADED, arg="ul.thumbs img")
    # The chain: this investigation → the team's cleaning → the request with its depots and states.
    chain_box = page.locator("ol.chain")
    assert chain_box.get_by_role("link", name=f"청소 보고서 RPT_{chain.cleaning['id']}").is_visible()
    assert chain_box.get_by_role("link", name=f"수거 요청 RPT_{chain.request['id']}").is_visible()
    text = chain_box.inner_text()
    for label in ("수거 완료", "문제 발생", "수거 대기", "한수거", "18.5 kg", "청소 담당 팀: 해운대 1팀"):
        assert label in text, label
    # The map (no tiles configured): the area's start marker and line, and the text list beside it.
    assert page.locator("#report-map path.leaflet-interactive").count() >= 2
    assert "A구역 (시작 → 끝)" in page.locator("#report-map-list").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "admin-report-detail")

    with page.expect_navigation():
        page.get_by_role("button", name="승인", exact=True).click()
    assert page.locator("[data-status]").first.inner_text() == "승인"
    assert page.get_by_text("처리: 해운대관리자").is_visible()
    data = read(page, live_server, f"/api/reports/{chain.investigation['id']}")["data"]
    assert data["status"] == "APPROVED"
    assert page.get_by_role("button", name="승인", exact=True).count() == 0  # no second review


def test_reject_needs_a_reason_of_five_characters(page: Any, live_server: LiveServer, chain: Chain) -> None:
    report_id = chain.to_reject["id"]
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    # The list's reject action opens the report with the reject dialog already open.
    page.goto(f"{live_server.url}/admin/reports?q=RPT_{report_id}")
    page.get_by_role("link", name=f"보고서 RPT_{report_id} 반려").click()
    page.wait_for_url(f"{live_server.url}/admin/reports/{report_id}#reject")
    dialog = page.get_by_role("dialog", name="보고서 반려")
    dialog.wait_for()
    assert dialog.is_visible()
    reason = dialog.get_by_label("반려 사유 (5자 이상)")
    assert reason.evaluate("el => el === document.activeElement")
    assert axe_violations(page) == []
    reason.fill("흐림")
    dialog.get_by_role("button", name="반려하기").click()
    assert reason.get_attribute("aria-invalid") == "true"
    assert "5자 이상" in dialog.locator(".field-error").inner_text()
    assert read(page, live_server, f"/api/reports/{report_id}")["data"]["status"] == "SUBMITTED"
    page.keyboard.press("Escape")  # C-02: Esc closes the dialog
    assert not dialog.is_visible()

    page.get_by_role("button", name="반려", exact=True).click()
    reason.fill("구역 A 사진이 흐립니다. 다시 찍어 주세요.")
    with page.expect_navigation():
        dialog.get_by_role("button", name="반려하기").click()
    assert page.locator("[data-status]").first.inner_text() == "반려"
    assert "구역 A 사진이 흐립니다. 다시 찍어 주세요." in page.locator("[data-reject-reason]").inner_text()
    data = read(page, live_server, f"/api/reports/{report_id}")["data"]
    assert data["status"] == "REJECTED" and data["reject_reason"] == "구역 A 사진이 흐립니다. 다시 찍어 주세요."
    with chain.api(live_server, "investigator") as api:
        notes = api.get("/api/notifications").json()["data"]
    assert any(n["link"] == f"/app/reports/{report_id}" and "다시 찍어" in n["message"] for n in notes)
    # The list shows it rejected (admin label map).
    page.goto(f"{live_server.url}/admin/reports?status=REJECTED")
    assert f"RPT_{report_id}" in rows(page)


def test_cleaning_objection_is_resolved_by_adjusting_credits(page: Any, live_server: LiveServer, chain: Chain) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/reports?objections=open")
    assert f"RPT_{chain.cleaning['id']}" in rows(page)
    page.goto(f"{live_server.url}/admin/reports/{chain.cleaning['id']}")
    objection = page.locator("[data-objection]")
    assert "제 작업량이 더 많았습니다" in objection.inner_text() and objection.get_attribute("data-objection") == "OPEN"
    # The chain seen from the middle: the approved investigation before it, the request after it.
    steps = page.locator("ol.chain")
    assert steps.get_by_role("link", name=f"조사 보고서 RPT_{chain.investigation['id']}").is_visible()
    assert steps.locator("a[aria-current=page]").inner_text().strip() == f"청소 보고서 RPT_{chain.cleaning['id']}"
    assert page.locator("ul.thumbs img").count() == 1  # the area's after-photo
    assert axe_violations(page) == []
    page.get_by_label("박청소").fill("2")
    with page.expect_navigation():
        page.get_by_role("button", name="기여도 조정 저장").click()
    assert objection.get_attribute("data-objection") == "RESOLVED"
    credits = read(page, live_server, f"/api/reports/{chain.cleaning['id']}")["data"]["credits"]
    assert sorted(c["weight"] for c in credits) == [1.0, 1.0, 1.5, 2.0]


def test_depots_map_list_and_resolving_an_issue(page: Any, live_server: LiveServer, chain: Chain) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "집하장")
    page.wait_for_url(f"{live_server.url}/admin/depots")
    completed = page.locator(f"tr[data-depot-id='{chain.completed_depot}']")
    assert "수거 완료" in completed.inner_text() and "한수거" in completed.inner_text()
    assert "18.5 kg" in completed.inner_text()
    page.wait_for_function(IMAGES_LOADED, arg="img.thumb")
    assert completed.locator("img.thumb").count() == 1
    assert "차량 진입 불가" in page.locator(f"tr[data-depot-id='{chain.issue_depot}']").inner_text()
    # Map and its text list: one marker per depot, colour plus label.
    markers = page.locator("#depot-map path.leaflet-interactive")
    assert markers.count() == 3
    assert "동쪽 집하장 · 수거 대기" in page.locator("#depot-map-list").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "admin-depots")

    page.get_by_role("navigation", name="집하장 상태").get_by_role("link", name="문제 발생").click()
    page.wait_for_url(re.compile(r"status=ISSUE"))
    assert page.locator("tbody tr").count() == 1 and markers.count() == 1
    with page.expect_navigation():
        page.get_by_role("button", name="남쪽 집하장 문제 해결").click()
    assert page.locator("tbody tr").count() == 0
    assert page.get_by_text("표시할 집하장이 없습니다.").is_visible()
    depot = read(page, live_server, f"/api/collection-depots/{chain.issue_depot}")["data"]
    assert depot["status"] == "WAITING" and depot["collector_id"] is None

    # One depot's page: its photos, the map, and the link back to its request.
    page.goto(f"{live_server.url}/admin/depots/{chain.completed_depot}")
    assert page.locator("[data-status]").inner_text() == "수거 완료"
    assert page.locator("ul.thumbs img").count() == 2  # request photo and completion photo
    assert page.get_by_role("link", name=f"수거 요청 RPT_{chain.request['id']}").is_visible()
    assert axe_violations(page) == []
    bad = page.goto(f"{live_server.url}/admin/depots?status=LOST")
    assert bad is not None and bad.status == 400
    assert page.get_by_label("상태", exact=True).get_attribute("aria-invalid") == "true"


def test_pages_in_english_and_high_contrast(page: Any, live_server: LiveServer, chain: Chain) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/reports?type=CLEANING")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    page.goto(f"{live_server.url}/admin/reports?type=CLEANING")
    assert page.get_by_role("heading", name=re.compile("Report list")).is_visible()
    row = page.locator(f"tr[data-report-id='{chain.cleaning['id']}']").inner_text()
    assert "\tCleaning\t" in row and "이팀장 (해운대 1팀)" in row
    assert "Pending approval" in row or "Approved" in row
    with page.expect_navigation():
        page.get_by_role("button", name="High contrast").click()
    assert "high-contrast" in page.evaluate("document.documentElement.className")
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/admin/reports/{chain.request['id']}")
    assert page.get_by_role("heading", name="Investigation → cleaning → collection").is_visible()
    assert "Collected" in page.locator("ol.chain").inner_text()
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/admin/depots?status=COMPLETED")
    assert page.get_by_role("heading", name=re.compile("Collection status")).is_visible()
    assert page.locator("tbody tr").count() == 1
    assert axe_violations(page) == []
