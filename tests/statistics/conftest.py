"""A hand-built dataset with known figures: two districts of Busan, a district of another city,
reports of every type and status across Seoul day, week and month boundaries, depots in every
state, a team with a volunteer, credits and contributions."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from beachsaver.core.enums import CleanerType, Role
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports.models import Contribution, Credit, Report, ReportArea
from tests.factories import make_beach, make_city, make_district, make_team, make_user, token_for

KST = timezone(timedelta(hours=9))
_positions = itertools.count()


def kst(text: str) -> datetime:
    """``2026-04-01 00:30`` in Asia/Seoul → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=KST).astimezone(UTC)


def add_report(
    db: Session,
    type: str,
    status: str,
    user: Any,
    beach: Any,
    at: datetime | None,
    *,
    team: Any = None,
    areas: list[tuple[str | None, str | None, str | None]] = (),  # type: ignore[assignment]
    submitted_at: datetime | None = None,
) -> Report:
    """A report as the service leaves it; ``areas`` are (litres, kg, main_trash_type)."""
    live = status in ("SUBMITTED", "APPROVED", "REJECTED")
    report = Report(
        client_id=str(uuid.uuid4()),
        type=type,
        status=status,
        user_id=user.id,
        team_id=team.id if team is not None else None,
        beach_id=beach.id,
        org_id=beach.org_id,
        investigation_at=at if type == "INVESTIGATION" else None,
        cleaning_at=at if type == "CLEANING" else None,
        event_at=at if live else None,
        submitted_at=(submitted_at or at) if live else None,
    )
    db.add(report)
    db.flush()
    for position, (litres, kg, trash) in enumerate(areas):
        db.add(
            ReportArea(
                report_id=report.id,
                position=position,
                area_name=f"구역{position}",
                trash_amount_est_l=Decimal(litres) if litres is not None else None,
                trash_amount_kg=Decimal(kg) if kg is not None else None,
                main_trash_type=trash,
            )
        )
    db.flush()
    return report


def add_depot(
    db: Session,
    request: Report,
    status: str | None,
    created: datetime,
    *,
    collector: Any = None,
    kg: str | None = None,
    completed: datetime | None = None,
    lat: str = "35.1580000",
    lng: str = "129.1600000",
) -> CollectionDepot:
    depot = CollectionDepot(
        report_id=request.id,
        org_id=request.org_id,
        position=next(_positions),
        name=f"집하장{next(_positions)}",
        latitude=Decimal(lat),
        longitude=Decimal(lng),
        status=status,
        collector_id=collector.id if collector is not None else None,
        collected_amount=Decimal(kg) if kg is not None else None,
        collection_completed_at=completed,
        created_at=created,
    )
    db.add(depot)
    db.flush()
    return depot


