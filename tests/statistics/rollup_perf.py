"""Time GET /api/statistics live against the roll-up on generated data (not collected by pytest).

    .venv/bin/python -m tests.statistics.rollup_perf --reports 200000
    .venv/bin/python -m tests.statistics.rollup_perf --url mysql://root@127.0.0.1:3306/test --reports 200000

Generates ``perfgen``'s Busan-like data into a fresh database, answers every ``group_by`` city-wide
from the base tables only (no roll-up yet), runs the ``rollup`` job from scratch, answers again
(closed days from ``statistics_daily``, today live), checks that the answers are identical, and
prints one JSON object of median timings in ms.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from beachsaver.core.db import make_engine
from beachsaver.core.migrate import upgrade
from tests.statistics.perfgen import DISTRICTS, baseline_sql, generate, timed

QUERIES: dict[str, dict[str, str]] = {
    "monthly_city": {"group_by": "period", "period": "month"},
    "daily_one_year": {"group_by": "period", "period": "day", "from": "2025-01-01", "to": "2025-12-31"},
    "org": {"group_by": "org"},
    "beach": {"group_by": "beach"},
    "team": {"group_by": "team"},
    "user": {"group_by": "user"},
    "trash_type": {"group_by": "trash_type"},
    "monthly_one_beach": {"group_by": "period", "period": "month", "beach_id": "1"},
    "monthly_cleaning": {"group_by": "period", "period": "month", "type": "CLEANING"},
}


def fresh_url(base: str, reports: int, tmp: Path) -> str:
    if base.startswith("sqlite"):
        return f"sqlite:///{tmp / f'rollup-perf-{reports}.db'}"
    from tests.conftest import create_mysql_database, drop_mysql_database

    name = f"bs_rollup_perf_{reports}"
    drop_mysql_database(base, name)
    return create_mysql_database(base, name)


def measure(url: str, tmp: Path, repeat: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from beachsaver.app import create_app
    from beachsaver.core.enums import Role
    from beachsaver.orgs.models import Organization
    from beachsaver.statistics import rollup
    from beachsaver.statistics.models import StatisticsDaily
    from tests.conftest import make_settings
    from tests.factories import make_user, token_for

    app = create_app(make_settings(url, tmp), run_startup=False)
    figures: dict[str, Any] = {}
    with TestClient(app) as client:
        runtime = app.state.runtime
        with runtime.session_factory() as db:
            admin = make_user(db, Role.CITY_ADMIN, db.get(Organization, 2))
            token = token_for(db, admin)
            db.commit()
        headers = {"Authorization": f"Bearer {token}"}
        engine = runtime.engine

        def get(params: dict[str, str]) -> Callable[[], Any]:
            def call() -> Any:
                r = client.get("/api/statistics", params=params, headers=headers)
                assert r.status_code == 200, r.text
                return r.json()["data"]

            return call

        def run_baseline() -> Any:
            with engine.connect() as conn:
                return conn.execute(text(baseline_sql(engine.dialect.name, [2, *range(3, 3 + DISTRICTS)]))).all()

        figures["baseline_single_sql_ms"], _ = timed(run_baseline, repeat)
        live: dict[str, Any] = {}
        for name, params in QUERIES.items():
            figures[f"live_{name}_ms"], live[name] = timed(get(params), repeat)
        started = time.perf_counter()
        days = rollup.run(runtime.session_factory, budget_s=3600)
        figures["rollup_full_s"] = round(time.perf_counter() - started, 1)
        figures["rollup_days"] = days
        with runtime.session_factory() as db:
            figures["rollup_rows"] = db.execute(select(func.count()).select_from(StatisticsDaily)).scalar_one()
            yesterday = db.execute(select(func.max(StatisticsDaily.day))).scalar_one()
        for name, params in QUERIES.items():
            figures[f"rolled_{name}_ms"], answer = timed(get(params), repeat)
            assert answer == live[name], f"{name}: rolled-up answer differs from the live one"
        figures["identical"] = True
        figures["ratio_rolled_monthly_to_baseline"] = round(
            figures["rolled_monthly_city_ms"] / figures["baseline_single_sql_ms"], 3
        )
        # the nightly case: one closed day recomputed (every report of that day marked)
        with runtime.session_factory() as db:
            started = time.perf_counter()
            rows = rollup.roll_days(db, [yesterday])
            db.commit()
        figures["roll_one_day_ms"] = round((time.perf_counter() - started) * 1000, 1)
        figures["roll_one_day_rows"] = rows
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="sqlite:///", help="a MySQL server URL, or sqlite")
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bs-rollup-perf-"))
    url = fresh_url(args.url, args.reports, tmp)
    upgrade(url)
    engine = make_engine(url)
    generated = generate(engine, args.reports)
    if engine.dialect.name == "mysql":
        with engine.connect() as conn:
            for table in ("reports", "report_areas", "collection_depots", "credits", "contributions"):
                conn.execute(text(f"ANALYZE TABLE {table}"))
    engine.dispose()
    print(
        json.dumps(
            {
                "name": "statistics_rollup",
                "params": {"reports": args.reports, "url": url.split("@")[-1]},
                "generated": generated,
                "figures": measure(url, tmp, args.repeat),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
