"""GET /api/statistics/export: the same rows as .xlsx, picked columns, headers in ko/en."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from beachsaver.audit.models import AuditEntry
from beachsaver.ops import switches
from beachsaver.statistics.export import XLSX_MEDIA_TYPE

from .conftest import Data

KO_BEACH_HEADERS = [
    "해변 ID",
    "해변",
    "조사 보고서 (건)",
    "청소 보고서 (건)",
    "수거 요청 (건)",
    "추정 쓰레기량 (L)",
    "청소량 (kg)",
    "수거량 (kg)",
    "수거 대기 집하장",
    "수거 완료 집하장",
    "자원봉사 시간",
    "평균 수거 소요 시간 (시간)",
]
EN_PERIOD_HEADERS = [
    "Period",
    "Investigation reports",
    "Cleaning reports",
    "Collection requests",
    "Litres estimated",
    "Cleaned (kg)",
    "Collected (kg)",
    "Depots waiting",
    "Depots collected",
    "Volunteer hours",
    "Average hours to collection",
]
EN_PERIOD_KEYS = (
    "investigation_reports",
    "cleaning_reports",
    "collection_requests",
    "litres_estimated",
    "kg_cleaned",
    "kg_collected",
    "depots_waiting",
    "depots_collected",
    "volunteer_hours",
    "avg_hours_to_collection",
)


def sheet_rows(content: bytes) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def download(client: TestClient, data: Data, headers: dict[str, str] | None = None, **params: Any) -> Any:
    r = client.get("/api/statistics/export", params=params, headers={**data.h("city_admin"), **(headers or {})})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX_MEDIA_TYPE
    assert r.headers["content-disposition"].startswith('attachment; filename="statistics-')
    assert r.content[:2] == b"PK"  # a zip container, not an envelope
    return r


def test_export_matches_the_rows_with_korean_headers(client: TestClient, data: Data) -> None:
    rows = client.get("/api/statistics", params={"group_by": "beach"}, headers=data.h("city_admin")).json()["data"]
    r = download(client, data, group_by="beach")
    assert 'filename="statistics-beach-' in r.headers["content-disposition"]
    sheet = sheet_rows(r.content)
    assert sheet[0] == KO_BEACH_HEADERS
    assert sheet[1:] == [list(row.values()) for row in rows]
    assert sheet[1][:4] == [data.beaches["A1"].id, "해운대", 1, 1]
    assert sheet[1][6] == 42.25


def test_english_headers_follow_accept_language(client: TestClient, data: Data) -> None:
    r = download(client, data, headers={"Accept-Language": "en-US,en;q=0.9"}, group_by="period", period="month")
    sheet = sheet_rows(r.content)
    assert sheet[0] == EN_PERIOD_HEADERS
    assert [row[0] for row in sheet[1:]] == ["2026-03-01", "2026-04-01", "2026-05-01"]
    assert sheet[2][EN_PERIOD_HEADERS.index("Cleaned (kg)")] == 59.75
    assert sheet[1][EN_PERIOD_HEADERS.index("Average hours to collection")] is None


def test_picked_columns_in_the_order_given(client: TestClient, data: Data) -> None:
    sheet = sheet_rows(download(client, data, group_by="beach", columns="beach_name,kg_collected,kg_cleaned").content)
    assert sheet == [
        ["해변", "수거량 (kg)", "청소량 (kg)"],
        ["해운대", 40, 42.25],
        ["송정", 15.5, 10],
        ["광안리", 100, 7.5],
    ]
    repeated = download(
        client, data, {"Accept-Language": "en"}, group_by="org", columns=["org_name", "depots_waiting,org_name"]
    )
    assert sheet_rows(repeated.content) == [["Organisation", "Depots waiting"], ["해운대구", 2], ["수영구", 0]]


@pytest.mark.parametrize(
    "params",
    [
        {"columns": "nonsense"},
        {"columns": "period,kg_cleaned,phone"},
        {"group_by": "beach", "columns": "period"},
        {"group_by": "user", "columns": "real_name"},
    ],
)
def test_unknown_column_is_400_naming_query_columns(client: TestClient, data: Data, params: dict[str, str]) -> None:
    r = client.get("/api/statistics/export", params=params, headers=data.h("city_admin"))
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in error["details"]] == ["query.columns"]


def test_export_filters_and_scope_as_the_rows(client: TestClient, data: Data) -> None:
    sheet = sheet_rows(download(client, data, group_by="org", org_id=data.district_b.id, columns="org_name").content)
    assert sheet == [["조직"], ["수영구"]]
    r = client.get(
        "/api/statistics/export", params={"from": "2026-05-02", "to": "2026-05-01"}, headers=data.h("city_admin")
    )
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["error"]["details"]] == ["query.from"]


def test_export_is_audited(client: TestClient, data: Data, db: Any) -> None:
    download(client, data, group_by="team", columns="team_name")
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "STATISTICS_EXPORT")).scalar_one()
    assert entry.actor_id == data.people["city_admin"].id
    assert entry.org_id == data.city.id


def test_empty_export_has_the_header_row(client: TestClient, data: Data) -> None:
    sheet = sheet_rows(download(client, data, group_by="user", **{"from": "2030-01-01"}).content)
    assert sheet == [["작업자 ID", "닉네임", *KO_BEACH_HEADERS[2:]]]


def test_export_kill_switch(client: TestClient, data: Data, db: Any) -> None:
    switches.set_feature(db, "export", enabled=False)
    db.commit()
    r = client.get("/api/statistics/export", headers=data.h("city_admin"))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "MAINTENANCE"
    assert client.get("/api/statistics", headers=data.h("city_admin")).status_code == 200


def test_every_column_picked_at_once(client: TestClient, data: Data) -> None:
    columns = ",".join(["period", *list(EN_PERIOD_KEYS)])
    sheet = sheet_rows(download(client, data, {"Accept-Language": "en"}, columns=columns).content)
    assert sheet[0] == EN_PERIOD_HEADERS
    r = client.get("/api/statistics/export", params=[("columns", "period")] * 51, headers=data.h("city_admin"))
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["error"]["details"]] == ["query.columns"]
