"""Bulk account import: an Excel file of ``10,000 × scale`` new investigators, regular cleaners
and collectors across the Busan districts, uploaded by the city admin (``POST /api/users/import``,
validated and written, all or nothing), then the same file again, which must create nothing.
The JSON name is ``import``."""

from __future__ import annotations

import io
import time
from typing import Any

from sqlalchemy import text

from beachsaver.imports.excel import HEADERS, XLSX_MEDIA_TYPE
from bench.common import Bench, main_for

EMAIL_DOMAIN = "import.bench.example"
#: Imported phones are 0106nnnnnnn (the generated workforce uses 0108…, the demo accounts 0100…).
PHONE_PREFIX = "0106"


def workbook(district_codes: list[str], rows: int, first: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("accounts")
    sheet.append(list(HEADERS))
    roles = ("INVESTIGATOR", "CLEANER", "COLLECTOR")
    for i in range(first, first + rows):
        role = roles[i % 3]
        row: dict[str, Any] = {
            "role": role,
            "org_code": district_codes[i % len(district_codes)],
            "nickname": f"신규작업자{i:05d}",
            "real_name": f"홍길동{i}",
            "phone": f"{PHONE_PREFIX}{i:07d}",
            "email": f"worker{i}@{EMAIL_DOMAIN}",
            "birth": "1985-01-02",
            "start_date": "2026-01-01",
        }
        if role == "CLEANER":
            row["cleaner_type"] = "REGULAR"
        if role == "COLLECTOR":
            row.update(
                vehicle_type="LARGE",
                capacity_t="5.5",
                plate_no=f"{i % 100:02d}가{i % 10000:04d}",
                operator_type="COMPANY",
                company_name="바다환경",
                business_no="123-45-67890",
            )
        sheet.append([row.get(h) for h in HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(b: Bench) -> dict[str, Any]:
    b.dataset()
    rows = b.sizes.import_rows
    with b.runtime().engine.connect() as conn:
        codes = [r[0] for r in conn.execute(text("SELECT code FROM organizations WHERE type = 'DISTRICT' ORDER BY id"))]
        first = int(
            conn.execute(
                text("SELECT COUNT(*) FROM users WHERE email LIKE :d"), {"d": f"%@{EMAIL_DOMAIN}"}
            ).scalar_one()
        )
    data = workbook(codes, rows, first)
    headers = b.admin_headers()
    users_before = b.count("users")

    def upload(client: Any) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        response = client.post(
            "/api/users/import",
            headers={**headers, "Accept-Language": "en"},
            files={"file": ("accounts.xlsx", data, XLSX_MEDIA_TYPE)},
            data={"dry_run": "false"},
        )
        seconds = time.perf_counter() - started
        assert response.status_code == 201, response.text[:2000]
        return seconds, response.json()["data"]

    with b.client() as client:
        seconds, first_job = upload(client)
        users_after = b.count("users")
        second_s, second_job = upload(client)
        users_again = b.count("users")
    assert first_job["status"] == "COMPLETED", first_job.get("status")
    params = b.params(
        request="POST /api/users/import (city admin, .xlsx)",
        file_bytes=len(data),
        first_run={k: first_job.get(k) for k in ("status", "total_rows", "created", "existing", "error_count")},
        second_run={k: second_job.get(k) for k in ("status", "total_rows", "created", "existing", "error_count")},
        second_run_s=round(second_s, 3),
        accounts_added=users_after - users_before,
        accounts_added_by_second_run=users_again - users_after,
    )
    figures = {"rows": rows, "seconds": round(seconds, 3), "second_run_created": int(second_job["created"])}
    return b.emit("import", params, figures)


def main() -> None:
    main_for("import", run, __doc__ or "")


if __name__ == "__main__":
    main()
