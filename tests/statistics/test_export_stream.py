"""The streamed Excel export: every export shape carries exactly the rows of ``GET /api/statistics``,
rolled-up figures export exactly as the live ones, the streamed workbook has the parts the file
writer writes, and its memory stays flat."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core.time import seoul_today
from beachsaver.statistics import export, rollup, service
from beachsaver.statistics.schemas import GroupBy

from .conftest import Data
from .test_rollup import generate, live_only, roll

SHAPES: list[dict[str, str]] = [
    *({"group_by": "period", "period": p} for p in ("day", "week", "month", "year")),
    *({"group_by": g} for g in ("org", "beach", "team", "user", "trash_type")),
    {"group_by": "user", "type": "CLEANING", "from": "2026-04-01", "to": "2026-04-30"},
    {"group_by": "trash_type", "type": "INVESTIGATION"},
    {"group_by": "period", "period": "day", "from": "2026-03-30", "to": "2026-04-12"},
]


def sheet_rows(content: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(content))
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return rows


@pytest.mark.parametrize("params", SHAPES, ids=lambda p: "-".join(p.values()))
def test_every_export_shape_has_the_rows_of_the_api(client: TestClient, data: Data, params: dict[str, str]) -> None:
    headers = {**data.h("city_admin"), "Accept-Language": "en"}
    rows = client.get("/api/statistics", params=params, headers=headers).json()["data"]
    r = client.get("/api/statistics/export", params=params, headers=headers)
    assert r.status_code == 200, r.text
    fields = service.columns_for(GroupBy(params["group_by"]))
    sheet = sheet_rows(r.content)
    assert sheet[0] == [export.label(f, "en") for f in fields]
    assert sheet[1:] == [[row[f] for f in fields] for row in rows]
    assert rows, "every shape of the fixture has rows"


def test_audit_counts_the_exported_rows(client: TestClient, data: Data, db: Any) -> None:
    r = client.get("/api/statistics/export", params={"group_by": "user"}, headers=data.h("city_admin"))
    assert r.status_code == 200
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "STATISTICS_EXPORT")).scalar_one()
    assert entry.after is not None
    assert entry.after["rows"] == len(sheet_rows(r.content)) - 1 > 0


ROLLED_SHAPES: list[dict[str, str]] = [
    {"group_by": "user"},
    {"group_by": "user", "type": "CLEANING"},
    {"group_by": "user", "beach_id": "B1"},
    {"group_by": "team", "to": "{yesterday}"},
    {"group_by": "period", "period": "week"},
    {"group_by": "trash_type"},
]


def test_rolled_up_figures_export_as_the_live_ones(
    app: Any, client: TestClient, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The roll-up's per-key sums (one row a key, read as they come) give the workbook the live
    computation gives, for the person grain above all (the widest export)."""
    generate(db, data)
    assert roll(app) > 0
    plan = rollup.plan(db, [data.city.id, data.district_a.id, data.district_b.id], None, None, None, None)
    db.commit()
    assert plan.rolled, "the closed days are served by the roll-up"
    yesterday = (seoul_today() - timedelta(days=1)).isoformat()
    requests = [
        {k: data.beaches["B1"].id if v == "B1" else v.replace("{yesterday}", yesterday) for k, v in shape.items()}
        for shape in ROLLED_SHAPES
    ]
    headers = {**data.h("city_admin"), "Accept-Language": "en"}

    def workbooks() -> list[list[list[Any]]]:
        found = []
        for params in requests:
            r = client.get("/api/statistics/export", params=params, headers=headers)
            assert r.status_code == 200, (params, r.text)
            found.append(sheet_rows(r.content))
        return found

    served = workbooks()
    with live_only(monkeypatch):
        reference = workbooks()
    for params, got, want in zip(requests, served, reference, strict=True):
        assert got == want, params
    assert len(served[0]) > 5


AWKWARD_ROWS: list[tuple[Any, ...]] = [
    (1, '작업자 <&> "one"', 2.5, None, Decimal("3.25"), True),
    (0, " lead and trail ", -0.1, 7, None, False),
    (None, "bad\x01char", None, None, None, None),
]
FIELDS = ("id", "name", "kg", "count", "exact", "flag")


@pytest.mark.parametrize("columns", [list(FIELDS), ["flag", "name", "id"]])
@pytest.mark.parametrize("count", [len(AWKWARD_ROWS), None])
def test_streamed_workbook_has_the_parts_of_the_file_workbook(columns: list[str], count: int | None) -> None:
    as_dicts = [dict(zip(FIELDS, row, strict=True)) for row in AWKWARD_ROWS]
    written = export.write_xlsx(as_dicts if count is not None else iter(as_dicts), columns, "ko").read()
    streamed = b"".join(export.stream_xlsx(AWKWARD_ROWS, FIELDS, columns, "ko", count))
    with zipfile.ZipFile(io.BytesIO(written)) as a, zipfile.ZipFile(io.BytesIO(streamed)) as b:
        assert a.namelist() == b.namelist()
        assert b.testzip() is None
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    sheet = sheet_rows(streamed)
    assert sheet[0] == [export.label(c, "ko") for c in columns]
    assert len(sheet) == len(AWKWARD_ROWS) + 1


def many_rows(total: int, taken: list[int]) -> Iterator[tuple[Any, ...]]:
    for i in range(total):
        taken[0] = i + 1
        yield (i, f"작업자{i}", i * 1.5, i % 7, None, i * 0.25)


def streamed(total: int) -> tuple[int, int, int]:
    """Streams ``total`` rows: the rows taken when the first chunk came, the bytes, the traced peak."""
    taken = [0]
    tracemalloc.start()
    try:
        chunks = export.stream_xlsx(many_rows(total, taken), FIELDS, list(FIELDS), "en", total)
        first = next(chunks)
        assert first[:2] == b"PK"
        rows_at_first_chunk = taken[0]
        size = len(first) + sum(len(chunk) for chunk in chunks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert taken[0] == total
    return rows_at_first_chunk, size, peak


def test_streaming_starts_before_the_last_row_and_keeps_memory_flat() -> None:
    first_small, size_small, peak_small = streamed(10_000)
    first_large, size_large, peak_large = streamed(40_000)
    assert first_large == first_small < 10_000
    assert size_large > 3.5 * size_small
    # what is held at once is a chunk, a batch of rows and the compressor, whatever the number of rows
    assert peak_large < 1.3 * peak_small, (peak_small, peak_large)
    assert peak_large < size_large


def test_a_client_going_away_closes_the_stream_cleanly() -> None:
    taken = [0]
    chunks = export.stream_xlsx(many_rows(50_000, taken), FIELDS, list(FIELDS), "en", 50_000)
    assert next(chunks)[:2] == b"PK"
    chunks.close()
    assert taken[0] < 50_000
