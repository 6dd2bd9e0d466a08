"""Duplicate suspicion (02-api §5: DUPLICATE_SUSPECTED): each candidate's position is its GPS, else
its first area's start, else its first depot, else its beach; the newest candidate within the
radius wins. The candidates' positions are read in a bounded number of statements."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.time import utcnow
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports import service
from beachsaver.reports.models import Report, ReportArea
from tests.factories import make_beach
from tests.statements import counting

from .conftest import World
from .test_reports import investigation

HERE = ("35.1580000", "129.1600000")
NEAR = ("35.1584000", "129.1600000")  # about 45 m north
FAR = ("35.1680000", "129.1600000")  # about 1.1 km north


def _report(db: Any, user: Any, beach: Any, at: datetime, *, gps: tuple[str, str] | None = None) -> Report:
    report = Report(
        client_id=str(uuid.uuid4()),
        type="INVESTIGATION",
        status="SUBMITTED",
        user_id=user.id,
        beach_id=beach.id,
        org_id=beach.org_id,
        investigation_at=at,
        event_at=at,
        submitted_at=at,
        gps_lat=Decimal(gps[0]) if gps else None,
        gps_lng=Decimal(gps[1]) if gps else None,
    )
    db.add(report)
    db.flush()
    return report


def _area(db: Any, report: Report, position: int, start: tuple[str, str] | None) -> None:
    lat, lng = start if start else (None, None)
    db.add(
        ReportArea(
            report_id=report.id,
            position=position,
            area_name=f"A{position}",
            start_latitude=Decimal(lat) if lat else None,
            start_longitude=Decimal(lng) if lng else None,
        )
    )
    db.flush()


def _depot(db: Any, report: Report, position: int, at: tuple[str, str]) -> None:
    db.add(
        CollectionDepot(
            report_id=report.id,
            org_id=report.org_id,
            position=position,
            name=f"D{position}",
            latitude=Decimal(at[0]),
            longitude=Decimal(at[1]),
        )
    )
    db.flush()


def _found_then_withdrawn(db: Any, mine: Report, candidate: Report, expected: int | None) -> None:
    """``find_duplicate`` answers ``expected`` while ``candidate`` is live, then the candidate is
    deleted so that the next case sees only its own."""
    db.flush()
    assert service.find_duplicate(db, mine) == expected
    candidate.deleted_at = utcnow()


def test_each_fallback_of_a_candidates_position(world: World, db: Any) -> None:
    now = utcnow()
    at_beach = make_beach(db, world.district, name="해변1", lat=NEAR[0], lng=NEAR[1])
    other_beach = make_beach(db, world.district, name="해변2", lat=FAR[0], lng=FAR[1])
    for beach in (at_beach, other_beach):
        mine = _report(db, world.investigator, beach, now, gps=HERE)
        mine.status = "DRAFT"
        # the newest, 1 km away by GPS: never a duplicate
        _report(db, world.investigator2, beach, now - timedelta(minutes=10), gps=FAR)
        # no GPS; its first area without a start, its second one 45 m away
        by_area = _report(db, world.investigator2, beach, now - timedelta(minutes=20))
        _area(db, by_area, 0, None)
        _area(db, by_area, 1, NEAR)
        _found_then_withdrawn(db, mine, by_area, by_area.id)
        # no GPS, no area start: its first depot
        by_depot = _report(db, world.investigator2, beach, now - timedelta(minutes=30))
        _depot(db, by_depot, 1, FAR)
        _depot(db, by_depot, 0, NEAR)
        _found_then_withdrawn(db, mine, by_depot, by_depot.id)
        # nothing of its own: the beach's position (45 m away for one beach, 1.1 km for the other)
        by_beach = _report(db, world.investigator2, beach, now - timedelta(minutes=40))
        _found_then_withdrawn(db, mine, by_beach, by_beach.id if beach is at_beach else None)
        # my own reports and reports outside the time window are never candidates
        _report(db, world.investigator, beach, now - timedelta(minutes=5), gps=HERE)
        _report(db, world.investigator2, beach, now - timedelta(hours=7), gps=HERE)
        db.flush()
        assert service.find_duplicate(db, mine) is None


def test_candidate_positions_take_a_bounded_number_of_statements(world: World, db: Any) -> None:
    now = utcnow()
    mine = _report(db, world.investigator, world.beach, now, gps=HERE)
    mine.status = "DRAFT"
    for i in range(30):
        other = _report(db, world.investigator2, world.beach, now - timedelta(minutes=i + 1))
        _depot(db, other, 0, FAR)
    db.flush()
    engine = db.get_bind()
    with counting(engine) as statements:
        assert service.find_duplicate(db, mine) is None
    # the candidates, the first areas, the first depots (and the beach, unless already loaded)
    assert len(statements) <= 4, statements


@pytest.mark.parametrize("placed_by", ["gps", "area", "depot", "beach"])
def test_offline_sync_suspects_what_a_single_submission_suspects(
    client: TestClient, world: World, db: Any, placed_by: str
) -> None:
    """The batched sync path reads its candidates' positions through the same fallback chain."""
    now = utcnow()
    near_beach = make_beach(db, world.district, name="해변3", lat=NEAR[0], lng=NEAR[1])
    candidate = _report(
        db, world.investigator2, near_beach, now - timedelta(minutes=20), gps=NEAR if placed_by == "gps" else None
    )
    if placed_by == "area":
        _area(db, candidate, 0, None)
        _area(db, candidate, 1, NEAR)
    elif placed_by == "depot":
        _depot(db, candidate, 0, NEAR)
    # the newest candidate is 1 km away: never the answer
    _report(db, world.investigator2, near_beach, now - timedelta(minutes=10), gps=FAR)
    db.commit()
    if placed_by in ("area", "depot"):
        # without its area or depot the candidate would sit at the beach: move the beach away
        near_beach.latitude, near_beach.longitude = Decimal(FAR[0]), Decimal(FAR[1])
        db.commit()
    body = investigation(near_beach.id, gps_lat=float(HERE[0]), gps_lng=float(HERE[1]))
    body["areas"][0].update(start_latitude=float(HERE[0]), start_longitude=float(HERE[1]))
    r = client.post("/api/reports/sync", json={"reports": [body]}, headers=world.h("investigator"))
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert item["status"] == "ERROR", item
    assert item["error"]["code"] == "DUPLICATE_SUSPECTED"
    assert item["error"]["details"] == [{"field": "existing_report_id", "message": str(candidate.id)}]
    r = client.post("/api/reports", json=dict(body, client_id=str(uuid.uuid4())), headers=world.h("investigator"))
    assert r.status_code == 409
    assert r.json()["error"]["details"] == item["error"]["details"]
