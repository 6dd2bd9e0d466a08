"""No N+1: the number of SQL statements per request stays the same as the data grows."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.enums import CleanerType, Role
from beachsaver.reports.models import Contribution, Credit
from tests.factories import make_beach, make_team, make_user
from tests.statements import counting

from .conftest import Data, add_depot, add_report, kst

REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    *(
        ("/api/statistics", {"group_by": g, "period": p}, "city_admin")
        for g, p in (
            ("period", "day"),
            ("period", "week"),
            ("period", "month"),
            ("period", "year"),
            ("org", "month"),
            ("beach", "month"),
            ("team", "month"),
            ("user", "month"),
            ("trash_type", "month"),
        )
    ),
    ("/api/statistics", {"group_by": "user", "type": "cleaning"}, "admin_a"),
    ("/api/statistics/export", {"group_by": "user"}, "city_admin"),
    ("/api/statistics/export", {"group_by": "beach", "columns": "beach_name,kg_cleaned"}, "city_admin"),
    ("/api/statistics/map", {"layer": "litter"}, "city_admin"),
    ("/api/statistics/map", {"layer": "depots"}, "city_admin"),
    ("/api/statistics/map", {"layer": "forecast"}, "city_admin"),
    ("/api/statistics/dashboard", {}, "city_admin"),
    ("/api/users/me/performance", {}, "lead_a"),
    ("/api/users/me/performance", {}, "col_a"),
]


def measure(client: TestClient, data: Data, engine: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path, params, who in REQUESTS:
        with counting(engine) as statements:
            r = client.get(path, params=params, headers=data.h(who))
        assert r.status_code == 200, (path, params, r.text)
        counts[f"{path} {sorted(params.items())} {who}"] = len(statements)
    return counts


_names = itertools.count(1)


def grow(db: Session, data: Data, rounds: int) -> None:
    """More of everything: beaches, teams, workers, reports with areas, credits, contributions,
    depots in every state — spread over many days."""
    districts = [data.district_a, data.district_b]
    for i in range(rounds):
        district = districts[i % 2]
        n = next(_names)
        beach = make_beach(db, district, f"해변{n}", "35.1", "129.1")
        leader = make_user(db, Role.CLEANER, district, nickname=f"팀장{n}")
        volunteer = make_user(db, Role.CLEANER, district, nickname=f"봉사{n}", cleaner_type=CleanerType.VOLUNTEER)
        investigator = make_user(db, Role.INVESTIGATOR, district, nickname=f"조사{n}")
        collector = make_user(db, Role.COLLECTOR, district, nickname=f"수거{n}", verified=True)
        team = make_team(db, district, leader, [volunteer], name=f"팀{n}")
        at = kst("2025-01-01 10:00") + timedelta(days=7 * i, hours=i)
        add_report(db, "INVESTIGATION", "SUBMITTED", investigator, beach, at, areas=[("10", None, "METAL")] * 3)
        cleaning = add_report(
            db, "CLEANING", "APPROVED", leader, beach, at, team=team, areas=[(None, "4", "RUBBER"), (None, "6", None)]
        )
        db.add(Credit(report_id=cleaning.id, user_id=leader.id, weight=Decimal("1.5"), share=Decimal("0.6"), kg=6))
        db.add(Credit(report_id=cleaning.id, user_id=volunteer.id, weight=Decimal(1), share=Decimal("0.4"), kg=4))
        db.add(Contribution(report_id=cleaning.id, user_id=volunteer.id, hours=Decimal("1.5")))
        request = add_report(db, "COLLECTION_REQUEST", "SUBMITTED", leader, beach, at, team=team)
        add_depot(db, request, "COMPLETED", at, collector=collector, kg="3", completed=at + timedelta(hours=5))
        add_depot(db, request, "WAITING", at)
        add_depot(db, request, "ISSUE", at)
    db.commit()


def test_statement_count_does_not_grow_with_the_data(client: TestClient, data: Data, db: Session, app: Any) -> None:
    engine = app.state.runtime.engine
    measure(client, data, engine)  # warm-up: caches, first connection
    small = measure(client, data, engine)
    grow(db, data, 12)
    larger = measure(client, data, engine)
    assert larger == small
    grow(db, data, 24)
    assert measure(client, data, engine) == small
    # and it is small: auth and scope look-ups plus a handful of aggregates
    assert max(small.values()) <= 17, small
