"""Generate a large dataset and time the statistics endpoints (not collected by pytest).

    .venv/bin/python -m tests.statistics.perfgen --url mysql://root@127.0.0.1:3306/test --reports 100000

Creates a fresh database ``bs_perf_<n>`` (MariaDB) or file (SQLite), fills it with Busan-like
data — 8 districts, 80 beaches, 560 workers, 5 years of reports with areas, credits,
contributions and depots — and prints one JSON object of timings: the service's city-wide
monthly breakdown against one hand-written SQL aggregate over the base report tables, the other
breakdowns, the maps, the dashboard, and a 100,000-row Excel export.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from beachsaver.core.db import make_engine
from beachsaver.core.migrate import upgrade

YEARS = 5
DISTRICTS = 8
BEACHES_PER_DISTRICT = 10
TRASH = ["PLASTIC", "STYROFOAM", "FISHING_GEAR", "GLASS", "METAL", "WOOD", "MIXED"]


def _fresh_url(base: str, reports: int, tmp: Path) -> str:
    if base.startswith("sqlite"):
        path = tmp / f"perf-{reports}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from tests.conftest import create_mysql_database, drop_mysql_database

    name = f"bs_perf_{reports}"
    drop_mysql_database(base, name)
    return create_mysql_database(base, name)


def generate(engine: Engine, n_reports: int, seed: int = 7) -> dict[str, Any]:
    """Bulk inserts with explicit ids (Core, executemany)."""
    from beachsaver.beaches.models import Beach
    from beachsaver.depots.models import CollectionDepot
    from beachsaver.orgs.models import Organization
    from beachsaver.reports.models import Contribution, Credit, Report, ReportArea
    from beachsaver.teams.models import Team
    from beachsaver.users.models import User

    rnd = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365 * YEARS)
    span_s = int((now - start).total_seconds())
    orgs = [{"id": 1, "name": "Beach-Saver", "code": "PLATFORM", "type": "PLATFORM", "parent_id": None, "path": "/1/"}]
    orgs.append({"id": 2, "name": "부산광역시", "code": "BSJ001", "type": "CITY", "parent_id": 1, "path": "/1/2/"})
    districts = list(range(3, 3 + DISTRICTS))
    for d in districts:
        orgs.append(
            {
                "id": d,
                "name": f"구{d}",
                "code": f"BSJ001-D{d}",
                "type": "DISTRICT",
                "parent_id": 2,
                "path": f"/1/2/{d}/",
            }
        )
    beaches, users, teams = [], [], []
    beach_of: dict[int, list[int]] = {}
    workers: dict[int, dict[str, list[int]]] = {}
    uid = 100
    for d in districts:
        beach_of[d] = []
        for i in range(BEACHES_PER_DISTRICT):
            bid = len(beaches) + 1
            beach_of[d].append(bid)
            beaches.append(
                {
                    "id": bid,
                    "org_id": d,
                    "beach_name": f"해변{bid}",
                    "si": "부산",
                    "gu_gun": f"구{d}",
                    "dong_eub": "동",
                    "workplace": "사무소",
                    "latitude": Decimal("35.0") + Decimal(i) / 100,
                    "longitude": Decimal("129.0") + Decimal(d) / 100,
                }
            )
        workers[d] = {"INVESTIGATOR": [], "CLEANER": [], "VOLUNTEER": [], "COLLECTOR": []}
        for role, count in (("INVESTIGATOR", 20), ("CLEANER", 30), ("VOLUNTEER", 10), ("COLLECTOR", 10)):
            for _ in range(count):
                uid += 1
                workers[d][role].append(uid)
                users.append(
                    {
                        "id": uid,
                        "system_id": f"S{uid}",
                        "nickname": f"작업자{uid}",
                        "role": "CLEANER" if role == "VOLUNTEER" else role,
                        "org_id": d,
                        "status": "ACTIVE",
                        "cleaner_type": "VOLUNTEER"
                        if role == "VOLUNTEER"
                        else ("REGULAR" if role == "CLEANER" else None),
                        "phone_enc": b"x",
                        "phone_hash": f"h{uid}",
                        "phone_last4": "0000",
                        "live": True,
                        "preferences": {},
                    }
                )
        for t in range(8):
            teams.append(
                {"id": len(teams) + 1, "org_id": d, "name": f"팀{d}-{t}", "leader_id": workers[d]["CLEANER"][t]}
            )
    reports, areas, depots, contributions, credits = [], [], [], [], []
    area_id = depot_id = contribution_id = credit_id = 0
    for rid in range(1, n_reports + 1):
        d = rnd.choice(districts)
        kind = rnd.random()
        rtype = "INVESTIGATION" if kind < 0.35 else ("CLEANING" if kind < 0.75 else "COLLECTION_REQUEST")
        roll = rnd.random()
        status = "APPROVED" if roll < 0.6 else "SUBMITTED" if roll < 0.9 else "REJECTED" if roll < 0.95 else "DRAFT"
        at = start + timedelta(seconds=rnd.randrange(span_s))
        team_id = None
        if rtype == "INVESTIGATION":
            author = rnd.choice(workers[d]["INVESTIGATOR"])
        else:
            team_index = rnd.randrange(9)
            if team_index < 8:
                team = teams[(d - 3) * 8 + team_index]
                team_id, author = team["id"], team["leader_id"]
            else:
                author = rnd.choice(workers[d]["CLEANER"])
        live = status != "DRAFT"
        reports.append(
            {
                "id": rid,
                "client_id": f"{rid:036d}",
                "type": rtype,
                "status": status,
                "user_id": author,
                "team_id": team_id,
                "beach_id": rnd.choice(beach_of[d]),
                "org_id": d,
                "event_at": at if live else None,
                "submitted_at": at if live else None,
                "created_at": at,
                "updated_at": at,
            }
        )
        if rtype in ("INVESTIGATION", "CLEANING"):
            for position in range(2):
                area_id += 1
                amount = Decimal(rnd.randrange(100, 50000)) / 100
                areas.append(
                    {
                        "id": area_id,
                        "report_id": rid,
                        "position": position,
                        "area_name": "A",
                        "trash_amount_est_l": amount if rtype == "INVESTIGATION" else None,
                        "trash_amount_kg": amount if rtype == "CLEANING" else None,
                        "main_trash_type": rnd.choice(TRASH),
                    }
                )
        if rtype == "CLEANING" and team_id is not None and live:
            volunteer = rnd.choice(workers[d]["VOLUNTEER"])
            for user, weight in ((author, Decimal("1.5")), (volunteer, Decimal(1))):
                credit_id += 1
                share = weight / Decimal("2.5")
                kg = Decimal(rnd.randrange(100, 5000)) / 100
                credits.append(
                    {"id": credit_id, "report_id": rid, "user_id": user, "weight": weight, "share": share, "kg": kg}
                )
                contribution_id += 1
                contributions.append(
                    {"id": contribution_id, "report_id": rid, "user_id": user, "hours": Decimal(rnd.randrange(1, 8)),
                     "created_at": at, "updated_at": at}
                )  # fmt: skip
        if rtype == "COLLECTION_REQUEST":
            for position in range(2):
                depot_id += 1
                state = rnd.random()
                depot_status = None if not live else "COMPLETED" if state < 0.85 else "WAITING" if state < 0.93 else (
                    "IN_ROUTE" if state < 0.97 else "ISSUE")  # fmt: skip
                completed = at + timedelta(hours=rnd.randrange(1, 96)) if depot_status == "COMPLETED" else None
                depots.append(
                    {
                        "id": depot_id,
                        "report_id": rid,
                        "org_id": d,
                        "position": position,
                        "name": "집하장",
                        "latitude": Decimal("35.1") + Decimal(rnd.randrange(1000)) / 10000,
                        "longitude": Decimal("129.1") + Decimal(rnd.randrange(1000)) / 10000,
                        "status": depot_status,
                        "collector_id": rnd.choice(workers[d]["COLLECTOR"]) if depot_status == "COMPLETED" else None,
                        "collected_amount": Decimal(rnd.randrange(100, 20000)) / 100 if completed else None,
                        "collection_completed_at": completed,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
    started = time.perf_counter()
    with engine.begin() as conn:
        for model, rows in (
            (Organization, orgs),
            (Beach, beaches),
            (User, users),
            (Team, teams),
            (Report, reports),
            (ReportArea, areas),
            (Credit, credits),
            (Contribution, contributions),
            (CollectionDepot, depots),
        ):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(model), rows[i : i + 5000])
    return {
        "reports": len(reports),
        "areas": len(areas),
        "depots": len(depots),
        "credits": len(credits),
        "contributions": len(contributions),
        "insert_s": round(time.perf_counter() - started, 1),
    }


def timed(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    """Median wall time in ms (after one warm-up run) and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), result


