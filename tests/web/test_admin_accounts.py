"""The console's accounts, volunteers, teams and beaches pages (ADM-03, 03a–e, ADM-04): what an
admin does in the browser, re-read through the API afterwards."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import (
    CITY_ADMIN_PHONE,
    DISTRICT_ADMIN_PHONE,
    PENDING_CITIZEN_PHONE,
    PLATFORM_ADMIN_PHONE,
    UNVERIFIED_COLLECTOR_PHONE,
    LiveServer,
    admin_sign_in,
    axe_violations,
    open_admin_menu,
    screenshot,
)

HAEUNDAE = "BSJ001-HAEUN"
IMPORT_HEADERS = (
    "role",
    "org_code",
    "nickname",
    "real_name",
    "phone",
    "email",
    "cleaner_type",
    "birth",
    "start_date",
    "end_date",
    "vehicle_type",
    "capacity_t",
    "plate_no",
    "operator_type",
    "company_name",
    "business_no",
)


@pytest.fixture(scope="module")
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """The platform admin's API client for arranging and re-reading data (a sign-in of another
    account, so the browser's admin session stays the only one of its account)."""
    with live_server.api(live_server.token(PLATFORM_ADMIN_PHONE, "PLATFORM_ADMIN")) as client:
        yield client


def _find_user(api: httpx.Client, q: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/users", params={"q": q, "size": 100, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _user_id_by_phone_tail(api: httpx.Client, q: str, phone: str) -> int:
    found = [u for u in _find_user(api, q) if u["phone"].endswith(phone[-4:])]
    assert len(found) == 1, found
    return int(found[0]["id"])


def _xlsx(rows: list[dict[str, Any]], path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(IMPORT_HEADERS))
    for row in rows:
        sheet.append([row.get(h) for h in IMPORT_HEADERS])
    book.save(path)
    return path


def _org_id(api: httpx.Client, code: str) -> int:
    orgs = api.get("/api/organizations", params={"filter": f"code={code}"}).json()["data"]
    return int(orgs[0]["id"])


# ---- accounts: create, field error, suspend ------------------------------------------------------


def test_create_an_investigator_then_suspend_with_a_reason(
    page: Any, live_server: LiveServer, api: httpx.Client
) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "회원/작업자")
    expect(page.get_by_role("heading", level=1)).to_contain_text("작업자 목록")
    table = page.locator("#accounts-table")
    assert "010-****-" in table.inner_text()  # G-09: phones are masked in the list
    assert not re.search(r"010-?\d{4}-?\d{4}", table.inner_text())
    assert axe_violations(page) == []
    screenshot(page, "admin-users")

    page.get_by_role("link", name="신규 등록").click()
    page.wait_for_url("**/admin/users/new")
    # Collector-only vehicle fields are hidden for an investigator.
    expect(page.get_by_label("차량 번호")).to_be_hidden()
    page.get_by_label("역할").select_option("COLLECTOR")
    expect(page.get_by_label("차량 번호")).to_be_visible()
    page.get_by_label("역할").select_option("INVESTIGATOR")
    expect(page.get_by_label("차량 번호")).to_be_hidden()
    assert axe_violations(page) == []

    page.get_by_label("닉네임").fill("새조사원")
    page.get_by_label("휴대전화").fill("0201234567")  # not a mobile number
    page.get_by_role("button", name="등록", exact=True).click()
    phone = page.get_by_label("휴대전화")
    expect(phone).to_have_attribute("aria-invalid", "true")
    error = page.locator("#u-phone + .field-error")
    expect(error).to_be_visible()
    assert error.inner_text().strip()
    assert page.url.endswith("/admin/users/new")  # nothing created

    phone.fill("010-7777-0001")
    page.get_by_role("button", name="등록", exact=True).click()
    page.wait_for_url(re.compile(r".*/admin/users/\d+$"))
    user_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", level=1)).to_contain_text("새조사원")
    assert axe_violations(page) == []

    created = api.get(f"/api/users/{user_id}").json()["data"]
    assert created["role"] == "INVESTIGATOR" and created["status"] == "ACTIVE"
    assert created["phone"] == "010-****-0001"
    assert created["system_id"].startswith(f"{HAEUNDAE}_새조사원_INVESTIGATOR_")

    # Suspend: the confirmation dialog needs a reason (the API's 400 is shown at the field).
    page.get_by_role("button", name="계정 상태 변경").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert axe_violations(page) == []
    dialog.get_by_label("정지").check()
    dialog.get_by_role("button", name="확인").click()
    expect(dialog.get_by_label("사유")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("사유").fill("장기 미활동으로 정지")
    dialog.get_by_role("button", name="확인").click()
    expect(page.locator("h1 [data-status]")).to_have_attribute("data-status", "SUSPENDED")
    expect(page.locator("[data-status-reason]")).to_have_text("장기 미활동으로 정지")

    shown = api.get(f"/api/users/{user_id}").json()["data"]
    assert shown["status"] == "SUSPENDED" and shown["status_reason"] == "장기 미활동으로 정지"

    # The list's status filter finds it among the suspended accounts only.
    page.goto(f"{live_server.url}/admin/users?q=새조사원")
    expect(page.get_by_text("표시할 회원이 없습니다")).to_be_visible()  # the list starts at Active
    page.get_by_label("상태").select_option("SUSPENDED")
    page.get_by_role("button", name="검색").click()
    expect(page.locator(f'tr[data-user-id="{user_id}"]')).to_have_count(1)


def test_full_phone_is_shown_on_request(page: Any, live_server: LiveServer, api: httpx.Client) -> None:
    user_id = _user_id_by_phone_tail(api, "김조사", "01000001001")
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/users/{user_id}")
    expect(page.locator("#phone-value")).to_have_text("010-****-1001")
    page.get_by_role("button", name="전체 번호 보기").click()
    expect(page.locator("#phone-value")).to_have_text("01000001001")
    # The reveal is audited.
    audit = api.get("/api/logs", params={"action": "USER_REVEAL_PII", "size": 100})
    assert audit.status_code == 200, audit.text
    assert any(e["target_id"] == user_id for e in audit.json()["data"])
    # A filter value that does not exist is a 400 page, not a list of everything.
    response = page.goto(f"{live_server.url}/admin/users?role=NOPE")
    assert response is not None and response.status == 400


# ---- volunteers --------------------------------------------------------------------------------


def test_district_admin_sees_the_volunteer_queue_read_only(
    page: Any, live_server: LiveServer, api: httpx.Client
) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "시민 봉사자 승인")
    expect(page.get_by_role("note")).to_contain_text("시 관리자")
    assert "윤시민" in page.locator("#volunteers-table").inner_text()
    assert page.get_by_role("button", name=re.compile("승인")).count() == 0
    assert axe_violations(page) == []


