"""The statistics roll-up (statistics_daily): hand-computed rows, rolled-up answers identical to
the live computation for every group_by, period and filter, changes after the roll-up reflected
at once, idempotent reruns, scope, and the ``rollup`` job."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from beachsaver.core.enums import CleanerType, Role
from beachsaver.core.time import seoul_today
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports.models import Contribution, Credit, Report, ReportArea
from beachsaver.statistics import rollup, sql
from beachsaver.statistics.models import (
    StatisticsDaily,
    StatisticsDirtyDay,
    StatisticsPersonTotal,
    StatisticsRollupState,
)
from beachsaver.users.models import User
from tests.factories import auth, make_image, make_team, make_user, token_for

from .conftest import KST, Data, add_depot, add_report, kst
from .test_rows import APRIL, MARCH, MAY, row, stats

GROUPINGS: list[dict[str, str]] = [
    *({"group_by": "period", "period": p} for p in ("day", "week", "month", "year")),
    *({"group_by": g} for g in ("org", "beach", "team", "user", "trash_type")),
]


def roll(app: Any, today: date | None = None) -> int:
    return rollup.run(app.state.runtime.session_factory, today=today)


@contextmanager
def live_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The statistics computed from the base tables alone (the reference)."""
    with monkeypatch.context() as m:
        m.setattr(rollup, "plan", lambda db, org_ids, start, end, lo, hi: rollup.Plan(rolled=[], live=[(lo, hi)]))
        yield


def answers(client: TestClient, headers: dict[str, str], requests: list[dict[str, Any]]) -> list[Any]:
    out = []
    for params in requests:
        r = client.get("/api/statistics", params=params, headers=headers)
        assert r.status_code == 200, (params, r.text)
        out.append(r.json()["data"])
    return out


