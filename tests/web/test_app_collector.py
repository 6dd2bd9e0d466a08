"""The worker app's pickups, notifications, performance and settings pages, driven in a phone-sized
Chromium whose position is 35.1586975,129.1603842 (해운대).

The tests of this module share one server and run in order: the pickup test leaves one depot
COMPLETED by the collector, which the performance test then finds.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from beachsaver.core.time import SEOUL
from beachsaver.depots.models import CollectionDepot
from beachsaver.web import i18n
from tests.web.conftest import (
    COLLECTOR_PHONE,
    DISTRICT_ADMIN_PHONE,
    LEADER_PHONE,
    MEMBER_PHONE,
    PENDING_CITIZEN_PHONE,
    UNVERIFIED_COLLECTOR_PHONE,
    LiveServer,
    axe_violations,
    screenshot,
    worker_sign_in,
)

HERE = (35.1586975, 129.1603842)
#: (name, lat, lng): the first is ~80 m from HERE, the second ~550 m. The API's order without a
#: position is newest first (the second), so the distance order is visible.
NEAR = ("해운대 북쪽 집하장", 35.1593, 129.1606)
FAR = ("해운대 동쪽 집하장", 35.1612, 129.1650)


def jpeg(color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


def collection_request(server: LiveServer, depots: list[tuple[str, float, float]]) -> list[int]:
    """The Haeundae team leader submits a collection request; answers the depot ids in order."""
    with server.api(server.token(LEADER_PHONE)) as api:
        beaches = api.get("/api/beaches").json()["data"]
        photos = []
        for _ in depots:
            r = api.post(
                "/api/images", files={"file": ("depot.jpg", jpeg(), "image/jpeg")}, data={"type": "COLLECTION_DEPOT"}
            )
            assert r.status_code == 201, r.text
            photos.append(r.json()["data"]["id"])
        body = {
            "client_id": str(uuid.uuid4()),
            "type": "COLLECTION_REQUEST",
            "beach_id": beaches[0]["id"],
            "collection_depots": [
                {"name": name, "latitude": lat, "longitude": lng, "photo": photo, "estimated_kg": 20}
                for (name, lat, lng), photo in zip(depots, photos, strict=True)
            ],
        }
        r = api.post("/api/reports", json=body)
        assert r.status_code == 201, r.text
        data = r.json()["data"]
        assert [d["status"] for d in data["collection_depots"]] == ["WAITING"] * len(depots)
        return [int(d["id"]) for d in data["collection_depots"]]


def api_get(page: Any, server: LiveServer, path: str, **params: Any) -> Any:
    """GET through the API with the browser's own cookie session (a separate sign-in through the
    API would end the browser's session: a new sign-in supersedes the older ones)."""
    response = page.request.get(f"{server.url}{path}", params=params)
    assert response.ok, response.text()
    return response.json()["data"]


def depot_of(page: Any, server: LiveServer, depot_id: int) -> dict[str, Any]:
    return dict(api_get(page, server, f"/api/collection-depots/{depot_id}"))


def card_ids(page: Any) -> list[int]:
    return [
        int(x) for x in page.locator("[data-depot-list] > li").evaluate_all("els => els.map(e => e.dataset.depotId)")
    ]


@pytest.fixture
def photo_file(tmp_path: Path) -> Path:
    path = tmp_path / "pickup.jpg"
    path.write_bytes(jpeg((20, 160, 90)))
    return path