def test_city_admin_approves_and_rejects_volunteers(page: Any, live_server: LiveServer, api: httpx.Client) -> None:
    # A second applicant, through the real sign-up API, to reject.
    applicant = "01077770099"
    with httpx.Client(base_url=live_server.url, timeout=15) as http:
        assert http.post("/api/auth/otp", json={"phone": applicant, "purpose": "SIGNUP"}).status_code == 200
        district = _org_id(api, HAEUNDAE)
        body = {
            "nickname": "반려시민",
            "phone": applicant,
            "code": live_server.code_for(applicant),
            "org_id": district,
            "privacy_consent": True,
        }
        signup = http.post("/api/users/volunteer", json=body)
        assert signup.status_code == 201, signup.text
        rejected_id = int(signup.json()["data"]["id"])
    pending_id = _user_id_by_phone_tail(api, "윤시민", PENDING_CITIZEN_PHONE)

    admin_sign_in(page, live_server, CITY_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/volunteers")
    expect(page.locator(f'tr[data-user-id="{pending_id}"]')).to_have_count(1)
    assert axe_violations(page) == []
    page.get_by_role("button", name="윤시민 승인 → 청소자").click()
    expect(page.locator(f'tr[data-user-id="{pending_id}"]')).to_have_count(0)

    page.get_by_role("button", name="반려시민 반려").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="반려").click()
    expect(dialog.get_by_label("반려 사유 (필수)")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("반려 사유 (필수)").fill("활동 지역이 아닙니다")
    dialog.get_by_role("button", name="반려").click()
    expect(page.locator(f'tr[data-user-id="{rejected_id}"]')).to_have_count(0)

    approved = api.get(f"/api/users/{pending_id}").json()["data"]
    assert approved["role"] == "CLEANER" and approved["cleaner_type"] == "VOLUNTEER"
    assert approved["status"] == "ACTIVE"
    rejected = api.get(f"/api/users/{rejected_id}").json()["data"]
    assert rejected["status"] == "REJECTED" and rejected["status_reason"] == "활동 지역이 아닙니다"


# ---- collector verification ---------------------------------------------------------------------


def test_verify_the_unverified_collector(page: Any, live_server: LiveServer, api: httpx.Client) -> None:
    collector_id = _user_id_by_phone_tail(api, "오수거", UNVERIFIED_COLLECTOR_PHONE)
    assert api.get(f"/api/users/{collector_id}").json()["data"]["vehicle"]["verified"] is False
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/users/{collector_id}")
    verification = page.locator("[data-verified]")
    expect(verification).to_have_attribute("data-verified", "false")
    assert axe_violations(page) == []
    page.get_by_role("button", name="차량 인증").click()
    expect(verification).to_have_attribute("data-verified", "true")
    assert page.get_by_role("button", name="차량 인증").count() == 0
    vehicle = api.get(f"/api/users/{collector_id}").json()["data"]["vehicle"]
    assert vehicle["verified"] is True and vehicle["verified_by"] is not None


# ---- import and export ---------------------------------------------------------------------------


def test_import_with_a_bad_row_then_a_good_file(
    page: Any, live_server: LiveServer, api: httpx.Client, tmp_path: Path
) -> None:
    good_rows = [
        {"role": "INVESTIGATOR", "org_code": HAEUNDAE, "nickname": "엑셀조사", "phone": "01077771001"},
        {
            "role": "COLLECTOR",
            "org_code": HAEUNDAE,
            "nickname": "엑셀수거",
            "phone": "01077771002",
            "vehicle_type": "SMALL",
            "capacity_t": 1.5,
            "plate_no": "부산12가3456",
            "operator_type": "INDIVIDUAL",
        },
    ]
    bad_file = _xlsx(
        [good_rows[0], {"role": "CLEANER", "org_code": HAEUNDAE, "nickname": "엑셀청소", "phone": "0201234567"}],
        tmp_path / "bad.xlsx",
    )
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/users")
    page.get_by_role("link", name="엑셀 일괄 등록").click()
    page.wait_for_url("**/admin/users/import")
    assert page.get_by_role("link", name="양식 내려받기 (.xlsx)").get_attribute("href") == "/api/users/import/template"
    assert axe_violations(page) == []

    page.get_by_label("엑셀 파일").set_input_files(str(bad_file))
    page.get_by_role("button", name="올리기").click()
    page.wait_for_url(re.compile(r".*/admin/users/import/\d+$"))
    failed_job = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "FAILED")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    cells = errors.first.locator("th, td").all_inner_texts()
    assert cells[0] == "3" and cells[1] == "phone"  # spreadsheet row 3 (header = 1), column phone
    report = page.get_by_role("link", name="행별 결과 내려받기 (.xlsx)")
    assert report.get_attribute("href") == f"/api/users/import/{failed_job}/errors.xlsx"
    with page.expect_download() as download_info:
        report.click()
    book = _read_book(Path(download_info.value.path()))
    assert any(3 in row and "phone" in row for row in book.worksheets[0].iter_rows(values_only=True))
    assert axe_violations(page) == []
    screenshot(page, "admin-user-import")
    assert _find_user(api, "엑셀조사", status="ACTIVE") == []  # all or nothing

    good_file = _xlsx(good_rows, tmp_path / "good.xlsx")
    page.get_by_role("link", name="다른 파일 올리기").click()
    page.get_by_label("엑셀 파일").set_input_files(str(good_file))
    page.get_by_role("button", name="올리기").click()
    page.wait_for_url(re.compile(r".*/admin/users/import/\d+$"))
    expect(page.locator("[data-job-status]")).to_have_attribute("data-job-status", "COMPLETED")
    expect(page.locator("[data-created]")).to_have_text("2")
    expect(page.locator("#import-created tbody tr")).to_have_count(2)
    assert axe_violations(page) == []
    investigator = _find_user(api, "엑셀조사")
    collector = _find_user(api, "엑셀수거")
    assert [u["role"] for u in investigator] == ["INVESTIGATOR"]
    assert [u["role"] for u in collector] == ["COLLECTOR"]
    assert collector[0]["vehicle"]["verified"] is False  # imported collectors are unverified

    # The job list on the import page shows both runs.
    page.goto(f"{live_server.url}/admin/users/import")
    expect(page.get_by_role("link", name=f"#{failed_job}")).to_be_visible()