def assert_same_as_live(
    client: TestClient, headers: dict[str, str], requests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    served = answers(client, headers, requests)
    with live_only(monkeypatch):
        reference = answers(client, headers, requests)
    for params, got, want in zip(requests, served, reference, strict=True):
        assert got == want, params


def daily_rows(db: Session, **where: Any) -> list[dict[str, Any]]:
    stmt = select(StatisticsDaily)
    for name, value in where.items():
        stmt = stmt.where(getattr(StatisticsDaily, name) == value)
    found = []
    for r in db.execute(stmt).scalars():
        values = {c.name: getattr(r, c.name) for c in StatisticsDaily.__table__.columns if c.name != "seq"}
        found.append({k: v for k, v in values.items() if v not in (0, None) or k in where})
    db.commit()
    return sorted(found, key=_order)


def person_totals(db: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The per-person totals, and the same sums computed from the ``user`` rows: both must be
    equal (checked by ``assert_person_totals``)."""
    t = StatisticsPersonTotal
    figures = ("day_rows", *rollup.FIGURE_COLUMNS)
    found = {
        (r.org_id, r.user_id, r.report_type): tuple(int(getattr(r, c)) for c in figures)
        for r in db.execute(select(t)).scalars()
    }
    db.commit()
    return found


def assert_person_totals(db: Session) -> None:
    d = StatisticsDaily
    who = func.coalesce(d.user_id, 0)
    stmt = (
        select(d.org_id, who, d.report_type, func.count(), *(func.sum(getattr(d, c)) for c in rollup.FIGURE_COLUMNS))
        .where(d.grain == "user")
        .group_by(d.org_id, who, d.report_type)
    )
    expected = {(r[0], r[1], r[2]): tuple(int(v) for v in r[3:]) for r in db.execute(stmt)}
    db.commit()
    assert expected and person_totals(db) == expected


def _order(v: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("user_id", "beach_id", "team_id")
    return (v["grain"], v["org_id"], v["day"], v["report_type"], *(v.get(k) or 0 for k in keys), str(v))


def rolled_through(db: Session) -> date | None:
    value = db.execute(select(StatisticsRollupState.rolled_through)).scalar_one_or_none()
    db.commit()
    return value


def marks(db: Session) -> list[tuple[date, int]]:
    found = [(r.day, r.org_id) for r in db.execute(select(StatisticsDirtyDay)).scalars()]
    db.commit()
    return sorted(found)


# ---- the hand-built dataset ------------------------------------------------------------------------


def test_rolled_up_rows_are_the_hand_computed_figures(app: Any, client: TestClient, data: Data, db: Session) -> None:
    assert roll(app) > 0
    assert rolled_through(db) == seoul_today() - timedelta(days=1)
    assert marks(db) == []  # every mark was before the first roll-up or after it
    a, p = data.district_a.id, data.people
    A1, A2 = data.beaches["A1"].id, data.beaches["A2"].id
    assert daily_rows(db, grain="org", org_id=a) == [
        {"grain": "org", "org_id": a, "day": date(2026, 3, 20), "report_type": "COLLECTION_REQUEST",
         "collection_requests": 1, "depots_waiting": 1},  # R9 and D6 (D5 is dated by its completion)
        {"grain": "org", "org_id": a, "day": date(2026, 3, 31), "report_type": "INVESTIGATION",
         "investigation_reports": 1, "litres_cents": 15050},  # R1: 23:30 in Seoul
        {"grain": "org", "org_id": a, "day": date(2026, 4, 1), "report_type": "COLLECTION_REQUEST",
         "depots_collected": 1, "kg_collected_cents": 1550, "collection_seconds": 1001400,
         "collections_timed": 1},  # D5: 278 h 10 min after its request
        {"grain": "org", "org_id": a, "day": date(2026, 4, 1), "report_type": "INVESTIGATION",
         "investigation_reports": 1, "litres_cents": 2000},  # R2: 00:30 in Seoul
        {"grain": "org", "org_id": a, "day": date(2026, 4, 5), "report_type": "CLEANING",
         "cleaning_reports": 1, "kg_cleaned_cents": 4225, "volunteer_hours_cents": 250},  # R5, vol_a's 2.5 h
        {"grain": "org", "org_id": a, "day": date(2026, 4, 5), "report_type": "COLLECTION_REQUEST",
         "collection_requests": 1, "depots_waiting": 1, "depots_collected": 1, "kg_collected_cents": 4000,
         "collection_seconds": 21600, "collections_timed": 1},  # R8, D2 waiting, D1 after 6 h
        {"grain": "org", "org_id": a, "day": date(2026, 4, 6), "report_type": "CLEANING",
         "cleaning_reports": 1, "kg_cleaned_cents": 1000},  # R6: 08:59 in Seoul
    ]  # fmt: skip
    by_person = daily_rows(db, grain="user", org_id=a, day=date(2026, 4, 5))
    assert by_person == [
        {"grain": "user", "org_id": a, "day": date(2026, 4, 5), "report_type": "CLEANING", "beach_id": A1,
         "user_id": p["lead_a"].id, "cleaning_reports": 1, "kg_cleaned_cents": 2535},  # credited, not the areas
        {"grain": "user", "org_id": a, "day": date(2026, 4, 5), "report_type": "CLEANING", "beach_id": A1,
         "user_id": p["vol_a"].id, "kg_cleaned_cents": 1690, "volunteer_hours_cents": 250},
        {"grain": "user", "org_id": a, "day": date(2026, 4, 5), "report_type": "COLLECTION_REQUEST",
         "beach_id": A1, "user_id": p["lead_a"].id, "collection_requests": 1, "depots_waiting": 1},
        {"grain": "user", "org_id": a, "day": date(2026, 4, 5), "report_type": "COLLECTION_REQUEST",
         "beach_id": A1, "user_id": p["col_a"].id, "depots_collected": 1, "kg_collected_cents": 4000,
         "collection_seconds": 21600, "collections_timed": 1},
    ]  # fmt: skip
    assert daily_rows(db, grain="trash", org_id=a, day=date(2026, 3, 31)) == [
        {"grain": "trash", "org_id": a, "day": date(2026, 3, 31), "report_type": "INVESTIGATION", "beach_id": A1,
         "trash_type": "PLASTIC", "investigation_reports": 1, "litres_cents": 10000},
        {"grain": "trash", "org_id": a, "day": date(2026, 3, 31), "report_type": "INVESTIGATION", "beach_id": A1,
         "trash_type": "STYROFOAM", "investigation_reports": 1, "litres_cents": 5050},
    ]  # fmt: skip
    # the month's rows are the sums of its days
    assert daily_rows(db, grain="org_m", org_id=a, day=date(2026, 4, 1)) == [
        {"grain": "org_m", "org_id": a, "day": date(2026, 4, 1), "report_type": "CLEANING",
         "cleaning_reports": 2, "kg_cleaned_cents": 5225, "volunteer_hours_cents": 250},
        {"grain": "org_m", "org_id": a, "day": date(2026, 4, 1), "report_type": "COLLECTION_REQUEST",
         "collection_requests": 1, "depots_waiting": 1, "depots_collected": 2, "kg_collected_cents": 5550,
         "collection_seconds": 21600 + 1001400, "collections_timed": 2},
        {"grain": "org_m", "org_id": a, "day": date(2026, 4, 1), "report_type": "INVESTIGATION",
         "investigation_reports": 1, "litres_cents": 2000},
    ]  # fmt: skip
    team = daily_rows(db, grain="team", org_id=a, day=date(2026, 4, 1))
    assert [(r["beach_id"], r.get("team_id"), r["report_type"]) for r in team] == [
        (A2, None, "COLLECTION_REQUEST"),
        (A2, None, "INVESTIGATION"),
    ]
    # and the API answers from them with the same figures as before
    assert stats(client, data, group_by="period", period="month") == [MARCH, APRIL, MAY]
    plan = rollup.plan(db, [data.city.id, a, data.district_b.id], None, None, None, None)
    db.commit()
    assert plan.rolled == [(None, seoul_today() - timedelta(days=1))]
    assert plan.live == [(sql.kst_start(seoul_today()), None)]


def test_every_grouping_and_filter_matches_live_on_the_hand_built_data(
    app: Any, client: TestClient, data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll(app)
    requests = [
        {**g, **f}
        for g in GROUPINGS
        for f in (
            {},
            {"from": "2026-04-01", "to": "2026-04-05"},
            {"org_id": data.district_a.id},
            {"beach_id": data.beaches["A1"].id},
            {"type": "CLEANING"},
            {"type": "COLLECTION_REQUEST", "from": "2026-03-25"},
        )
    ]
    assert_same_as_live(client, data.h("city_admin"), requests, monkeypatch)


# ---- generated data: rolled-up + live == live -------------------------------------------------------


def _at(rnd: random.Random, day: date, now: datetime) -> datetime:
    """A time of a Seoul day, often close to midnight; never in the future."""
    minutes = rnd.choice([0, 1, 5, 30, 59, 9 * 60, 12 * 60 + 30, 23 * 60 + 30, 23 * 60 + 59, rnd.randrange(1440)])
    at = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=KST).astimezone(UTC)
    return min(at, now - timedelta(minutes=1))


def generate(db: Session, data: Data, *, seed: int = 11, reports: int = 160, days: int = 70) -> None:
    """Random reports of every type and status, areas of every litter type (and none), team and
    solo cleanings with credits and contributions, depots in every state completed early, late or
    back-dated — over ``days`` Seoul days up to now, in both Busan districts and the other city."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    today = seoul_today()
    p = data.people
    b = data.district_b
    vol_b = make_user(db, Role.CLEANER, b, nickname="봉사B", cleaner_type=CleanerType.VOLUNTEER)
    team_b = make_team(db, b, p["clean_b"], [vol_b], name="광안리팀")
    world = [
        (data.beaches["A1"], [p["inv_a"]], [(p["lead_a"], data.team), (p["solo_a"], None)], p["vol_a"], p["col_a"]),
        (data.beaches["A2"], [p["inv_a"]], [(p["lead_a"], data.team), (p["solo_a"], None)], p["vol_a"], p["col_a"]),
        (data.beaches["B1"], [p["inv_b"]], [(p["clean_b"], team_b), (p["clean_b"], None)], vol_b, p["col_b"]),
        (data.beaches["X1"], [p["inv_x"]], [(p["clean_x"], None)], p["vol_x"], p["col_x"]),
    ]
    trash = ["PLASTIC", "STYROFOAM", "FISHING_GEAR", "GLASS", "WOOD", None]
    for _ in range(reports):
        beach, investigators, cleaners, volunteer, collector = rnd.choice(world)
        day = today - timedelta(days=rnd.choice([0, 0, 1, 2, rnd.randrange(days)]))
        at = _at(rnd, day, now)
        status = rnd.choice(["SUBMITTED", "APPROVED", "APPROVED", "REJECTED", "DRAFT"])
        kind = rnd.choice(["INVESTIGATION", "CLEANING", "COLLECTION_REQUEST"])
        submitted = min(at + timedelta(minutes=rnd.choice([0, 5, 600, 3000])), now)
        if kind == "INVESTIGATION":
            areas = [(str(rnd.randrange(1, 5000) / 4), None, rnd.choice(trash)) for _ in range(rnd.randrange(0, 4))]
            report = add_report(db, kind, status, rnd.choice(investigators), beach, at, areas=areas,
                                submitted_at=submitted)  # fmt: skip
        elif kind == "CLEANING":
            author, team = rnd.choice(cleaners)
            areas = [(None, str(rnd.randrange(1, 900) / 4), rnd.choice(trash)) for _ in range(rnd.randrange(0, 3))]
            report = add_report(db, kind, status, author, beach, at, team=team, areas=areas, submitted_at=submitted)
            if team is not None and status != "DRAFT" and rnd.random() < 0.8:
                kg = Decimal(rnd.randrange(0, 4000)) / 100
                db.add(Credit(report_id=report.id, user_id=author.id, weight=Decimal("1.5"), share=Decimal("0.6"),
                              kg=kg))  # fmt: skip
                db.add(Credit(report_id=report.id, user_id=volunteer.id, weight=Decimal(1), share=Decimal("0.4"),
                              kg=(kg * 2 / 3).quantize(Decimal("0.01"))))  # fmt: skip
            for who in (author, volunteer):
                if rnd.random() < 0.7:
                    hours = rnd.choice([None, Decimal("0.5"), Decimal("2.25"), Decimal(rnd.randrange(1, 9))])
                    db.add(Contribution(report_id=report.id, user_id=who.id, hours=hours))
        else:
            author, team = rnd.choice(cleaners)
            report = add_report(db, kind, status, author, beach, at, team=team, submitted_at=submitted)
            for _ in range(rnd.randrange(0, 4)):
                state = None if status == "DRAFT" else rnd.choice(["WAITING", "IN_ROUTE", "ISSUE", "COMPLETED"])
                created = min(at + timedelta(minutes=rnd.choice([0, 1, 700])), now)
                completed = None
                if state == "COMPLETED":
                    completed = min(created + timedelta(hours=rnd.choice([-30, 0.5, 5, 23, 49, 200])), now)
                add_depot(db, report, state, created, collector=collector if state else None,
                          kg=rnd.choice([None, "12.5", "40", "0.01"]) if completed else None,
                          completed=completed)  # fmt: skip
    # reports without a beach
    for status in ("SUBMITTED", "APPROVED"):
        at = _at(rnd, today - timedelta(days=rnd.randrange(days)), now)
        db.add(Report(client_id=str(uuid.uuid4()), type="INVESTIGATION", status=status, user_id=p["inv_a"].id,
                      org_id=data.district_a.id, investigation_at=at, event_at=at, submitted_at=at))  # fmt: skip
    db.commit()


def generated_requests(data: Data, today: date) -> list[dict[str, Any]]:
    closed_from, closed_to = (today - timedelta(days=40)).isoformat(), (today - timedelta(days=10)).isoformat()
    filters: list[dict[str, Any]] = [
        {},
        {"from": closed_from, "to": closed_to},
        {"from": (today - timedelta(days=20)).isoformat()},
        {"to": (today - timedelta(days=1)).isoformat()},
        {"from": today.isoformat(), "to": today.isoformat()},
        {"org_id": data.district_a.id},
        {"beach_id": data.beaches["B1"].id},
        *({"type": t} for t in ("INVESTIGATION", "CLEANING", "COLLECTION_REQUEST")),
        {"org_id": data.district_b.id, "type": "CLEANING", "from": closed_from},
    ]
    return [{**g, **f} for g in GROUPINGS for f in filters]


def test_rolled_up_answers_equal_live_on_generated_data(
    app: Any, client: TestClient, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(db, data)
    today = seoul_today()
    requests = generated_requests(data, today)
    city, platform = data.h("city_admin"), data.h("platform")
    with live_only(monkeypatch):
        before = answers(client, city, requests)
    assert roll(app) > 0
    count = db.execute(select(func.count()).select_from(StatisticsDaily)).scalar_one()
    db.commit()
    assert count > 0
    assert_person_totals(db)
    assert answers(client, city, requests) == before
    assert_same_as_live(client, platform, [{**g} for g in GROUPINGS] + [{"org_id": data.other_city.id}], monkeypatch)

    # changes to closed days after the roll-up, through the ORM: they are marked, computed
    # live at once, and rolled up again by the next run
    db.expire_all()
    live = list(db.execute(select(Report).where(Report.status.in_(["SUBMITTED", "APPROVED"]))).scalars())
    old = [r for r in live if r.event_at is not None and r.event_at < sql.kst_start(today - timedelta(days=3))]
    rnd = random.Random(5)
    rejected, moved, edited = rnd.sample(old, 3)
    rejected.status = "REJECTED"
    moved.event_at = moved.event_at - timedelta(days=9)
    area = db.execute(select(ReportArea).join(Report).where(Report.id.in_([r.id for r in old]))).scalars().first()
    assert area is not None
    area.trash_amount_kg, area.trash_amount_est_l, area.main_trash_type = Decimal("7.77"), Decimal("3.5"), "GLASS"
    depot = (
        db.execute(
            select(CollectionDepot)
            .join(Report)
            .where(CollectionDepot.status == "WAITING", Report.id.in_([r.id for r in old]))
        )
        .scalars()
        .first()
    )
    assert depot is not None
    depot.status, depot.collector_id = "COMPLETED", data.people["col_a"].id
    depot.collected_amount, depot.collection_completed_at = Decimal("9.99"), depot.created_at + timedelta(days=1)
    edited.org_id, edited.beach_id = data.district_b.id, data.beaches["B1"].id
    db.commit()
    assert len(marks(db)) >= 5
    plan = rollup.plan(db, [data.city.id, data.district_a.id, data.district_b.id], None, None, None, None)
    db.commit()
    assert len(plan.live) > 1 and plan.rolled  # marked days are live, the others still rolled up
    assert_same_as_live(client, city, requests, monkeypatch)

    assert roll(app) > 0
    assert [m for m in marks(db) if m[0] < today] == []
    assert_person_totals(db)
    assert_same_as_live(client, city, requests, monkeypatch)


# ---- changes through the services after the roll-up ----------------------------------------------


def test_service_changes_to_closed_days_show_at_once(
    app: Any, client: TestClient, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll(app)
    p, r, d = data.people, data.reports, data.depots
    admin = data.h("city_admin")
    monthly = {"group_by": "period", "period": "month"}
    daily = {"group_by": "period", "period": "day", "from": "2026-04-05", "to": "2026-04-06"}
    checked = [monthly, daily, {"group_by": "user"}, {"group_by": "beach"}, {"group_by": "trash_type"}]

    # approving a closed day's report changes no figure and marks nothing
    ok = client.patch(f"/api/reports/{r['R12'].id}", json={"status": "APPROVED"}, headers=admin)
    assert ok.status_code == 200, ok.text
    assert marks(db) == []

    # rejecting one takes it out at once
    no = client.patch(f"/api/reports/{r['R1'].id}", json={"status": "REJECTED", "reason": "중복"}, headers=admin)
    assert no.status_code == 200, no.text
    assert marks(db) == [(date(2026, 3, 31), data.district_a.id)]
    march = row(period="2026-03-01", collection_requests=1, depots_waiting=1)
    assert stats(client, data, **monthly) == [march, APRIL, MAY]
    assert_same_as_live(client, admin, checked, monkeypatch)

    # a collector claims D6 (waiting since 20 March) and completes D2 back-dated to 6 April
    col = auth(token_for(db, p["col_a"]))
    photo = make_image(db, p["col_a"], "COLLECTION_COMPLETED")
    db.commit()
    claimed = client.post(f"/api/collection-depots/{d['D6'].id}/claim", headers=col)
    assert claimed.status_code == 200, claimed.text
    done = client.patch(
        f"/api/collection-depots/{d['D2'].id}/complete",
        json={"collected_amount": 21.5, "photo": photo.id, "collection_completed_at": "2026-04-06T10:00:00+09:00"},
        headers=col,
    )
    assert done.status_code == 200, done.text
    march = row(period="2026-03-01", collection_requests=1)
    april = {**APRIL, "depots_waiting": 0, "depots_collected": 3, "kg_collected": 77.0}
    april["avg_hours_to_collection"] = round((6 * 3600 + 1001400 + 22 * 3600) / (3 * 3600), 2)
    assert stats(client, data, **monthly) == [march, april, MAY]
    days = stats(client, data, **daily)
    assert [(x["period"], x["depots_waiting"], x["depots_collected"]) for x in days] == [
        ("2026-04-05", 0, 1),
        ("2026-04-06", 0, 1),
    ]
    assert_same_as_live(client, admin, checked, monkeypatch)

    # a report written today about a closed day (submitted at once), and a draft about another
    # closed day submitted later
    inv = auth(token_for(db, p["inv_a"]))
    db.commit()
    area = {"area_name": "A", "start_latitude": 35.1581, "start_longitude": 129.159, "end_latitude": 35.159,
            "end_longitude": 129.162, "trash_amount_est_l": 40, "main_trash_type": "METAL"}  # fmt: skip
    body = {"type": "INVESTIGATION", "beach_id": data.beaches["A2"].id, "areas": [area]}
    sent_body = {**body, "client_id": str(uuid.uuid4()), "investigation_at": "2026-04-02T09:00:00+09:00"}
    sent = client.post("/api/reports", json=sent_body, headers=inv)
    assert sent.status_code == 201, sent.text
    draft_body = {
        **body,
        "client_id": str(uuid.uuid4()),
        "is_draft": True,
        "investigation_at": "2026-03-30T09:00:00+09:00",
    }
    draft = client.post("/api/reports", json=draft_body, headers=inv)
    assert draft.status_code == 201, draft.text
    roll(app)
    assert marks(db) == []
    submitted = client.patch(f"/api/reports/{draft.json()['data']['id']}", json={"status": "SUBMITTED"}, headers=inv)
    assert submitted.status_code == 200, submitted.text
    got = stats(client, data, **monthly)
    assert (got[0]["investigation_reports"], got[0]["litres_estimated"]) == (1, 40.0)
    assert (got[1]["investigation_reports"], got[1]["litres_estimated"]) == (3, 360.0)
    assert_same_as_live(client, admin, checked, monkeypatch)


def test_worker_becoming_a_volunteer_and_bulk_loads(
    app: Any, client: TestClient, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll(app)
    admin = data.h("city_admin")
    checked = [{"group_by": "user"}, {"group_by": "team"}, {"group_by": "period", "period": "month"}]
    # lead_a's 3 hours on R5 become volunteer hours: every day of their contributions is marked
    lead = db.get(User, data.people["lead_a"].id)
    assert lead is not None
    lead.cleaner_type = CleanerType.VOLUNTEER
    db.commit()
    assert marks(db) == [(date(2026, 4, 5), data.district_a.id)]
    rows = {x["user_id"]: x for x in stats(client, data, group_by="user")}
    assert rows[data.people["lead_a"].id]["volunteer_hours"] == 3.0
    assert_same_as_live(client, admin, checked, monkeypatch)

    # rows written without the ORM (a bulk load) carry no mark: the next run finds them by id
    at = kst("2026-04-08 10:00")
    db.execute(
        insert(Report).values(
            client_id=str(uuid.uuid4()), type="CLEANING", status="APPROVED", user_id=data.people["solo_a"].id,
            org_id=data.district_a.id, beach_id=data.beaches["A1"].id, cleaning_at=at, event_at=at,
            submitted_at=at, created_at=at, updated_at=at,
        )
    )  # fmt: skip
    assert marks(db) == [(date(2026, 4, 5), data.district_a.id)]  # nothing new
    db.commit()
    roll(app)
    assert_same_as_live(client, admin, checked, monkeypatch)
    april = stats(client, data, group_by="period", period="month")[1]
    assert april["cleaning_reports"] == APRIL["cleaning_reports"] + 1


# ---- the job: idempotent, bounded, safe against concurrent changes ---------------------------------


def test_reruns_are_idempotent_and_the_job_runs(app: Any, data: Data, db: Session) -> None:
    from typer.testing import CliRunner

    from beachsaver import cli
    from beachsaver.ops import jobs

    first = jobs.run(app.state.runtime, "rollup")
    assert first.outcome == "SUCCESS" and first.rows > 0
    snapshot, totals = daily_rows(db), person_totals(db)
    assert snapshot and totals
    assert_person_totals(db)
    again = jobs.run(app.state.runtime, "rollup")
    assert again.outcome == "SUCCESS" and again.rows == 0 and again.run_id is None
    assert daily_rows(db) == snapshot
    # recomputing days already rolled up replaces their rows, and the totals stay the same
    rollup.roll_days(db, [date(2026, 3, 20) + timedelta(days=i) for i in range(50)])
    db.commit()
    assert daily_rows(db) == snapshot
    assert person_totals(db) == totals
    import beachsaver.cli as cli_module

    with pytest.MonkeyPatch.context() as m:
        m.setattr(cli_module, "_runtime", lambda: app.state.runtime)
        result = CliRunner().invoke(cli.app, ["jobs", "run", "rollup"])
    assert result.exit_code == 0, result.output
    assert "rollup: SUCCESS" in result.output


def test_batches_are_bounded_and_catch_up(app: Any, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollup, "BATCH_REPORTS", 1)
    with app.state.runtime.session_factory() as s:
        first = rollup.roll_batch(s, today=date(2026, 6, 1))
        s.commit()
    # from the first day (20 March) to the end of March: two live reports; the first six days: one
    assert first.days == 6
    assert rolled_through(db) == date(2026, 3, 25)
    assert daily_rows(db, grain="org_m") == []  # March is not complete yet
    assert roll(app, today=date(2026, 6, 1)) > 0
    assert rolled_through(db) == date(2026, 5, 31)
    snapshot = daily_rows(db)
    assert {r["day"] for r in snapshot if r["grain"] == "org_m"} == {date(2026, m, 1) for m in (3, 4, 5)}
    with app.state.runtime.session_factory() as s:
        rollup.reset(s)
        s.commit()
    monkeypatch.setattr(rollup, "ADVANCE_DAYS", 400)
    monkeypatch.setattr(rollup, "BATCH_REPORTS", 10_000)
    assert roll(app, today=date(2026, 6, 1)) > 0
    assert daily_rows(db) == snapshot


def test_a_change_committed_during_a_run_stays_marked(
    app: Any, client: TestClient, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll(app)
    a = data.district_a.id
    with app.state.runtime.session_factory() as s:
        rollup.mark_dirty(s, a, date(2026, 4, 5))
        s.commit()
    original = rollup.write_rows

    def racing(s: Session, days: list[date]) -> int:
        rows = original(s, days)
        # as if a writer committed a change to that day after the run read the marks
        rollup.mark_dirty(s, a, date(2026, 4, 5))
        return rows

    monkeypatch.setattr(rollup, "write_rows", racing)
    with app.state.runtime.session_factory() as s:
        result = rollup.roll_batch(s)
        s.commit()
    assert result.days == 1 and result.marks_cleared == 1
    assert marks(db) == [(date(2026, 4, 5), a)]  # the later mark survives
    plan = rollup.plan(db, [a], None, None, None, None)
    db.commit()
    assert (sql.kst_start(date(2026, 4, 5)), sql.kst_start(date(2026, 4, 6))) in plan.live
    monkeypatch.setattr(rollup, "write_rows", original)
    roll(app)
    assert marks(db) == []


def test_plan_serves_clean_closed_days_and_computes_the_rest(db: Session, data: Data) -> None:
    a, x = data.district_a.id, data.district_x.id
    db.execute(delete(StatisticsDirtyDay))  # the fixture's own marks
    db.add(StatisticsRollupState(id=1, rolled_through=date(2026, 4, 30)))
    for day, org in ((date(2026, 4, 3), a), (date(2026, 4, 4), a), (date(2026, 4, 10), a), (date(2026, 4, 12), x)):
        rollup.mark_dirty(db, org, day)
    db.flush()
    lo, hi = sql.kst_range(date(2026, 4, 1), None)
    plan = rollup.plan(db, [a], date(2026, 4, 1), None, lo, hi)
    assert plan.rolled == [
        (date(2026, 4, 1), date(2026, 4, 2)),
        (date(2026, 4, 5), date(2026, 4, 9)),
        (date(2026, 4, 11), date(2026, 4, 30)),
    ]
    assert plan.live == [
        (sql.kst_start(date(2026, 4, 3)), sql.kst_start(date(2026, 4, 5))),
        (sql.kst_start(date(2026, 4, 10)), sql.kst_start(date(2026, 4, 11))),
        (sql.kst_start(date(2026, 5, 1)), None),
    ]
    # a range ending before the watermark has no live tail; one after it is all live
    lo, hi = sql.kst_range(date(2026, 4, 10), date(2026, 4, 20))
    assert rollup.plan(db, [a, x], date(2026, 4, 10), date(2026, 4, 20), lo, hi).rolled == [
        (date(2026, 4, 11), date(2026, 4, 11)),
        (date(2026, 4, 13), date(2026, 4, 20)),
    ]
    lo, hi = sql.kst_range(date(2026, 5, 2), None)
    assert rollup.plan(db, [a], date(2026, 5, 2), None, lo, hi) == rollup.Plan([], [(lo, hi)], date(2026, 4, 30))
    runs = [(date(2026, 1, d), date(2026, 1, d)) for d in (1, 3, 4, 10, 12)]
    # the two smallest gaps (3→4, then 1→3 before 10→12) are filled
    assert rollup._coarsen(runs, 3) == [
        (date(2026, 1, 1), date(2026, 1, 4)),
        (date(2026, 1, 10), date(2026, 1, 10)),
        (date(2026, 1, 12), date(2026, 1, 12)),
    ]
    assert rollup._coarsen(runs, 5) == runs
    # whole calendar months of a range are read from the monthly rows, the rest by day
    split = rollup.split_months
    assert split(date(2026, 4, 5), date(2026, 6, 10)) == (
        [(date(2026, 4, 5), date(2026, 4, 30)), (date(2026, 6, 1), date(2026, 6, 10))],
        (date(2026, 5, 1), date(2026, 6, 1)),
    )
    assert split(None, date(2026, 4, 30)) == ([], (None, date(2026, 5, 1)))
    assert split(None, date(2026, 4, 29)) == ([(date(2026, 4, 1), date(2026, 4, 29))], (None, date(2026, 4, 1)))
    assert split(date(2026, 4, 1), date(2026, 4, 30)) == ([], (date(2026, 4, 1), date(2026, 5, 1)))
    assert split(date(2026, 4, 2), date(2026, 5, 30)) == ([(date(2026, 4, 2), date(2026, 5, 30))], None)
    db.rollback()


def test_scope_is_respected(
    app: Any, client: TestClient, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll(app)
    token = token_for(db, data.people["other_city_admin"])
    db.commit()
    other = auth(token)
    requests = [{**g} for g in GROUPINGS]
    assert_same_as_live(client, data.h("admin_a"), requests, monkeypatch)
    assert_same_as_live(client, other, requests, monkeypatch)
    users = stats(client, data, who="admin_a", group_by="user")
    district_b = {data.people[k].id for k in ("inv_b", "clean_b", "col_b")}
    assert users and not district_b & {u["user_id"] for u in users}
    x_rows = client.get("/api/statistics", params={"group_by": "org"}, headers=other).json()["data"]
    assert [(r["org_id"], r["investigation_reports"]) for r in x_rows] == [(data.district_x.id, 1)]
    refused = client.get("/api/statistics", params={"org_id": data.district_a.id}, headers=other)
    assert refused.status_code == 404


def test_all_time_by_person_reads_the_per_person_totals(
    app: Any, client: TestClient, data: Data, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll(app)
    admin = data.h("city_admin")
    calls: list[list[Any]] = []
    totals = rollup._person_totals

    def spy(w: Any, stale: list[Any]) -> Any:
        calls.append(stale)
        return totals(w, stale)

    monkeypatch.setattr(rollup, "_person_totals", spy)
    everyone = {"group_by": "user"}
    by_type = {"group_by": "user", "type": "CLEANING"}
    assert_same_as_live(client, admin, [everyone, by_type], monkeypatch)
    assert calls == [[], []]
    # a beach filter or a start date reads the daily rows
    calls.clear()
    assert_same_as_live(
        client,
        admin,
        [{**everyone, "beach_id": data.beaches["A1"].id}, {**everyone, "from": "2026-04-01"}],
        monkeypatch,
    )
    assert calls == []

    # every report of one author rejected: the marked days are read live and their stale daily
    # rows taken off the totals; the author's own group is gone
    author = data.reports["R1"].user_id
    gone = list(
        db.execute(
            select(Report).where(Report.user_id == author, Report.status.in_(["SUBMITTED", "APPROVED"]))
        ).scalars()
    )
    assert gone
    for report in gone:
        report.status = "REJECTED"
    db.commit()
    assert_same_as_live(client, admin, [everyone, by_type], monkeypatch)
    assert len(calls) == 2 and calls[0]  # stale days subtracted
    roll(app)
    assert_person_totals(db)
    assert all(row[0] > 0 for row in person_totals(db).values())  # no empty totals are kept
    calls.clear()
    assert_same_as_live(client, admin, [everyone, by_type], monkeypatch)
    assert calls == [[], []]