def baseline_sql(dialect: str, org_ids: list[int]) -> str:
    ids = ",".join(str(i) for i in org_ids)
    month = (
        "strftime('%Y-%m-01', r.event_at, '+9 hours')"
        if dialect == "sqlite"
        else "DATE_FORMAT(DATE_ADD(r.event_at, INTERVAL 9 HOUR), '%Y-%m-01')"
    )
    return (
        f"SELECT {month} AS m, r.type, COUNT(DISTINCT r.id), SUM(a.trash_amount_est_l), SUM(a.trash_amount_kg) "
        f"FROM reports r LEFT JOIN report_areas a ON a.report_id = r.id "
        f"WHERE r.status IN ('SUBMITTED','APPROVED') AND r.org_id IN ({ids}) GROUP BY m, r.type"
    )


def measure(url: str, tmp: Path) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from beachsaver.app import create_app
    from beachsaver.core.enums import Role
    from beachsaver.orgs.models import Organization
    from beachsaver.statistics import export
    from tests.conftest import make_settings
    from tests.factories import make_user, token_for

    app = create_app(make_settings(url, tmp), run_startup=False)
    figures: dict[str, Any] = {}
    with TestClient(app) as client:
        with app.state.runtime.session_factory() as db:
            admin = make_user(db, Role.CITY_ADMIN, db.get(Organization, 2))
            token = token_for(db, admin)
            db.commit()
        headers = {"Authorization": f"Bearer {token}"}
        engine = app.state.runtime.engine
        org_ids = [2, *range(3, 3 + DISTRICTS)]

        def run_baseline() -> Any:
            with engine.connect() as conn:
                return conn.execute(text(baseline_sql(engine.dialect.name, org_ids))).all()

        def get(path: str, **params: Any) -> Callable[[], Any]:
            def call() -> Any:
                r = client.get(path, params=params, headers=headers)
                assert r.status_code == 200, r.text
                return r

            return call

        figures["baseline_single_sql_ms"], _ = timed(run_baseline)
        figures["monthly_city_ms"], r = timed(get("/api/statistics", group_by="period", period="month"))
        figures["monthly_rows"] = len(r.json()["data"])
        figures["ratio_to_baseline"] = round(figures["monthly_city_ms"] / figures["baseline_single_sql_ms"], 2)
        for group_by in ("org", "beach", "team", "user", "trash_type"):
            figures[f"{group_by}_ms"], _ = timed(get("/api/statistics", group_by=group_by), repeat=3)
        figures["day_one_year_ms"], _ = timed(
            get("/api/statistics", group_by="period", period="day", **{"from": "2025-01-01", "to": "2025-12-31"}),
            repeat=3,
        )
        figures["export_user_ms"], _ = timed(get("/api/statistics/export", group_by="user"), repeat=3)
        figures["map_litter_ms"], _ = timed(get("/api/statistics/map", layer="litter"), repeat=3)
        figures["map_forecast_ms"], r = timed(get("/api/statistics/map", layer="forecast"), repeat=3)
        figures["forecast_backtest_mape"] = r.json()["data"]["backtest_mape"]
        figures["map_depots_all_ms"], r = timed(get("/api/statistics/map", layer="depots"), repeat=3)
        figures["map_depots_all_features"] = len(r.json()["data"]["features"])
        figures["dashboard_ms"], _ = timed(get("/api/statistics/dashboard"), repeat=3)
        # ~10,000 depot features
        total = figures["map_depots_all_features"]
        days = max(1, int(365 * YEARS * 10000 / max(total, 1)))
        since = (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
        figures["map_depots_10k_ms"], r = timed(get("/api/statistics/map", layer="depots", **{"from": since}))
        figures["map_depots_10k_features"] = len(r.json()["data"]["features"])
    app.state.runtime.engine.dispose()

    # Excel: 100,000 rows through the writer the export endpoint uses
    rows = [
        {
            "user_id": i,
            "nickname": f"작업자{i}",
            **{c: i * 1.5 for c in export.LABELS if c not in ("user_id", "nickname")},
        }
        for i in range(100_000)
    ]
    columns = ["user_id", "nickname", *[c for c in export.LABELS if c.endswith(("reports", "kg_cleaned", "hours"))]]
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    file = export.write_xlsx(rows, columns, "ko")
    size = sum(len(chunk) for chunk in export.stream(file))
    figures["xlsx_100k_rows_ms"] = round((time.perf_counter() - started) * 1000, 1)
    figures["xlsx_100k_bytes"] = size
    figures["xlsx_peak_rss_growth_mb"] = round(
        (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="sqlite:///", help="a MySQL server URL, or sqlite")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="reuse an existing generated database")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bs-perf-"))
    if args.keep and not args.url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        from beachsaver.core.db import normalise_database_url

        url = (
            make_url(normalise_database_url(args.url))
            .set(database=f"bs_perf_{args.reports}")
            .render_as_string(hide_password=False)
        )
        generated: dict[str, Any] = {"reused": True}
    else:
        url = _fresh_url(args.url, args.reports, tmp)
        upgrade(url)
        engine = make_engine(url)
        generated = generate(engine, args.reports)
        if engine.dialect.name == "mysql":
            with engine.connect() as conn:
                for table in ("reports", "report_areas", "collection_depots", "credits", "contributions"):
                    conn.execute(text(f"ANALYZE TABLE {table}"))
        engine.dispose()
    print(json.dumps({"name": "statistics", "params": {"reports": args.reports, "url": url.split("@")[-1]},
                      "generated": generated, "figures": measure(url, tmp)}, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