def _read_book(path: Path) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(path.read_bytes()), read_only=True)


def test_export_downloads_the_filtered_list(page: Any, live_server: LiveServer, api: httpx.Client) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    page.goto(f"{live_server.url}/admin/users")
    page.get_by_label("역할").select_option("CLEANER")
    page.get_by_role("button", name="검색").click()
    page.wait_for_url(re.compile(r".*/admin/users\?.*role=CLEANER"))
    shown = page.locator("#accounts-table tbody th").all_inner_texts()
    assert shown
    with page.expect_download() as download_info:
        page.get_by_role("link", name="엑셀 내려받기 (화면 항목)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    rows = list(_read_book(Path(download.path())).worksheets[0].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert header[0] == "시스템 ID" and len(header) == 7
    assert [r[0] for r in data] == shown  # the file matches the screen, in the same order
    assert all(str(r[2]).startswith("010-****-") for r in data)  # phones stay masked
    listed = _find_user(api, "", role="CLEANER", status="ACTIVE", org_id=_org_id(api, HAEUNDAE))
    assert sorted(r[0] for r in data) == sorted(u["system_id"] for u in listed)


# ---- teams -------------------------------------------------------------------------------------


def test_create_a_team_and_add_a_member(page: Any, live_server: LiveServer, api: httpx.Client) -> None:
    leader = _user_id_by_phone_tail(api, "박청소", "01000001003")
    member = _user_id_by_phone_tail(api, "최청소", "01000001004")
    extra = _user_id_by_phone_tail(api, "정봉사", "01000001005")
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "팀 관리")
    expect(page.locator("#teams-table")).to_contain_text("해운대 1팀")
    assert axe_violations(page) == []
    screenshot(page, "admin-teams")

    page.get_by_role("link", name="새 팀 만들기").click()
    page.wait_for_url("**/admin/teams/new")
    assert axe_violations(page) == []
    page.get_by_label("팀 이름").fill("해운대 2팀")
    page.locator("#t-leader").select_option(str(leader))
    page.locator(f'input[data-list="member_ids"][value="{member}"]').check()
    page.get_by_role("button", name="팀 만들기").click()
    page.wait_for_url(re.compile(r".*/admin/teams/\d+$"))
    team_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#members-table tbody tr")).to_have_count(2)
    assert axe_violations(page) == []

    page.locator("#t-add").select_option(str(extra))
    page.get_by_role("button", name="추가", exact=True).click()
    expect(page.locator("#members-table tbody tr")).to_have_count(3)
    expect(page.locator(f'tr[data-member-id="{extra}"]')).to_contain_text("팀원")

    team = api.get(f"/api/teams/{team_id}").json()["data"]
    assert team["name"] == "해운대 2팀" and team["leader_id"] == leader and team["member_count"] == 3
    members = api.get(f"/api/teams/{team_id}/members", params={"status": "ACTIVE"}).json()["data"]
    roles = {m["user_id"]: m["role_in_team"] for m in members}
    assert roles == {leader: "LEADER", member: "MEMBER", extra: "MEMBER"}

    page.get_by_role("button", name="정봉사 팀에서 빼기").click()
    expect(page.locator("#members-table tbody tr")).to_have_count(2)
    assert api.get(f"/api/teams/{team_id}").json()["data"]["member_count"] == 2


