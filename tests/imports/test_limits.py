"""Row limits: too many rows (a million included) are refused without reading the whole file."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.imports.excel import HEADERS
from beachsaver.imports.models import ImportJob
from tests.imports.test_validation import count, ok_row, zipped
from tests.imports.world import World, upload, xlsx


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"import_max_rows": 3, "max_upload_mb": 15}


def test_more_rows_than_allowed(client: TestClient, db: Session, w: World) -> None:
    rows = [ok_row(w, f"0106000000{i}") for i in range(4)]
    response = upload(client, w.city_admin, xlsx(rows))
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "file", "message": "The file has too many rows (at most 3 data rows)."}
    ]
    assert upload(client, w.city_admin, xlsx(rows[:3])).json()["data"]["created"] == 3


def million_row_workbook() -> bytes:
    """A real .xlsx of 1,000,000 data rows, written straight as sheet XML (fast to build)."""
    head = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>' for i, h in enumerate(HEADERS))
    cleaner = '<c r="A{n}" t="inlineStr"><is><t>CLEANER</t></is></c>'
    body = "".join(
        f'<row r="{n}">{cleaner.format(n=n)}<c r="E{n}"><v>{1000000000 + n}</v></c></row>' for n in range(2, 1_000_002)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{head}</row>{body}</sheetData></worksheet>'
    )
    return zipped(
        {
            "[Content_Types].xml": (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                b'<Default Extension="xml" ContentType="application/xml"/>'
                b'<Override PartName="/xl/workbook.xml" '
                b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                b'<Override PartName="/xl/worksheets/sheet1.xml" '
                b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                b"</Types>"
            ),
            "_rels/.rels": (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                b'<Relationship Id="rId1" '
                b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                b'Target="xl/workbook.xml"/></Relationships>'
            ),
            "xl/workbook.xml": (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                b'<sheets><sheet name="accounts" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
            "xl/_rels/workbook.xml.rels": (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                b'<Relationship Id="rId1" '
                b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                b'Target="worksheets/sheet1.xml"/></Relationships>'
            ),
            "xl/worksheets/sheet1.xml": sheet.encode(),
        }
    )


def test_a_million_rows_is_refused_without_reading_it_all(client: TestClient, db: Session, w: World) -> None:
    data = million_row_workbook()
    assert len(data) < 15 * 1024 * 1024  # under the upload limit: the row count is what refuses it
    started = time.perf_counter()
    response = upload(client, w.city_admin, data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "file", "message": "The file has too many rows (at most 3 data rows)."}
    ]
    # Stops counting at the limit: reading all million rows takes well over a minute; a loaded
    # machine may slow the early stop, so the bound is loose.
    assert elapsed < 15.0
    assert count(db, ImportJob) == 0


def test_upload_over_the_size_limit_is_413(client: TestClient, w: World) -> None:
    response = upload(client, w.city_admin, b"x" * (16 * 1024 * 1024 + 10))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
