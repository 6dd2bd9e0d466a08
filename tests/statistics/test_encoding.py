"""The depots layer and the Excel export are encoded by hand (04 §2 performance): the map answer
must be byte for byte what ``JSONResponse(ok(maps.depots(...)))`` gives, and the workbook must
read back with the same values, whatever the text holds."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from beachsaver.core.deps import Principal
from beachsaver.core.enums import DepotStatus
from beachsaver.core.envelope import ok
from beachsaver.statistics import export, maps, service

from .conftest import Data

AWKWARD = 'a "quoted" \\ back\tslash <&> 집하장 \u2028 é'


def test_depots_layer_is_the_dict_document_byte_for_byte(client: TestClient, data: Data, db: Session) -> None:
    depot = data.depots["D2"]
    depot.name = AWKWARD
    depot.latitude = Decimal("-35.0000001")
    depot.longitude = Decimal("129.1234567")
    data.depots["D1"].name = None
    db.commit()
    admin = data.people["city_admin"]
    principal = Principal(user=admin, session_id=0, org=data.city)
    for status in (None, DepotStatus.WAITING):
        params: dict[str, Any] = {"layer": "depots", **({"status": status.value} if status else {})}
        r = client.get("/api/statistics/map", params=params, headers=data.h("city_admin"))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        filters = service.resolve(db, principal)
        expected = JSONResponse(ok(maps.depots(db, filters, status))).body
        assert r.content == expected
        names = [f["properties"]["name"] for f in r.json()["data"]["features"]]
        assert AWKWARD in names
        db.commit()  # SQLite: release the read lock before the next call


def test_workbook_cells_round_trip() -> None:
    columns = ["a", "b", "c", "d", "e"]
    rows: list[dict[str, Any]] = [
        {"a": 1, "b": 2.5, "c": AWKWARD, "d": None, "e": Decimal("3.25")},
        {"a": 0, "b": -0.1, "c": " lead and trail ", "d": True, "e": None},
        {"a": None, "b": None, "c": "bad\x01char", "d": None, "e": None},
    ]
    book = load_workbook(io.BytesIO(export.write_xlsx(rows, columns, "en").read()))
    sheet = book.worksheets[0]
    assert sheet.title == "Statistics"
    got = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    assert got == [
        ["a", "b", "c", "d", "e"],
        [1, 2.5, AWKWARD, None, 3.25],
        [0, -0.1, " lead and trail ", True, None],
        [None, None, "badchar", None, None],
    ]
