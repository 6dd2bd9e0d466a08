"""Large import files for the fault and speed tests."""

from __future__ import annotations

from typing import Any

from tests.imports.world import World, xlsx


def bulk_rows(w: World, count: int, first_phone: int = 0) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    roles = ("INVESTIGATOR", "CLEANER", "COLLECTOR")
    for i in range(count):
        role = roles[i % 3]
        row: dict[str, Any] = {
            "role": role,
            "org_code": w.d1_code if i % 2 else w.d2_code,
            "nickname": f"작업자{i:05d}",
            "real_name": f"홍길동{i}",
            "phone": f"0107{(first_phone + i) % 10_000_000:07d}",
            "email": f"worker{i}@example.org",
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
        rows.append(row)
    return rows


def bulk_file(w: World, count: int, first_phone: int = 0) -> bytes:
    return xlsx(bulk_rows(w, count, first_phone))