def test_collector_sorts_claims_completes_and_reports(
    phone_page: Any, live_server: LiveServer, photo_file: Path
) -> None:
    near_id, far_id = collection_request(live_server, [NEAR, FAR])
    page = phone_page
    worker_sign_in(page, live_server, COLLECTOR_PHONE)
    page.goto(f"{live_server.url}/app/depots")
    # The page asks for the position and comes back sorted by distance from it.
    page.wait_for_url("**/app/depots?near=*")
    assert "near=35.158698,129.160384" in unquote(page.url)
    assert card_ids(page)[:2] == [near_id, far_id]
    near_card, far_card = page.locator(f"#depot-{near_id}"), page.locator(f"#depot-{far_id}")
    expect(near_card.locator("[data-distance]")).to_contain_text(" m")
    expect(near_card.locator("[data-state-label]")).to_have_text("수거 대기")
    assert near_card.locator("[data-route]").get_attribute("data-route") == "1"
    # the map: one marker per depot, numbered and named with its state, without tiles
    expect(page.locator(".depot-marker")).to_have_count(len(card_ids(page)))
    assert page.locator(f".depot-marker[aria-label^='1. {NEAR[0]}, 수거 대기']").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "app-depots")

    # claim (start) the nearest one
    near_card.get_by_role("button", name="수거 시작 (내 경로에 담기)").click()
    expect(page.locator(f"#depot-{near_id} [data-state-label]")).to_have_text("내가 수거 중")
    assert depot_of(page, live_server, near_id)["status"] == "IN_ROUTE"

    # completion needs the photo: refused in the page before anything is sent
    near_card = page.locator(f"#depot-{near_id}")
    near_card.locator("summary", has_text="수거 완료 입력").click()
    near_card.get_by_label("수거량 (kg)").fill("12.5")
    near_card.get_by_role("button", name="수거 완료 보내기").click()
    expect(near_card.get_by_label("완료 사진")).to_have_attribute("aria-invalid", "true")
    assert depot_of(page, live_server, near_id)["status"] == "IN_ROUTE"
    # with the photo: uploaded through the images API, then completed with the GPS position
    near_card.get_by_label("완료 사진").set_input_files(str(photo_file))
    near_card.get_by_role("button", name="수거 완료 보내기").click()
    expect(page.locator(f"#depot-{near_id}")).to_have_count(0)  # no longer among those to collect
    done = depot_of(page, live_server, near_id)
    assert done["status"] == "COMPLETED" and done["collected_amount"] == 12.5
    with live_server.session() as db:
        row = db.execute(select(CollectionDepot).where(CollectionDepot.id == near_id)).scalar_one()
        assert row.completion_image_id is not None
        assert abs(float(row.completed_latitude) - HERE[0]) < 1e-4
        assert abs(float(row.completed_longitude) - HERE[1]) < 1e-4

    # report a problem on the other one
    far_card = page.locator(f"#depot-{far_id}")
    far_card.locator("summary", has_text="문제 보고").click()
    far_card.get_by_label("문제 내용 (사유)").fill("집하장이 비어 있음")
    far_card.get_by_role("button", name="문제 보고 보내기").click()
    expect(page.locator(f"#depot-{far_id}")).to_have_count(0)
    assert depot_of(page, live_server, far_id)["status"] == "ISSUE"

    # the other views show both outcomes in words
    page.get_by_role("navigation", name="수거 대상 보기").get_by_role("link", name="수거 완료").click()
    expect(page.locator(f"#depot-{near_id} [data-collected]")).to_contain_text("12.50 kg")
    page.get_by_role("navigation", name="수거 대상 보기").get_by_role("link", name="문제 발생").click()
    expect(page.locator(f"#depot-{far_id}")).to_contain_text("집하장이 비어 있음")
    assert axe_violations(page) == []
    # one depot's page (the target of the pickup notices)
    page.get_by_role("navigation", name="수거 대상 보기").get_by_role("link", name="수거 완료").click()
    page.get_by_role("link", name=NEAR[0]).click()
    page.wait_for_url(f"**/app/depots/{near_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(NEAR[0])
    expect(page.locator("[data-collected]")).to_contain_text("12.50 kg")
    expect(page.locator(".depot-marker.state-completed")).to_have_count(1)
    assert axe_violations(page) == []


def test_unverified_collector_sees_the_notice_and_no_actions(phone_page: Any, live_server: LiveServer) -> None:
    (depot_id,) = collection_request(live_server, [("해운대 서쪽 집하장", 35.1580, 129.1590)])
    # the API refuses this account (before the browser signs in: that ends this API session)
    with live_server.api(live_server.token(UNVERIFIED_COLLECTOR_PHONE)) as api:
        r = api.post(f"/api/collection-depots/{depot_id}/claim")
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
    page = phone_page
    worker_sign_in(page, live_server, UNVERIFIED_COLLECTOR_PHONE)
    page.goto(f"{live_server.url}/app/depots")
    page.wait_for_url("**/app/depots?near=*")
    expect(page.locator("[data-unverified]")).to_contain_text("차량 인증이 아직 끝나지 않아")
    card = page.locator(f"#depot-{depot_id}")
    expect(card).to_be_visible()
    assert card.get_by_role("button").count() == 0
    assert card.locator("summary").count() == 0
    assert page.locator("[data-depot-list] form").count() == 0
    assert axe_violations(page) == []
    assert depot_of(page, live_server, depot_id)["status"] == "WAITING"


def unread(page: Any, server: LiveServer) -> list[dict[str, Any]]:
    return list(api_get(page, server, "/api/notifications", status="UNREAD", size=100))


def test_notifications_filter_open_and_mark_read(phone_page: Any, live_server: LiveServer) -> None:
    collection_request(live_server, [("해운대 남쪽 집하장", 35.1570, 129.1600)])
    page = phone_page
    worker_sign_in(page, live_server, COLLECTOR_PHONE)
    before = unread(page, live_server)
    requests = [n for n in before if n["category"] == "DEPOT"]
    assert len(requests) == 3  # this collection request and the two of the tests above
    page.goto(f"{live_server.url}/app/notifications")
    expect(page.locator("[data-unread-count]")).to_have_text(f"읽지 않은 알림 {len(before)}건")
    # the type filter
    page.get_by_label("알림 종류").select_option("DEPOT")
    page.get_by_role("button", name="보기", exact=True).click()
    page.wait_for_url("**category=DEPOT*")
    items = page.locator("[data-notification-id]")
    assert items.count() == len(requests)
    assert axe_violations(page) == []
    screenshot(page, "app-notifications")
    # mark one read
    first = int(items.first.get_attribute("data-notification-id") or 0)
    items.first.get_by_role("button", name="읽음 표시").click()
    expect(page.locator(f"[data-notification-id='{first}']")).to_have_attribute("data-status", "READ")
    assert first not in {n["id"] for n in unread(page, live_server)}
    # opening another one goes to its pickups and marks it read
    second = page.locator("[data-notification-id][data-status='UNREAD']").first
    second_id = int(second.get_attribute("data-notification-id") or 0)
    second.get_by_role("link", name="보기").click()
    # the pickups page then reloads itself sorted by the phone's position (?near=)
    page.wait_for_url("**/app/depots?report_id=*&near=*")
    assert second_id not in {n["id"] for n in unread(page, live_server)}
    # the unread filter, then mark all read
    page.goto(f"{live_server.url}/app/notifications?status=UNREAD")
    expect(page.locator("[data-notification-id]")).to_have_count(len(before) - 2)
    page.get_by_role("button", name="모두 읽음으로 표시").click()
    expect(page.locator("[data-unread-count]")).to_have_text("읽지 않은 알림 0건")
    expect(page.locator("[data-notification-id]")).to_have_count(0)
    assert unread(page, live_server) == []
    assert axe_violations(page) == []


def test_performance_shows_the_completed_pickup(phone_page: Any, live_server: LiveServer) -> None:
    page = phone_page
    worker_sign_in(page, live_server, COLLECTOR_PHONE)
    figures = api_get(page, live_server, "/api/users/me/performance")
    assert figures["all_time"]["depots_collected"] == 1 and figures["all_time"]["kg_collected"] == 12.5
    page.goto(f"{live_server.url}/app/performance")
    expect(page.locator("[data-kpi=depots_collected] strong")).to_have_text("1")
    row = page.locator("[data-figure=kg_collected] td")
    expect(row.nth(0)).to_have_text("12.50 kg")  # this month
    expect(row.nth(1)).to_have_text("12.50 kg")  # all time
    expect(page.locator("[data-figure=depots_collected] td").nth(1)).to_have_text("1")
    expect(page.locator("[data-recent-pickups]")).to_contain_text(NEAR[0])
    expect(page.locator("[data-recent-pickups]")).to_contain_text("12.50 kg")
    assert axe_violations(page) == []
    screenshot(page, "app-performance")


def test_settings_nickname_channels_large_text_and_sign_out(phone_page: Any, live_server: LiveServer) -> None:
    page = phone_page
    worker_sign_in(page, live_server, MEMBER_PHONE)
    page.goto(f"{live_server.url}/app/settings")
    assert axe_violations(page) == []
    # nickname through PATCH /api/users/me
    page.get_by_label("닉네임").fill("바다지킴이")
    # the field already shows what was typed, so wait for the PATCH itself to answer
    with page.expect_response(lambda r: r.url.endswith("/api/users/me") and r.request.method == "PATCH") as patched:
        page.get_by_role("button", name="변경").click()
    assert patched.value.status == 200
    expect(page.get_by_label("닉네임")).to_have_value("바다지킴이")
    assert api_get(page, live_server, "/api/users/me")["nickname"] == "바다지킴이"
    # channel choices; assignment and security notices stay on
    expect(page.get_by_label("작업 배정 · 앱 푸시 (끌 수 없음)")).to_be_disabled()
    expect(page.get_by_label("작업 배정 · 앱 푸시 (끌 수 없음)")).to_be_checked()
    page.get_by_label("수거 · 앱 푸시").uncheck()
    page.get_by_label("공지 · 문자").check()
    page.get_by_role("button", name="알림 설정 저장").click()
    expect(page.locator("#toasts")).to_contain_text("저장했습니다")
    prefs = api_get(page, live_server, "/api/notifications/preferences")
    assert prefs["DEPOT"]["PUSH"] is False and prefs["NOTICE"]["SMS"] is True and prefs["ASSIGNMENT"]["PUSH"] is True
    page.reload()
    expect(page.get_by_label("수거 · 앱 푸시")).not_to_be_checked()
    # large text: the shared display form
    base = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.get_by_role("button", name="큰 글씨").click()
    expect(page.get_by_role("button", name="큰 글씨")).to_have_attribute("aria-pressed", "true")
    large = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert large >= base * 1.2
    assert axe_violations(page) == []
    screenshot(page, "app-settings")
    # sign out
    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url("**/app/login*")
    page.goto(f"{live_server.url}/app/settings")
    assert "/app/login" in page.url


def test_citizen_awaiting_approval_has_settings_and_notifications(phone_page: Any, live_server: LiveServer) -> None:
    page = phone_page
    worker_sign_in(page, live_server, PENDING_CITIZEN_PHONE)
    page.goto(f"{live_server.url}/app/settings")
    expect(page.get_by_label("닉네임")).to_have_value("윤시민")
    expect(page.get_by_text("가입 승인 대기 중")).to_be_visible()
    # G-28: until approved, the tab bar offers only Home and Settings.
    tabs = page.get_by_role("navigation", name="주 메뉴").get_by_role("link")
    assert [t.strip() for t in tabs.all_inner_texts()] == ["홈", "설정"]
    page.goto(f"{live_server.url}/app/notifications")
    expect(page.get_by_role("heading", name="알림 목록", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/app/performance")
    expect(page.get_by_text("실적은 조사자, 청소자, 수거자 계정에서 볼 수 있습니다.")).to_be_visible()
    page.goto(f"{live_server.url}/app/depots")
    expect(page.get_by_role("heading", name="접근 권한 없음")).to_be_visible()  # as the API: 403
    assert axe_violations(page) == []


def test_an_assignment_notice_opens_the_job(phone_page: Any, live_server: LiveServer) -> None:
    """The assignment notices link to /app/jobs/{id}: the job as GET /api/jobs/{id} has it, read-only."""
    with live_server.api(live_server.token(COLLECTOR_PHONE)) as collector:
        me = collector.get("/api/users/me").json()["data"]
    tomorrow = (datetime.now(SEOUL).date() + timedelta(days=1)).isoformat()
    with live_server.api(live_server.token(DISTRICT_ADMIN_PHONE, "DISTRICT_ADMIN")) as admin:
        beach = admin.get("/api/beaches").json()["data"][0]
        body = {"type": "COLLECTION", "beach_id": beach["id"], "date": tomorrow, "headcount": 1, "area_names": ["A"]}
        r = admin.post("/api/jobs", json=body)
        assert r.status_code == 201, r.text
        job_id = int(r.json()["data"]["id"])
        r = admin.patch(f"/api/jobs/{job_id}", json={"assignee_ids": [me["id"]]})
        assert r.status_code == 200, r.text
    page = phone_page
    worker_sign_in(page, live_server, COLLECTOR_PHONE)
    page.goto(f"{live_server.url}/app/notifications?category=ASSIGNMENT")
    notice = page.locator("[data-notification-id]").filter(has_text=f"#{job_id}")
    notice.get_by_role("link", name="보기").click()
    page.wait_for_url(f"**/app/jobs/{job_id}")
    job = api_get(page, live_server, f"/api/jobs/{job_id}")
    assert job["status"] == "ASSIGNED"
    assert [a["status"] for a in job["assignees"] if a["user_id"] == me["id"]] == ["ASSIGNED"]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"작업 #{job_id}")
    expect(page.locator("[data-job-date]")).to_have_text(job["date"])
    expect(page.locator("[data-job-status]")).to_have_text(i18n.text("job_status.ASSIGNED"))
    expect(page.locator("[data-job-beach]")).to_have_text(beach["beach_name"])
    expect(page.locator("[data-job-mine]")).to_contain_text(i18n.text("jobs.assignee_status.ASSIGNED"))
    assert page.locator("main form, main button").count() == 0  # read-only
    assert axe_violations(page) == []
    screenshot(page, "app-job")
    # A job the worker is not on is not found, as through the API.
    missing = page.goto(f"{live_server.url}/app/jobs/{job_id + 1000}")
    assert missing is not None and missing.status == 404
