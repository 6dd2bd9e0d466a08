"""Organisations, admins and spreadsheets for the import, export and PDF tests.

Everything is kept as plain values so no ORM object has to be reloaded (on SQLite a reload
opens a write transaction that would block the API).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from beachsaver.core.enums import Role
from beachsaver.imports.excel import HEADERS
from tests.factories import auth, make_city, make_district, make_user, token_for

_numbers = itertools.count(1)


@dataclass
class World:
    city: int
    city_code: str
    d1: int
    d1_code: str
    d2: int
    d2_code: str
    other_city: int
    other_code: str
    o1: int
    o1_code: str
    platform: dict[str, str]
    city_admin: dict[str, str]
    d1_admin: dict[str, str]
    other_admin: dict[str, str]
    worker: dict[str, str]
    city_admin_id: int
    d1_admin_id: int


def build_world(db: Session) -> World:
    n = next(_numbers)
    city = make_city(db, code=f"BS{n}", name="부산광역시")
    d1 = make_district(db, city, "HAEUNDAE", name="해운대구")
    d2 = make_district(db, city, "SUYEONG", name="수영구")
    other = make_city(db, code=f"SE{n}", name="서울특별시")
    o1 = make_district(db, other, "MAPO", name="마포구")
    from beachsaver.orgs import service as org_service

    root = org_service.ensure_root(db)
    platform = make_user(db, Role.PLATFORM_ADMIN, root, nickname="플랫폼")
    city_admin = make_user(db, Role.CITY_ADMIN, city, nickname="시관리자")
    d1_admin = make_user(db, Role.DISTRICT_ADMIN, d1, nickname="구관리자")
    other_admin = make_user(db, Role.CITY_ADMIN, other, nickname="서울관리자")
    worker = make_user(db, Role.INVESTIGATOR, d1, nickname="조사원")
    world = World(
        city=city.id,
        city_code=city.code,
        d1=d1.id,
        d1_code=d1.code,
        d2=d2.id,
        d2_code=d2.code,
        other_city=other.id,
        other_code=other.code,
        o1=o1.id,
        o1_code=o1.code,
        platform=auth(token_for(db, platform)),
        city_admin=auth(token_for(db, city_admin)),
        d1_admin=auth(token_for(db, d1_admin)),
        other_admin=auth(token_for(db, other_admin)),
        worker=auth(token_for(db, worker)),
        city_admin_id=city_admin.id,
        d1_admin_id=d1_admin.id,
    )
    db.commit()
    return world


def xlsx(rows: Sequence[dict[str, Any] | Sequence[Any]], headers: Sequence[str] = HEADERS) -> bytes:
    """A workbook whose first sheet has ``headers`` then ``rows`` (dicts by header name, or lists).
    A string starting with ``=`` becomes a formula cell."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(headers))
    for row in rows:
        if isinstance(row, dict):
            sheet.append([row.get(h) for h in headers])
        else:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    *,
    dry_run: bool | None = None,
    filename: str = "accounts.xlsx",
    lang: str = "en",
) -> Response:
    form = {"dry_run": "true" if dry_run else "false"} if dry_run is not None else {}
    return client.post(
        "/api/users/import",
        headers={**headers, "Accept-Language": lang},
        files={"file": (filename, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
        data=form,
    )


def read_xlsx(data: bytes) -> dict[str, list[list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    book.close()
    return sheets


def count(db: Session, model: Any) -> int:
    """Rows of ``model`` (the read is ended: on SQLite every transaction holds the write lock)."""
    value = int(db.execute(select(func.count()).select_from(model)).scalar_one())
    db.commit()
    return value
