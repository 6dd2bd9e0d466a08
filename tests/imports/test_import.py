"""Bulk account import: creation, re-import, dry runs, the recorded job and its report (07 §10)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core.enums import Role, UserStatus
from beachsaver.core.runtime import cipher_of
from beachsaver.imports.excel import HEADERS
from beachsaver.imports.models import ImportJob
from beachsaver.users.models import User
from tests.factories import make_user
from tests.imports.world import World, count, read_xlsx, upload, xlsx


def rows_for(w: World) -> list[dict[str, Any]]:
    return [
        {
            "role": "INVESTIGATOR",
            "org_code": w.d1_code,
            "nickname": "김조사",
            "real_name": "김민수",
            "phone": "010-2000-0001",
            "email": "kim@example.org",
            "birth": "1980-03-04",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
        },
        {
            "role": "cleaner",
            "org_code": w.d2_code.lower(),
            "nickname": "이청소",
            "phone": "01020000002",
            "cleaner_type": "REGULAR",
        },
        {
            "role": "COLLECTOR",
            "org_code": w.d1_code,
            "nickname": "박수거",
            "phone": "+821020000003",
            "vehicle_type": "small",
            "capacity_t": 2.5,
            "plate_no": "12가3456",
            "operator_type": "COMPANY",
            "company_name": "바다환경",
            "business_no": "123-45-67890",
        },
    ]


def imported(db: Session) -> list[User]:
    users = list(
        db.execute(select(User).where(User.phone_hash.in_(phone_hashes(db))).order_by(User.id)).scalars().all()
    )
    db.commit()
    return users


def phone_hashes(db: Session) -> list[str]:
    cipher = cipher_of(db)
    return [cipher.lookup_hash(p) for p in ("01020000001", "01020000002", "01020000003")]


def test_import_creates_every_account(client: TestClient, db: Session, w: World) -> None:
    response = upload(client, w.city_admin, xlsx(rows_for(w)))
    assert response.status_code == 201, response.text
    job = response.json()["data"]
    assert job["status"] == "COMPLETED"
    assert job["dry_run"] is False
    assert (job["total_rows"], job["created"], job["existing"], job["error_count"]) == (3, 3, 0, 0)
    assert job["errors"] == []
    assert [r["row"] for r in job["results"]] == [2, 3, 4]
    assert [r["status"] for r in job["results"]] == ["CREATED"] * 3
    assert job["org_id"] == w.city
    assert job["created_by"] == w.city_admin_id

    users = imported(db)
    assert [u.role for u in users] == ["INVESTIGATOR", "CLEANER", "COLLECTOR"]
    assert [u.org_id for u in users] == [w.d1, w.d2, w.d1]
    assert [u.id for u in users] == [r["user_id"] for r in job["results"]]
    assert [u.system_id for u in users] == [r["system_id"] for r in job["results"]]
    investigator, cleaner, collector = users
    assert investigator.system_id.startswith(f"{w.d1_code}_김조사_INVESTIGATOR_")
    assert investigator.status == UserStatus.ACTIVE
    assert investigator.email == "kim@example.org"
    assert cipher_of(db).decrypt(investigator.real_name_enc) == "김민수"
    assert investigator.worker_profile is not None
    assert investigator.worker_profile.birth == date(1980, 3, 4)
    assert investigator.worker_profile.start_date == date(2026, 1, 1)
    assert investigator.worker_profile.end_date == date(2026, 12, 31)
    assert investigator.created_by_id == w.city_admin_id
    assert cleaner.cleaner_type == "REGULAR"
    assert investigator.cleaner_type is None
    assert collector.vehicle is not None
    assert collector.vehicle.type == "SMALL"
    assert collector.vehicle.capacity_t == Decimal("2.50")
    assert collector.vehicle.operator_type == "COMPANY"
    assert collector.vehicle.company_name == "바다환경"
    assert collector.vehicle.verified_at is None  # imported collectors are unverified
    assert investigator.vehicle is None

    actions = [
        a
        for (a,) in db.execute(
            select(AuditEntry.action).where(AuditEntry.action.in_(["USER_CREATE", "USER_IMPORT"]))
        ).all()
    ]
    db.commit()
    assert actions.count("USER_CREATE") == 3
    assert actions.count("USER_IMPORT") == 1


def test_the_same_file_again_creates_nothing(client: TestClient, db: Session, w: World) -> None:
    data = xlsx(rows_for(w))
    first = upload(client, w.city_admin, data)
    assert first.status_code == 201
    before = count(db, User)
    second = upload(client, w.city_admin, data)
    assert second.status_code == 201
    job = second.json()["data"]
    assert job["status"] == "COMPLETED"
    assert (job["total_rows"], job["created"], job["existing"], job["error_count"]) == (3, 0, 3, 0)
    assert [r["status"] for r in job["results"]] == ["EXISTING"] * 3
    assert [r["user_id"] for r in job["results"]] == [r["user_id"] for r in first.json()["data"]["results"]]
    assert job["file_sha256"] == first.json()["data"]["file_sha256"]
    assert count(db, User) == before
    assert count(db, ImportJob) == 2


def test_dry_run_validates_and_writes_nothing(client: TestClient, db: Session, w: World) -> None:
    before = count(db, User)
    response = upload(client, w.d1_admin, xlsx(rows_for(w)[:1]), dry_run=True)
    assert response.status_code == 201
    job = response.json()["data"]
    assert job["status"] == "VALIDATED"
    assert job["dry_run"] is True
    assert (job["total_rows"], job["created"], job["existing"]) == (1, 0, 0)
    assert job["results"] == [{"row": 2, "status": "VALID", "user_id": None, "system_id": None}]
    assert count(db, User) == before
    fetched = client.get(f"/api/users/import/{job['id']}", headers=w.d1_admin)
    assert fetched.status_code == 200
    assert fetched.json()["data"] == job


def test_dry_run_with_problems_fails(client: TestClient, db: Session, w: World) -> None:
    rows = rows_for(w)
    rows[0]["phone"] = "02-123-4567"
    response = upload(client, w.city_admin, xlsx(rows), dry_run=True)
    assert response.status_code == 201
    job = response.json()["data"]
    assert job["status"] == "FAILED"
    assert job["errors"] == [
        {"row": 2, "column": "phone", "message": "Not a Korean mobile number (01X, 10–11 digits)."}
    ]
    assert [r["status"] for r in job["results"]] == ["INVALID", "VALID", "VALID"]


def test_one_bad_row_writes_nothing_and_the_job_is_recorded(client: TestClient, db: Session, w: World) -> None:
    before = count(db, User)
    rows = rows_for(w)
    rows[2]["plate_no"] = None
    response = upload(client, w.city_admin, xlsx(rows))
    assert response.status_code == 201
    job = response.json()["data"]
    assert job["status"] == "FAILED"
    assert (job["created"], job["error_count"]) == (0, 1)
    assert job["errors"] == [{"row": 4, "column": "plate_no", "message": "This field is required."}]
    assert count(db, User) == before
    assert count(db, ImportJob) == 1
    listed = client.get("/api/users/import", headers=w.city_admin)
    assert listed.status_code == 200
    assert [j["id"] for j in listed.json()["data"]] == [job["id"]]
    assert listed.json()["data"][0]["results"] is None
    assert listed.json()["meta"] == {"page": 1, "size": 20, "total": 1, "total_pages": 1}

    # a failed job can be retried after fixing the file
    rows[2]["plate_no"] = "12가3456"
    retried = upload(client, w.city_admin, xlsx(rows))
    assert retried.json()["data"]["status"] == "COMPLETED"
    assert retried.json()["data"]["created"] == 3


def test_equal_account_is_existing_and_a_different_one_clashes(client: TestClient, db: Session, w: World) -> None:
    from beachsaver.orgs.models import Organization

    d1 = db.get(Organization, w.d1)
    assert d1 is not None
    existing = make_user(db, Role.CLEANER, d1, phone="01030000001", nickname="바다지킴이")
    other = make_user(db, Role.CLEANER, d1, phone="01030000002", nickname="원래이름")
    gone = make_user(db, Role.CLEANER, d1, phone="01030000003", nickname="탈퇴자")
    gone.live = None
    gone.status = UserStatus.WITHDRAWN
    gone.phone_hash = f"withdrawn:{gone.id}"
    existing_id, other_id = existing.id, other.id
    db.commit()
    rows = [
        {"role": "CLEANER", "org_code": w.d1_code, "nickname": "바다지킴이", "phone": "01030000001"},
        {"role": "INVESTIGATOR", "org_code": w.d1_code, "nickname": "바다지킴이", "phone": "01030000001"},
        {"role": "CLEANER", "org_code": w.d1_code, "nickname": "새이름", "phone": "01030000002"},
        {"role": "CLEANER", "org_code": w.d2_code, "nickname": "바다지킴이", "phone": "01030000001"},
    ]
    response = upload(client, w.city_admin, xlsx(rows))
    job = response.json()["data"]
    assert job["status"] == "FAILED"
    clash = "This phone already has a different account with this role."
    assert job["errors"] == [
        {"row": 4, "column": "phone", "message": clash},
        {"row": 5, "column": "phone", "message": "Same phone and role as row 2."},
    ]
    assert [(r["status"], r["user_id"]) for r in job["results"]] == [
        ("EXISTING", existing_id),
        ("VALID", None),
        ("INVALID", None),
        ("INVALID", None),
    ]
    assert other_id != existing_id

    # without the clashing rows: the equal row is skipped, the other role is created, and a
    # withdrawn account's phone is free again
    rows = [rows[0], rows[1], {"role": "CLEANER", "org_code": w.d1_code, "nickname": "돌아옴", "phone": "01030000003"}]
    job = upload(client, w.city_admin, xlsx(rows)).json()["data"]
    assert job["status"] == "COMPLETED"
    assert (job["created"], job["existing"]) == (2, 1)
    assert [r["status"] for r in job["results"]] == ["EXISTING", "CREATED", "CREATED"]
    assert job["results"][0]["user_id"] == existing_id


def test_cells_as_excel_types(client: TestClient, db: Session, w: World) -> None:
    """A phone typed as a number (its leading 0 dropped by Excel), real dates, numeric plates."""
    rows = [
        [
            "COLLECTOR",
            w.d1_code,
            "숫자셀",
            None,
            1020000001,
            None,
            None,
            datetime(1990, 5, 6),
            date(2026, 2, 1),
            "2026.12.31",
            "LARGE",
            3,
            1234,
            "INDIVIDUAL",
            None,
            None,
        ]
    ]
    response = upload(client, w.city_admin, xlsx(rows))
    job = response.json()["data"]
    assert job["status"] == "COMPLETED", job["errors"]
    user = imported(db)[0]
    assert cipher_of(db).decrypt(user.phone_enc) == "01020000001"
    assert user.worker_profile is not None
    assert user.worker_profile.birth == date(1990, 5, 6)
    assert user.worker_profile.end_date == date(2026, 12, 31)
    assert user.vehicle is not None
    assert user.vehicle.plate_no == "1234"
    assert user.vehicle.capacity_t == Decimal("3.00")


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(client: TestClient, db: Session, w: World) -> None:
    rows: list[Any] = [rows_for(w)[0], [None] * len(HEADERS), ["  "] * 3, rows_for(w)[1]]
    rows[3]["nickname"] = "x"
    job = upload(client, w.city_admin, xlsx(rows)).json()["data"]
    assert job["total_rows"] == 2
    assert job["errors"] == [{"row": 5, "column": "nickname", "message": "Must be at least 2 characters."}]


def test_errors_report_xlsx(client: TestClient, db: Session, w: World) -> None:
    rows = rows_for(w)
    rows[0]["role"] = "CITY_ADMIN"
    rows[1]["email"] = "not-an-email"
    job = upload(client, w.city_admin, xlsx(rows)).json()["data"]
    response = client.get(
        f"/api/users/import/{job['id']}/errors.xlsx", headers={**w.city_admin, "Accept-Language": "en"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"] == f'attachment; filename="import-{job["id"]}-report.xlsx"'
    sheets = read_xlsx(response.content)
    assert sheets["errors"][0] == ["row", "column", "message"]
    assert [r[:2] for r in sheets["errors"][1:]] == [[2, "role"], [3, "email"]]
    assert sheets["errors"][1][2] == "Only INVESTIGATOR, CLEANER and COLLECTOR accounts can be imported."
    assert sheets["results"][0] == ["row", "status", "user_id", "system_id"]
    assert [r[:2] for r in sheets["results"][1:]] == [[2, "INVALID"], [3, "INVALID"], [4, "VALID"]]


def test_template(client: TestClient, w: World) -> None:
    response = client.get("/api/users/import/template", headers=w.d1_admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheets = read_xlsx(response.content)
    assert list(sheets) == ["accounts", "guide"]
    assert sheets["accounts"] == [list(HEADERS)]
    assert [r[0] for r in sheets["guide"][1:17]] == list(HEADERS)
    # the untouched template imports as an empty file
    job = upload(client, w.d1_admin, response.content).json()["data"]
    assert (job["status"], job["total_rows"], job["created"]) == ("COMPLETED", 0, 0)


def test_korean_messages_by_default(client: TestClient, w: World) -> None:
    rows = rows_for(w)
    rows[0]["phone"] = "123"
    job = upload(client, w.city_admin, xlsx(rows), lang="ko").json()["data"]
    assert job["errors"] == [{"row": 2, "column": "phone", "message": "휴대전화 번호가 아닙니다 (01X, 10~11자리)."}]
