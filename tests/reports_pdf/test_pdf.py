"""`GET /api/statistics/report.pdf`: figures of the period and subtree, Korean text in an embedded
Noto Sans KR font, a bar chart; checked with poppler's pdftotext and pdffonts."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.enums import Role
from beachsaver.orgs.models import Organization
from beachsaver.reports_pdf import service
from tests.factories import make_beach, make_user
from tests.imports.world import World, build_world
from tests.reports_pdf.data import depot, kst, report


@dataclass
class Data:
    w: World
    beach_a: int
    beach_b: int


@pytest.fixture
def data(db: Session) -> Data:
    w = build_world(db)
    d1 = db.get(Organization, w.d1)
    d2 = db.get(Organization, w.d2)
    o1 = db.get(Organization, w.o1)
    assert d1 is not None and d2 is not None and o1 is not None
    cleaner = make_user(db, Role.CLEANER, d1, nickname="청소원")
    far = make_user(db, Role.CLEANER, o1, nickname="서울청소원")
    beach_a = make_beach(db, d1, name="해운대해수욕장")
    beach_b = make_beach(db, d1, name="광안리해수욕장")
    beach_c = make_beach(db, o1, name="한강공원")
    u = cleaner.id
    # investigations: counted in May 2026 for the city: two in d1, one in d2
    report(db, type="INVESTIGATION", user_id=u, org_id=d1.id, at=kst(2026, 5, 3), litres=["10.5", "4.5"])
    report(db, type="INVESTIGATION", user_id=u, org_id=d1.id, at=kst(2026, 5, 31, 23), status="APPROVED", litres=["20"])
    report(db, type="INVESTIGATION", user_id=u, org_id=d2.id, at=kst(2026, 5, 10), litres=["5"])
    # not counted: a draft, a rejected one, a deleted one, outside the period, another city
    report(db, type="INVESTIGATION", user_id=u, org_id=d1.id, at=kst(2026, 5, 4), status="DRAFT", litres=["99"])
    report(db, type="INVESTIGATION", user_id=u, org_id=d1.id, at=kst(2026, 5, 4), status="REJECTED", litres=["99"])
    report(db, type="INVESTIGATION", user_id=u, org_id=d1.id, at=kst(2026, 5, 5), deleted=True, litres=["99"])
    report(db, type="INVESTIGATION", user_id=u, org_id=d1.id, at=kst(2026, 4, 30, 23), litres=["99"])
    report(db, type="INVESTIGATION", user_id=u, org_id=d1.id, at=kst(2026, 6, 1, 0), litres=["99"])
    report(db, type="INVESTIGATION", user_id=far.id, org_id=o1.id, at=kst(2026, 5, 3), litres=["99"])
    # cleanings
    report(db, type="CLEANING", user_id=u, org_id=d1.id, at=kst(2026, 5, 6), beach_id=beach_a.id, kg=["100", "50.25"])
    report(db, type="CLEANING", user_id=u, org_id=d1.id, at=kst(2026, 5, 7), beach_id=beach_a.id, kg=["30"])
    report(db, type="CLEANING", user_id=u, org_id=d1.id, at=kst(2026, 5, 8), beach_id=beach_b.id, kg=["200"])
    report(db, type="CLEANING", user_id=u, org_id=d1.id, at=kst(2026, 4, 8), beach_id=beach_b.id, kg=["999"])
    report(db, type="CLEANING", user_id=far.id, org_id=o1.id, at=kst(2026, 5, 8), beach_id=beach_c.id, kg=["999"])
    # a collection request with its depots
    request = report(db, type="COLLECTION_REQUEST", user_id=u, org_id=d1.id, at=kst(2026, 5, 9))
    depot(
        db,
        request=request,
        status="COMPLETED",
        created=kst(2026, 5, 9),
        collected_amount=Decimal("120.5"),
        collection_completed_at=kst(2026, 5, 12),
    )
    depot(
        db,
        request=request,
        status="COMPLETED",
        created=kst(2026, 5, 9),
        collected_amount=Decimal("77"),
        collection_completed_at=kst(2026, 6, 2),
    )
    depot(db, request=request, status="WAITING", created=kst(2026, 5, 9))
    old = report(db, type="COLLECTION_REQUEST", user_id=u, org_id=d1.id, at=kst(2026, 4, 9))
    depot(db, request=old, status="WAITING", created=kst(2026, 4, 9))
    result = Data(w=w, beach_a=beach_a.id, beach_b=beach_b.id)
    db.commit()
    return result


def test_figures_of_the_period_and_subtree(db: Session, data: Data) -> None:
    city = db.get(Organization, data.w.city)
    assert city is not None
    s = service.summarise(db, city, date(2026, 5, 1), date(2026, 5, 31))
    assert (s.investigation_reports, s.cleaning_reports, s.collection_requests) == (3, 3, 1)
    assert s.litres_estimated == Decimal("40.00")
    assert s.kg_cleaned == Decimal("380.25")
    assert (s.kg_collected, s.depots_collected, s.depots_waiting) == (Decimal("120.50"), 1, 1)
    assert [(b.beach_name, b.reports, b.kg_cleaned) for b in s.top_beaches] == [
        ("광안리해수욕장", 1, Decimal("200.00")),
        ("해운대해수욕장", 2, Decimal("180.25")),
    ]
    d2 = db.get(Organization, data.w.d2)
    assert d2 is not None
    s = service.summarise(db, d2, date(2026, 5, 1), date(2026, 5, 31))
    assert (s.investigation_reports, s.cleaning_reports, s.litres_estimated, s.top_beaches) == (1, 0, Decimal("5"), [])
    db.commit()


def pdf_text(document: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(document)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_fonts(document: bytes, tmp_path: Path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(document)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


def test_pdf_in_korean_with_an_embedded_font(client: TestClient, data: Data, tmp_path: Path) -> None:
    response = client.get(
        "/api/statistics/report.pdf",
        headers=data.w.city_admin,
        params={"from": "2026-05-01", "to": "2026-05-31"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="beachsaver-summary-{data.w.city_code}-2026-05-01-2026-05-31.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content, tmp_path)
    for expected in (
        "해양쓰레기 정화 요약 보고서",
        f"부산광역시 ({data.w.city_code})",
        "2026-05-01 ~ 2026-05-31",
        "조사 보고서",
        "청소량 (kg)",
        "380.25",
        "120.5",
        "해변별 청소량",
        "광안리해수욕장",
        "해운대해수욕장",
        "180.25",
    ):
        assert expected in text, expected
    assert "한강공원" not in text
    fonts = pdf_fonts(response.content, tmp_path)
    assert "NotoSansCJKkr" in fonts.replace("KR", "kr")
    font_line = next(line for line in fonts.splitlines() if "NotoSansCJK" in line)
    assert font_line.split()[-5:-2] == ["yes", "yes", "yes"]  # embedded, subset, unicode map


def test_pdf_in_english_for_one_district(client: TestClient, data: Data, tmp_path: Path) -> None:
    response = client.get(
        "/api/statistics/report.pdf",
        headers={**data.w.city_admin, "Accept-Language": "en"},
        params={"from": "2026-05-01", "to": "2026-05-31", "org_id": data.w.d2},
    )
    assert response.status_code == 200
    text = pdf_text(response.content, tmp_path)
    assert "Marine litter clean-up summary" in text
    assert "No clean-up was recorded in this period." in text
    assert "수영구" in text


def test_default_period_is_this_month(client: TestClient, data: Data, tmp_path: Path) -> None:
    from beachsaver.core.time import seoul_today

    today = seoul_today()
    response = client.get("/api/statistics/report.pdf", headers=data.w.d1_admin)
    assert response.status_code == 200
    assert f"{today.replace(day=1).isoformat()} ~ {today.isoformat()}" in pdf_text(response.content, tmp_path)


def test_scope_roles_and_bad_input(client: TestClient, data: Data) -> None:
    w = data.w
    other = client.get("/api/statistics/report.pdf", headers=w.d1_admin, params={"org_id": w.d2})
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/api/statistics/report.pdf", headers=w.other_admin, params={"org_id": w.city}).status_code == 404
    worker = client.get("/api/statistics/report.pdf", headers=w.worker)
    assert worker.status_code == 403
    assert worker.json()["error"]["code"] == "FORBIDDEN"
    assert client.get("/api/statistics/report.pdf").status_code == 401
    cases = [
        ({"from": "2026-05-02", "to": "2026-05-01"}, "query.to"),
        ({"from": "yesterday"}, "query.from"),
        ({"to": "2026-13-01"}, "query.to"),
        ({"org_id": "0"}, "query.org_id"),
        ({"from": "1990-01-01", "to": "2026-01-01"}, "query.from"),
    ]
    for params, field in cases:
        response = client.get("/api/statistics/report.pdf", headers=w.city_admin, params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert [d["field"] for d in response.json()["error"]["details"]] == [field]