# ---- beaches -----------------------------------------------------------------------------------


def test_register_a_beach(page: Any, live_server: LiveServer, api: httpx.Client) -> None:
    admin_sign_in(page, live_server, DISTRICT_ADMIN_PHONE)
    open_admin_menu(page, "해변")
    expect(page.locator("#beaches-table")).to_contain_text("해운대해수욕장")
    assert axe_violations(page) == []
    screenshot(page, "admin-beaches")

    page.get_by_role("link", name="해변 등록").click()
    page.wait_for_url("**/admin/beaches/new")
    expect(page.get_by_label("시·도")).to_have_value("부산광역시")  # filled from the district
    expect(page.get_by_label("구·군")).to_have_value("해운대구")
    assert axe_violations(page) == []
    page.get_by_label("해변 이름").fill("미포해변")
    page.get_by_label("동·읍·면").fill("중동")
    page.get_by_label("관리 사업장").fill("미포 어촌계")
    page.get_by_label(re.compile("^위도")).fill("95")  # out of range: the API's 400 is shown at the field
    page.get_by_label(re.compile("^경도")).fill("129.1700000")
    page.get_by_label("해안선 길이 (m)").fill("350")
    page.get_by_role("button", name="등록", exact=True).click()
    expect(page.get_by_label(re.compile("^위도"))).to_have_attribute("aria-invalid", "true")
    page.get_by_label(re.compile("^위도")).fill("35.1620000")
    page.get_by_role("button", name="등록", exact=True).click()
    page.wait_for_url(re.compile(r".*/admin/beaches/\d+$"))
    beach_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", level=1)).to_have_text("미포해변")
    assert axe_violations(page) == []

    page.get_by_label("해안선 길이 (m)").fill("420")
    page.get_by_role("button", name="저장").click()
    expect(page.get_by_label("해안선 길이 (m)")).to_have_value("420.0")
    beach = api.get(f"/api/beaches/{beach_id}").json()["data"]
    assert beach["beach_name"] == "미포해변" and beach["gu_gun"] == "해운대구" and beach["si"] == "부산광역시"
    assert beach["latitude"] == 35.162 and beach["longitude"] == 129.17 and beach["coastline_m"] == 420.0
