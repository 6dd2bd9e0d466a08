"""Statistics: the city-wide monthly breakdown (``GET /api/statistics?group_by=period&period=month``
as the Busan city admin, through the whole application) against one hand-written SQL aggregate
over the base report tables, on the generated dataset. ``ratio`` = service time / SQL time.

When the project has a statistics roll-up job (``rollup``), it runs first, as it would have
overnight, so the service may serve the closed days from it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bench.common import Bench, main_for, run_rollup, timed


def baseline_sql(dialect: str, org_ids: list[int]) -> str:
    """Reports and litter by Seoul month and type, over the live reports of the city."""
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


def city_org_ids(b: Bench) -> list[int]:
    with b.runtime().engine.connect() as conn:
        city_path = conn.execute(text("SELECT path FROM organizations WHERE type = 'CITY' ORDER BY id")).scalar_one()
        return [
            int(r[0])
            for r in conn.execute(text("SELECT id FROM organizations WHERE path LIKE :p"), {"p": f"{city_path}%"})
        ]


def run(b: Bench) -> dict[str, Any]:
    info = b.dataset()
    rollup = run_rollup(b)
    headers = b.admin_headers()
    engine = b.runtime().engine
    org_ids = city_org_ids(b)
    sql = baseline_sql(engine.dialect.name, org_ids)

    def baseline() -> Any:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()

    with b.client() as client:

        def service() -> Any:
            response = client.get("/api/statistics", params={"group_by": "period", "period": "month"}, headers=headers)
            assert response.status_code == 200, response.text
            return response.json()["data"]

        sql_ms, sql_rows = timed(baseline, b.sizes.repeat)
        ms, rows = timed(service, b.sizes.repeat)
    live = sum(r["investigation_reports"] + r["cleaning_reports"] + r["collection_requests"] for r in rows)
    params = b.params(
        request="GET /api/statistics?group_by=period&period=month (Busan city admin, all time)",
        rows=len(rows),
        live_reports_counted=live,
        repeat=b.sizes.repeat,
        dataset_mb=b.size_mb(),
        rollup="ran first" if rollup is not None else "no rollup job registered: computed live",
        baseline_sql=sql,
    )
    return b.emit(
        "statistics",
        params,
        {"ms": ms, "reports": info.reports},
        {"sql_ms": sql_ms, "sql_rows": len(sql_rows)},
        round(ms / sql_ms, 2) if sql_ms else None,
    )


def main() -> None:
    main_for("statistics", run, __doc__ or "")


if __name__ == "__main__":
    main()