@dataclass
class Data:
    city: Any
    district_a: Any
    district_b: Any
    other_city: Any
    district_x: Any
    beaches: dict[str, Any]
    people: dict[str, Any]
    team: Any
    reports: dict[str, Report]
    depots: dict[str, CollectionDepot]
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def build(db: Session) -> Data:
    city = make_city(db, name="부산광역시")
    a = make_district(db, city, name="해운대구")
    b = make_district(db, city, name="수영구")
    other_city = make_city(db, name="울산광역시")
    x = make_district(db, other_city, name="동구")
    beaches = {
        "A1": make_beach(db, a, "해운대", "35.1586975", "129.1603842"),
        "A2": make_beach(db, a, "송정", "35.1786003", "129.1995660"),
        "B1": make_beach(db, b, "광안리", "35.1531696", "129.1186566"),
        "X1": make_beach(db, x, "일산", "35.4970000", "129.4300000"),
    }
    people = {
        "inv_a": make_user(db, Role.INVESTIGATOR, a, nickname="조사A"),
        "lead_a": make_user(db, Role.CLEANER, a, nickname="팀장A"),
        "vol_a": make_user(db, Role.CLEANER, a, nickname="봉사A", cleaner_type=CleanerType.VOLUNTEER),
        "solo_a": make_user(db, Role.CLEANER, a, nickname="개인A"),
        "col_a": make_user(db, Role.COLLECTOR, a, nickname="수거A", verified=True),
        "inv_b": make_user(db, Role.INVESTIGATOR, b, nickname="조사B"),
        "clean_b": make_user(db, Role.CLEANER, b, nickname="청소B"),
        "col_b": make_user(db, Role.COLLECTOR, b, nickname="수거B", verified=True),
        "inv_x": make_user(db, Role.INVESTIGATOR, x, nickname="조사X"),
        "clean_x": make_user(db, Role.CLEANER, x, nickname="청소X"),
        "vol_x": make_user(db, Role.CLEANER, x, nickname="봉사X", cleaner_type=CleanerType.VOLUNTEER),
        "col_x": make_user(db, Role.COLLECTOR, x, nickname="수거X", verified=True),
        "city_admin": make_user(db, Role.CITY_ADMIN, city),
        "admin_a": make_user(db, Role.DISTRICT_ADMIN, a),
        "other_city_admin": make_user(db, Role.CITY_ADMIN, other_city),
    }
    p = people
    team = make_team(db, a, p["lead_a"], [p["vol_a"]], name="해운대팀")
    team_x = make_team(db, x, p["clean_x"], [p["vol_x"]], name="일산팀")
    A1, A2, B1, X1 = (beaches[k] for k in ("A1", "A2", "B1", "X1"))
    r: dict[str, Report] = {}
    # District A -----------------------------------------------------------------------------
    r["R1"] = add_report(  # Tuesday 31 March in Seoul (14:30 UTC)
        db,
        "INVESTIGATION",
        "SUBMITTED",
        p["inv_a"],
        A1,
        kst("2026-03-31 23:30"),
        areas=[("100", None, "PLASTIC"), ("50.5", None, "STYROFOAM")],
    )
    r["R2"] = add_report(  # 1 April in Seoul, still 31 March in UTC
        db, "INVESTIGATION", "APPROVED", p["inv_a"], A2, kst("2026-04-01 00:30"), areas=[("20", None, "PLASTIC")]
    )
    r["R3"] = add_report(db, "INVESTIGATION", "DRAFT", p["inv_a"], A1, None, areas=[("999", None, "PLASTIC")])
    r["R4"] = add_report(
        db, "INVESTIGATION", "REJECTED", p["inv_a"], A1, kst("2026-04-02 10:00"), areas=[("777", None, "PLASTIC")]
    )
    r["R5"] = add_report(  # Sunday 5 April: the ISO week of Monday 30 March
        db,
        "CLEANING",
        "SUBMITTED",
        p["lead_a"],
        A1,
        kst("2026-04-05 09:00"),
        team=team,
        areas=[(None, "30", "PLASTIC"), (None, "12.25", "FISHING_GEAR")],
    )
    db.add(
        Credit(
            report_id=r["R5"].id,
            user_id=p["lead_a"].id,
            weight=Decimal("1.5"),
            share=Decimal("0.6"),
            kg=Decimal("25.35"),
        )
    )
    db.add(
        Credit(
            report_id=r["R5"].id, user_id=p["vol_a"].id, weight=Decimal("1"), share=Decimal("0.4"), kg=Decimal("16.90")
        )
    )
    db.add(Contribution(report_id=r["R5"].id, user_id=p["lead_a"].id, hours=Decimal("3")))
    db.add(Contribution(report_id=r["R5"].id, user_id=p["vol_a"].id, hours=Decimal("2.5"), kg=Decimal("4")))
    r["R6"] = add_report(  # Monday 6 April 08:59 in Seoul = Sunday 5 April 23:59 UTC
        db, "CLEANING", "APPROVED", p["solo_a"], A2, kst("2026-04-06 08:59"), areas=[(None, "10", "WOOD")]
    )
    r["R7"] = add_report(db, "CLEANING", "DRAFT", p["lead_a"], A1, None, team=team, areas=[(None, "500", "WOOD")])
    db.add(Contribution(report_id=r["R7"].id, user_id=p["vol_a"].id, hours=Decimal("10")))
    r["R8"] = add_report(db, "COLLECTION_REQUEST", "SUBMITTED", p["lead_a"], A1, kst("2026-04-05 12:00"), team=team)
    add = add_depot

    def collected(request: Report, created: str, collector: str, kg: str, done: str, **at: str) -> CollectionDepot:
        """A depot of ``request`` that ``people[collector]`` collected; times in Seoul."""
        return add(db, request, "COMPLETED", kst(created), collector=p[collector], kg=kg, completed=kst(done), **at)

    d: dict[str, CollectionDepot] = {}
    d["D1"] = collected(r["R8"], "2026-04-05 12:00", "col_a", "40", "2026-04-05 18:00")
    d["D2"] = add(db, r["R8"], "WAITING", kst("2026-04-05 12:00"))
    d["D3"] = add(db, r["R8"], "IN_ROUTE", kst("2026-04-05 12:00"), collector=p["col_a"])
    d["D4"] = add(db, r["R8"], "ISSUE", kst("2026-04-05 12:00"))
    r["R9"] = add_report(db, "COLLECTION_REQUEST", "APPROVED", p["solo_a"], A2, kst("2026-03-20 10:00"))
    d["D5"] = collected(
        r["R9"], "2026-03-20 10:00", "col_a", "15.5", "2026-04-01 00:10", lat="35.1786000", lng="129.1995000"
    )
    d["D6"] = add(db, r["R9"], "WAITING", kst("2026-03-20 10:00"))
    r["R10"] = add_report(db, "COLLECTION_REQUEST", "DRAFT", p["solo_a"], A2, None)
    d["D7"] = add(db, r["R10"], None, kst("2026-04-03 10:00"))
    r["R11"] = add_report(db, "COLLECTION_REQUEST", "REJECTED", p["solo_a"], A2, kst("2026-04-03 10:00"))
    d["D8"] = add(db, r["R11"], "WAITING", kst("2026-04-03 10:00"))
    # District B -----------------------------------------------------------------------------
    r["R12"] = add_report(
        db, "INVESTIGATION", "SUBMITTED", p["inv_b"], B1, kst("2026-04-10 12:00"), areas=[("300", None, "GLASS")]
    )
    r["R13"] = add_report(
        db,
        "CLEANING",
        "APPROVED",
        p["clean_b"],
        B1,
        kst("2026-04-10 15:00"),
        areas=[(None, "5", "GLASS"), (None, "2.5", None)],
    )
    r["R14"] = add_report(db, "COLLECTION_REQUEST", "SUBMITTED", p["clean_b"], B1, kst("2026-04-10 16:00"))
    d["D9"] = collected(
        r["R14"], "2026-04-10 16:00", "col_b", "100", "2026-05-02 10:00", lat="35.1531000", lng="129.1186000"
    )
    # Another city: never counted for Busan ---------------------------------------------------
    r["R15"] = add_report(
        db, "INVESTIGATION", "SUBMITTED", p["inv_x"], X1, kst("2026-04-05 10:00"), areas=[("5000", None, "PLASTIC")]
    )
    r["R16"] = add_report(
        db,
        "CLEANING",
        "SUBMITTED",
        p["clean_x"],
        X1,
        kst("2026-04-05 11:00"),
        team=team_x,
        areas=[(None, "999", "PLASTIC")],
    )
    db.add(Contribution(report_id=r["R16"].id, user_id=p["vol_x"].id, hours=Decimal("7")))
    r["R17"] = add_report(db, "COLLECTION_REQUEST", "SUBMITTED", p["clean_x"], X1, kst("2026-04-05 12:00"))
    d["D10"] = collected(
        r["R17"], "2026-04-05 12:00", "col_x", "888", "2026-04-06 12:00", lat="35.4970000", lng="129.4300000"
    )
    d["D11"] = add(db, r["R17"], "WAITING", kst("2026-04-05 12:00"), lat="35.4970000", lng="129.4300000")
    db.flush()
    return Data(
        city=city, district_a=a, district_b=b, other_city=other_city, district_x=x, beaches=beaches,
        people=people, team=team, reports=r, depots=d,
    )  # fmt: skip


@pytest.fixture
def data(db: Session) -> Data:
    built = build(db)
    from beachsaver.orgs import service as org_service

    root = org_service.ensure_root(db)
    built.people["platform"] = make_user(db, Role.PLATFORM_ADMIN, root)
    for name in ("city_admin", "admin_a", "other_city_admin", "platform", "lead_a", "vol_a", "col_a", "inv_a"):
        built.tokens[name] = token_for(db, built.people[name])
    db.commit()
    return built
