"""Every problem of every row is reported by row and column; files unusable as a whole are 400s."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.time import seoul_today
from beachsaver.imports.excel import HEADERS
from beachsaver.imports.models import ImportJob
from beachsaver.users.models import User
from tests.imports.world import World, count, upload, xlsx


def ok_row(w: World, phone: str, **extra: Any) -> dict[str, Any]:
    return {"role": "INVESTIGATOR", "org_code": w.d1_code, "nickname": "조사자", "phone": phone, **extra}


def collector(w: World, phone: str, **extra: Any) -> dict[str, Any]:
    return {
        "role": "COLLECTOR",
        "org_code": w.d1_code,
        "nickname": "수거자",
        "phone": phone,
        "vehicle_type": "SMALL",
        "capacity_t": "1.5",
        "plate_no": "12가3456",
        "operator_type": "INDIVIDUAL",
        **extra,
    }


def test_every_problem_by_row_and_column(client: TestClient, db: Session, w: World) -> None:
    tomorrow = (seoul_today() + timedelta(days=1)).isoformat()
    rows = [
        ok_row(w, "01040000002", role="CITIZEN"),  # 2
        ok_row(w, "01040000003", org_code="NOPE-X"),  # 3
        ok_row(w, "01040000004", org_code=w.o1_code),  # 4: another city's district
        ok_row(w, "01040000005", org_code=w.city_code),  # 5: a city, not a district
        ok_row(w, "12345"),  # 6
        {"role": "COLLECTOR", "org_code": w.d1_code, "nickname": "수거자", "phone": "01040000007"},  # 7
        ok_row(w, "01040000008", plate_no="12가3456"),  # 8
        ok_row(w, "01040000009", nickname='=CONCAT("a","b")'),  # 9
        ok_row(w, "01040000010"),  # 10 (valid)
        ok_row(w, "010-4000-0010"),  # 11: same phone and role as row 10
        {**ok_row(w, "01040000012"), "role": "CLEANER", "cleaner_type": "VOLUNTEER"},  # 12
        ok_row(w, "01040000013", start_date="2026-05-02", end_date="2026-05-01"),  # 13
        ok_row(w, "01040000014", birth=tomorrow),  # 14
        ok_row(w, "01040000015", email="nope"),  # 15
        ok_row(w, "01040000016", nickname="A"),  # 16
        collector(w, "01040000017", operator_type="COMPANY"),  # 17
        ok_row(w, "01040000018", nickname=None),  # 18
        ok_row(w, "01040000019", cleaner_type="REGULAR"),  # 19
        collector(w, "01040000020", capacity_t="-1"),  # 20
        ok_row(w, "01040000021", start_date="someday"),  # 21
        collector(w, "01040000022", vehicle_type="BOAT", capacity_t=1.234),  # 22
        ok_row(w, "01040000023", birth=12345),  # 23: a number is not a date
        {"role": None, "org_code": None, "nickname": "없음", "phone": None},  # 24
    ]
    response = upload(client, w.city_admin, xlsx(rows))
    assert response.status_code == 201
    job = response.json()["data"]
    assert job["status"] == "FAILED"
    got = [(e["row"], e["column"]) for e in job["errors"]]
    assert got == [
        (2, "role"),
        (3, "org_code"),
        (4, "org_code"),
        (5, "org_code"),
        (6, "phone"),
        (7, "vehicle_type"),
        (7, "capacity_t"),
        (7, "plate_no"),
        (7, "operator_type"),
        (8, "plate_no"),
        (9, "nickname"),
        (11, "phone"),
        (12, "cleaner_type"),
        (13, "end_date"),
        (14, "birth"),
        (15, "email"),
        (16, "nickname"),
        (17, "company_name"),
        (18, "nickname"),
        (19, "cleaner_type"),
        (20, "capacity_t"),
        (21, "start_date"),
        (22, "vehicle_type"),
        (22, "capacity_t"),
        (23, "birth"),
        (24, "role"),
        (24, "org_code"),
        (24, "phone"),
    ]
    messages = {(e["row"], e["column"]): e["message"] for e in job["errors"]}
    assert messages[(2, "role")] == "Only INVESTIGATOR, CLEANER and COLLECTOR accounts can be imported."
    assert messages[(3, "org_code")] == "No organisation with this code in your scope."
    assert messages[(4, "org_code")] == "No organisation with this code in your scope."
    assert messages[(5, "org_code")] == "Workers belong to a district organisation."
    assert messages[(7, "plate_no")] == "This field is required."
    assert messages[(8, "plate_no")] == "Only collectors have a vehicle."
    assert messages[(9, "nickname")] == "Formulas are not allowed; enter a value."
    assert messages[(11, "phone")] == "Same phone and role as row 10."
    assert messages[(12, "cleaner_type")] == "Volunteers sign up themselves."
    assert messages[(13, "end_date")] == "The end date is before the start date."
    assert messages[(14, "birth")] == "The birth date is in the future."
    assert messages[(17, "company_name")] == "Required for company operators."
    assert messages[(19, "cleaner_type")] == "Only cleaners have a cleaner type."
    assert messages[(20, "capacity_t")] == "Must be greater than 0."
    assert messages[(21, "start_date")] == "Not a valid date (e.g. 2026-05-01)."
    assert messages[(22, "capacity_t")] == "At most 2 decimal places."
    assert messages[(23, "birth")] == "Not a valid date (e.g. 2026-05-01)."
    assert job["error_count"] == len(job["errors"])
    assert (job["total_rows"], job["created"], job["existing"]) == (23, 0, 0)
    statuses = {r["row"]: r["status"] for r in job["results"]}
    assert statuses[10] == "VALID"
    assert [r for r, s in statuses.items() if s != "INVALID"] == [10]
    assert count(db, User) == 5  # the world's accounts only: nothing was written


def test_district_admin_imports_only_into_its_district(client: TestClient, w: World) -> None:
    rows = [ok_row(w, "01050000001"), ok_row(w, "01050000002", org_code=w.d2_code)]
    job = upload(client, w.d1_admin, xlsx(rows)).json()["data"]
    assert job["errors"] == [
        {"row": 3, "column": "org_code", "message": "No organisation with this code in your scope."}
    ]
    job = upload(client, w.d1_admin, xlsx(rows[:1])).json()["data"]
    assert job["status"] == "COMPLETED"


def test_jobs_are_seen_within_scope_only(client: TestClient, w: World) -> None:
    job = upload(client, w.d1_admin, xlsx([ok_row(w, "01050000003")])).json()["data"]
    assert client.get(f"/api/users/import/{job['id']}", headers=w.city_admin).status_code == 200
    assert client.get(f"/api/users/import/{job['id']}", headers=w.platform).status_code == 200
    other = client.get(f"/api/users/import/{job['id']}", headers=w.other_admin)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"
    assert client.get(f"/api/users/import/{job['id']}/errors.xlsx", headers=w.other_admin).status_code == 404
    assert client.get("/api/users/import", headers=w.other_admin).json()["data"] == []
    assert client.get("/api/users/import/999999", headers=w.city_admin).status_code == 404
    bad = client.get("/api/users/import/abc", headers=w.city_admin)
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "path.job_id"


def test_workers_may_not_import_or_export(client: TestClient, w: World) -> None:
    for response in (
        upload(client, w.worker, xlsx([ok_row(w, "01050000004")])),
        client.get("/api/users/import/template", headers=w.worker),
        client.get("/api/users/import", headers=w.worker),
        client.get("/api/users/export", headers=w.worker),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
    anonymous = client.post("/api/users/import", files={"file": ("a.xlsx", xlsx([]), "application/octet-stream")})
    assert anonymous.status_code == 401


# ---- the file as a whole --------------------------------------------------------------------------


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


NOT_XLSX = "The file is not a readable Excel (.xlsx) workbook."
EXPECTED = ", ".join(HEADERS)


def file_cases() -> list[tuple[str, bytes, str]]:
    good = list(HEADERS)
    missing = [h for h in HEADERS if h != "email"]
    extra = [*HEADERS, "note"]
    swapped = list(HEADERS)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    return [
        ("text", b"role,org_code,nickname\nCLEANER,X,Y\n", NOT_XLSX),
        ("empty", b"", "The file is empty."),
        (
            "xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
            "This is an old Excel (.xls) file; save it as .xlsx and upload it again.",
        ),
        ("zip", zipped({"hello.txt": b"hi"}), NOT_XLSX),
        ("broken", xlsx([])[:300], NOT_XLSX),
        ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", NOT_XLSX),
        (
            "missing",
            xlsx([], headers=missing),
            f"The first sheet's headers do not match the template. Expected: {EXPECTED}; missing: email; unexpected: -",
        ),
        (
            "extra",
            xlsx([], headers=extra),
            f"The first sheet's headers do not match the template. Expected: {EXPECTED}; missing: -; unexpected: note",
        ),
        (
            "renamed",
            xlsx([], headers=["Role", *good[1:]]),
            f"The first sheet's headers do not match the template. Expected: {EXPECTED}; missing: role; "
            "unexpected: Role",
        ),
        ("order", xlsx([], headers=swapped), f"The first sheet's headers are not in the template's order: {EXPECTED}"),
        (
            "no header",
            xlsx([], headers=[]),
            f"The first sheet's headers do not match the template. Expected: {EXPECTED}; missing: {EXPECTED}; "
            "unexpected: -",
        ),
    ]


@pytest.mark.parametrize(("name", "data", "message"), file_cases(), ids=[c[0] for c in file_cases()])
def test_unusable_files_are_400_naming_the_problem(
    client: TestClient, db: Session, w: World, name: str, data: bytes, message: str
) -> None:
    response = upload(client, w.city_admin, data)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [{"field": "file", "message": message}]
    assert count(db, ImportJob) == 0


def test_header_formula_is_a_header_problem(client: TestClient, w: World) -> None:
    response = upload(client, w.city_admin, xlsx([], headers=['="role"', *HEADERS[1:]]))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "file"


def test_missing_file_and_wrong_content_type(client: TestClient, w: World) -> None:
    response = client.post("/api/users/import", headers=w.city_admin, data={"dry_run": "true"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [{"field": "file", "message": "필수 항목입니다."}]
    response = client.post("/api/users/import", headers=w.city_admin, json={"file": "x"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    response = client.post(
        "/api/users/import",
        headers=w.city_admin,
        files={"file": ("a.xlsx", xlsx([]), "application/octet-stream")},
        data={"dry_run": "maybe"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "dry_run"
