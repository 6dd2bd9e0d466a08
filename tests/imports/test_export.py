"""`GET /api/users/export`: the filtered account list as .xlsx, PII masked unless revealed (audited)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from tests.imports.world import World, build_world, read_xlsx, upload, xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def w(db: Session, client: TestClient) -> World:
    world = build_world(db)
    rows = [
        {
            "role": "COLLECTOR",
            "org_code": world.d1_code,
            "nickname": "수거왕",
            "real_name": "박수거",
            "phone": "01080000001",
            "birth": "1970-01-02",
            "vehicle_type": "LARGE",
            "capacity_t": "5",
            "plate_no": "34나5678",
            "operator_type": "INDIVIDUAL",
        },
        {"role": "CLEANER", "org_code": world.d2_code, "nickname": "청소왕", "phone": "01080000002"},
    ]
    assert upload(client, world.platform, xlsx(rows)).json()["data"]["status"] == "COMPLETED"
    return world


def export(client: TestClient, headers: dict[str, str], lang: str = "en", **params: str) -> dict[str, list[list]]:
    response = client.get("/api/users/export", headers={**headers, "Accept-Language": lang}, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"].startswith('attachment; filename="beachsaver-accounts-')
    return read_xlsx(response.content)


def column(sheet: list[list], name: str) -> list:
    index = sheet[0].index(name)
    return [row[index] for row in sheet[1:]]


def test_export_matches_the_list_with_masked_phones(client: TestClient, w: World) -> None:
    sheet = export(client, w.city_admin)["accounts"]
    listed = client.get("/api/users", headers=w.city_admin, params={"size": 100}).json()["data"]
    assert column(sheet, "ID") == [u["id"] for u in listed]
    assert column(sheet, "System ID") == [u["system_id"] for u in listed]
    assert column(sheet, "Phone") == [u["phone"] for u in listed]
    assert "010-****-0001" in column(sheet, "Phone")
    assert "Real name" not in sheet[0]
    collector = next(r for r in sheet[1:] if r[sheet[0].index("Nickname")] == "수거왕")
    assert collector[sheet[0].index("Plate number")] == "34나5678"
    assert collector[sheet[0].index("Capacity (t)")] == 5
    assert collector[sheet[0].index("Vehicle verified")] is False
    assert collector[sheet[0].index("Organisation code")] == w.d1_code


def test_filters_sort_and_columns(client: TestClient, w: World) -> None:
    sheet = export(client, w.city_admin, role="collector", columns="nickname,phone,role")["accounts"]
    assert sheet == [["Nickname", "Phone", "Role"], ["수거왕", "010-****-0001", "COLLECTOR"]]
    sheet = export(client, w.city_admin, org_id=str(w.d2), columns="nickname")["accounts"]
    assert sheet == [["Nickname"], ["청소왕"]]
    sheet = export(client, w.city_admin, filter="role=CLEANER", sort="nickname,asc", columns="nickname")["accounts"]
    assert sheet == [["Nickname"], ["청소왕"]]
    sheet = export(client, w.city_admin, q="왕", sort="nickname,desc", columns="nickname")["accounts"]
    assert sheet == [["Nickname"], ["청소왕"], ["수거왕"]]


def test_headers_follow_the_language(client: TestClient, w: World) -> None:
    sheet = export(client, w.city_admin, lang="ko", columns="nickname,phone,org_code")["accounts"]
    assert sheet[0] == ["닉네임", "전화번호", "조직 코드"]


def test_scope(client: TestClient, w: World) -> None:
    nicknames = column(export(client, w.d1_admin, columns="nickname")["accounts"], "Nickname")
    assert "수거왕" in nicknames
    assert "청소왕" not in nicknames
    assert export(client, w.other_admin, columns="nickname")["accounts"] == [["Nickname"], ["서울관리자"]]
    response = client.get("/api/users/export", headers=w.d1_admin, params={"org_id": w.d2})
    assert response.status_code == 404


def test_reveal_pii_shows_phones_and_names_and_is_audited(client: TestClient, db: Session, w: World) -> None:
    sheet = export(client, w.city_admin, reveal="pii", role="COLLECTOR")["accounts"]
    assert column(sheet, "Phone") == ["01080000001"]
    assert column(sheet, "Real name") == ["박수거"]
    assert column(sheet, "Birth date") == ["1970-01-02"]
    entries = db.execute(select(AuditEntry).where(AuditEntry.action == "USER_EXPORT")).scalars().all()
    db.commit()
    assert len(entries) == 1
    assert entries[0].actor_id == w.city_admin_id
    assert entries[0].after is not None
    assert entries[0].after["reveal"] == "pii"
    assert entries[0].after["rows"] == 1
    assert entries[0].after["filters"] == {"role": "COLLECTOR"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"columns": "nickname,password"}, "query.columns"),
        ({"reveal": "everything"}, "query.reveal"),
        ({"role": "WIZARD"}, "query.role"),
        ({"sort": "password,asc"}, "query.sort"),
        ({"filter": "password=x"}, "query.filter"),
        ({"org_id": "0"}, "query.org_id"),
    ],
)
def test_bad_parameters_are_400(client: TestClient, w: World, params: dict[str, str], field: str) -> None:
    response = client.get("/api/users/export", headers=w.city_admin, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
