"""``beachsaver seed-demo --scale N``: the generated Busan history is consistent with the rules of
the field workflow, seasonal, readable by the service, and topped up rather than duplicated."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from beachsaver.core.db import session_scope
from beachsaver.core.time import SEOUL
from beachsaver.demo import scale, seed
from tests.factories import auth, token_for

REPORTS = 600
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def rows(app: Any, sql: str, **params: Any) -> list[Any]:
    with app.state.runtime.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def near(count: int, target: int) -> bool:
    """The workforce is shared out by district and role, each share rounded and at least 2."""
    return target <= count <= target + 2 * 4 * 8


def generate(app: Any, reports: int = REPORTS) -> scale.ScaleSummary:
    runtime = app.state.runtime
    with session_scope(runtime.session_factory) as db:
        seed.seed_demo(db)
    return scale.generate(runtime, reports, now=NOW)


def test_generated_history(app: Any, client: TestClient, db: Any) -> None:
    """One generation per backend (it is the slow part), then every check on it, then top-ups."""
    first = generate(app)
    check_workflow_rules(app)
    check_seasons_and_years(app)
    check_service_reads(app, client, db)
    check_counts_top_up_and_accounts(app, first)


def check_counts_top_up_and_accounts(app: Any, first: scale.ScaleSummary) -> None:
    assert first.reports == REPORTS
    assert near(first.users, scale.workforce_size(REPORTS))
    assert first.areas > REPORTS * 0.5 and first.depots > REPORTS * 0.2 and first.credits > 0
    generated = rows(app, "SELECT COUNT(*) FROM reports WHERE client_id LIKE :p", p=f"{scale.GENERATED_PREFIX}%")
    assert generated[0][0] == REPORTS
    assert rows(app, "SELECT COUNT(*) FROM report_areas")[0][0] == first.areas
    assert rows(app, "SELECT COUNT(*) FROM collection_depots")[0][0] == first.depots

    again = generate(app)  # the same size again adds nothing
    assert (again.reports, again.users, again.teams) == (0, 0, 0)
    more = generate(app, REPORTS + 200)  # a bigger size tops up
    assert more.reports == 200
    assert rows(app, "SELECT COUNT(*) FROM reports")[0][0] == REPORTS + 200
    assert len({r[0] for r in rows(app, "SELECT client_id FROM reports")}) == REPORTS + 200

    # generated accounts: encrypted phones that decrypt and hash like any other, unique system ids
    cipher = app.state.runtime.cipher
    accounts = rows(
        app,
        "SELECT system_id, phone_enc, phone_hash, phone_last4, role, cleaner_type FROM users WHERE email LIKE :d",
        d=f"%@{scale.GENERATED_EMAIL_DOMAIN}",
    )
    assert near(len(accounts), scale.workforce_size(REPORTS + 200))
    assert len({a.system_id for a in accounts}) == len(accounts)
    for account in accounts[:50]:
        phone = cipher.decrypt(account.phone_enc)
        assert phone is not None and phone.startswith(scale.PHONE_PREFIX) and len(phone) == 11
        assert cipher.lookup_hash(phone) == account.phone_hash and phone[-4:] == account.phone_last4
    kinds = Counter((a.role, a.cleaner_type) for a in accounts)
    assert {("INVESTIGATOR", None), ("CLEANER", "REGULAR"), ("CLEANER", "VOLUNTEER"), ("COLLECTOR", None)} <= set(kinds)
    # every collector has a vehicle; most are verified
    vehicles = rows(
        app,
        "SELECT v.verified_at FROM vehicle_profiles v JOIN users u ON u.id = v.user_id WHERE u.email LIKE :d",
        d=f"%@{scale.GENERATED_EMAIL_DOMAIN}",
    )
    assert len(vehicles) == kinds[("COLLECTOR", None)]
    assert sum(1 for v in vehicles if v[0] is not None) > len(vehicles) / 2


def check_workflow_rules(app: Any) -> None:
    users = {r.id: r for r in rows(app, "SELECT id, role, org_id, cleaner_type FROM users")}
    beaches = {r.id: r for r in rows(app, "SELECT id, org_id FROM beaches")}
    districts = {r.id for r in rows(app, "SELECT id FROM organizations WHERE type = 'DISTRICT'")}
    teams = {r.id: r for r in rows(app, "SELECT id, org_id, leader_id FROM teams")}
    verified = {r[0] for r in rows(app, "SELECT user_id FROM vehicle_profiles WHERE verified_at IS NOT NULL")}
    reports = {r.id: r for r in rows(app, "SELECT * FROM reports")}
    areas: dict[int, list[Any]] = defaultdict(list)
    for area in rows(app, "SELECT * FROM report_areas ORDER BY report_id, position"):
        areas[area.report_id].append(area)
    statuses = Counter(r.status for r in reports.values())
    assert statuses["APPROVED"] > statuses["SUBMITTED"] > 0 and statuses["REJECTED"] > 0
    types = Counter(r.type for r in reports.values())
    assert all(types[t] > REPORTS * 0.15 for t in ("INVESTIGATION", "CLEANING", "COLLECTION_REQUEST"))

    for r in reports.values():
        assert r.org_id in districts and beaches[r.beach_id].org_id == r.org_id
        author = users[r.user_id]
        assert author.org_id == r.org_id
        live = r.status != "DRAFT"
        assert (r.submitted_at is not None) == live and (r.event_at is not None) == live
        if live:
            assert as_utc(r.event_at) <= NOW
        if r.type == "INVESTIGATION":
            assert author.role == "INVESTIGATOR" and r.team_id is None
            assert r.investigation_at is not None and r.disaster_type is not None
            assert areas[r.id] and all(
                a.trash_amount_est_l is not None and a.trash_amount_kg is None for a in areas[r.id]
            )
        else:
            assert author.role == "CLEANER" and author.cleaner_type == "REGULAR"
            if r.team_id is not None:
                assert teams[r.team_id].leader_id == r.user_id and teams[r.team_id].org_id == r.org_id
        if r.type == "CLEANING":
            assert r.cleaning_at is not None
            assert areas[r.id] and all(
                a.trash_amount_kg is not None and a.trash_amount_est_l is None for a in areas[r.id]
            )
            if r.investigation_report_id is not None:
                followed = reports[r.investigation_report_id]
                assert followed.type == "INVESTIGATION" and followed.beach_id == r.beach_id
                assert followed.claimed_by_team_id == r.team_id
        if r.type == "COLLECTION_REQUEST":
            assert not areas[r.id]
            if r.cleaning_report_id is not None:
                assert reports[r.cleaning_report_id].type == "CLEANING"
        if areas[r.id]:
            expected = sum(
                haversine(
                    float(a.start_latitude), float(a.start_longitude), float(a.end_latitude), float(a.end_longitude)
                )
                for a in areas[r.id]
            )
            assert abs(float(r.coastline_m) - expected) < 0.05 * len(areas[r.id])

    # depots: a status once the request is live; collected by a verified collector of the district
    depots = rows(app, "SELECT * FROM collection_depots")
    assert {d.status for d in depots} >= {"COMPLETED", "WAITING"}
    for d in depots:
        request = reports[d.report_id]
        assert request.type == "COLLECTION_REQUEST" and d.org_id == request.org_id
        assert (d.status is None) == (request.status == "DRAFT")
        if d.status == "COMPLETED":
            assert d.collector_id in verified and users[d.collector_id].org_id == d.org_id
            completed = as_utc(d.collection_completed_at)
            assert as_utc(request.submitted_at) < completed <= NOW
            assert d.collected_amount is not None and Decimal(str(d.collected_amount)) > 0
        elif d.status == "WAITING":
            assert d.collector_id is None and d.collection_completed_at is None

    # credits: the team's members share each live team cleaning report, shares add up to one
    credits: dict[int, list[Any]] = defaultdict(list)
    for c in rows(app, "SELECT * FROM credits"):
        credits[c.report_id].append(c)
    for report_id, shares in credits.items():
        r = reports[report_id]
        assert r.type == "CLEANING" and r.team_id is not None and r.status != "DRAFT"
        assert abs(sum(float(c.share) for c in shares) - 1) < 0.001
        leader = [c for c in shares if c.user_id == teams[r.team_id].leader_id]
        assert len(leader) == 1 and float(leader[0].weight) == 1.5
        total = sum(float(a.trash_amount_kg) for a in areas[report_id])
        assert abs(sum(float(c.kg) for c in shares) - total) < 0.01 * len(shares) + 0.01
    for c in rows(app, "SELECT report_id, user_id FROM contributions"):
        assert users[c.user_id].cleaner_type == "VOLUNTEER" and reports[c.report_id].team_id is not None


def check_seasons_and_years(app: Any) -> None:
    months: Counter[int] = Counter()
    hours: Counter[int] = Counter()
    for (created,) in rows(app, "SELECT event_at FROM reports WHERE event_at IS NOT NULL"):
        local = as_utc(created).astimezone(SEOUL)
        months[local.month] += 1
        hours[local.hour] += 1
    assert months[7] + months[8] > 2.5 * (months[1] + months[2])  # the bathing and typhoon season
    assert set(hours) <= set(range(7, 19))  # daytime work in Seoul
    years = Counter(as_utc(r[0]).year for r in rows(app, "SELECT event_at FROM reports WHERE event_at IS NOT NULL"))
    assert len(years) >= 5 and min(years) >= NOW.year - 5


def check_service_reads(app: Any, client: TestClient, db: Any) -> None:
    from beachsaver.users.models import User

    report = rows(
        app,
        "SELECT r.id, r.user_id FROM reports r WHERE r.type = 'INVESTIGATION' AND r.status = 'APPROVED' "
        "ORDER BY r.id LIMIT 1",
    )[0]
    author = db.execute(select(User).where(User.id == report.user_id)).scalar_one()
    headers = auth(token_for(db, author))
    db.commit()
    response = client.get(f"/api/reports/{report.id}", headers=headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["type"] == "INVESTIGATION" and data["areas"] and data["coastline_m"] > 0
    listed = client.get("/api/reports", headers=headers, params={"size": 100})
    assert listed.status_code == 200 and report.id in [r["id"] for r in listed.json()["data"]]


def test_seed_demo_command_generates_with_scale(app: Any, client: TestClient, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from beachsaver import cli

    monkeypatch.setattr(cli, "_settings", lambda: app.state.settings)
    runner = CliRunner()
    done = runner.invoke(cli.app, ["seed-demo", "--scale", "300"])
    assert done.exit_code == 0, done.output
    assert "generated: 300 reports" in done.output
    again = runner.invoke(cli.app, ["seed-demo", "--scale", "300"])
    assert again.exit_code == 0 and "generated: 0 reports" in again.output
    assert rows(app, "SELECT COUNT(*) FROM reports")[0][0] == 300
