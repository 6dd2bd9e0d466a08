"""The daily statistics roll-up: runs the ``rollup`` job (``beachsaver jobs run rollup``) over the
generated dataset and times it. Reports ``seconds: null`` when the project has no such job.

Figures: ``seconds``, the full build (every day of the generated history rolled up from scratch);
``daily_seconds``, the job's daily work afterwards: advancing the roll-up by one closed day and
recomputing the previous ``DIRTY_DAYS`` days of every organisation (as if each had changed).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from bench.common import Bench, main_for, rollup_registered, run_rollup

DIRTY_DAYS = 7


def daily_run(b: Bench) -> tuple[float, Any]:
    """Mark the last DIRTY_DAYS rolled-up days of every organisation, move the watermark one day
    back, and time the job."""
    from sqlalchemy import select

    from beachsaver.core.db import session_scope
    from beachsaver.orgs.models import Organization
    from beachsaver.statistics import rollup
    from beachsaver.statistics.models import StatisticsRollupState

    with session_scope(b.runtime().session_factory) as db:
        state = db.get(StatisticsRollupState, rollup.STATE_ID)
        assert state is not None and state.rolled_through is not None
        last = state.rolled_through
        for org_id in db.execute(select(Organization.id)).scalars():
            for back in range(1, DIRTY_DAYS + 1):
                rollup.mark_dirty(db, org_id, last - timedelta(days=back))
        state.rolled_through = last - timedelta(days=1)
    started = time.perf_counter()
    result = run_rollup(b)
    return time.perf_counter() - started, result


def run(b: Bench) -> dict[str, Any]:
    info = b.dataset()
    if not rollup_registered():
        return b.emit(
            "rollup",
            b.params(job="rollup", note="no rollup job registered"),
            {"reports": info.reports, "seconds": None},
        )
    started = time.perf_counter()
    result = run_rollup(b)
    wall = time.perf_counter() - started
    assert result is not None
    daily_wall, daily = daily_run(b)
    params = b.params(
        job="rollup",
        job_rows=result.rows,
        wall_s=round(wall, 3),
        outcome=result.outcome,
        daily=f"1 closed day advanced + {DIRTY_DAYS} marked days of every organisation recomputed",
        daily_days=daily.rows,
        daily_wall_s=round(daily_wall, 3),
    )
    figures = {"reports": info.reports, "seconds": round(result.seconds, 3), "daily_seconds": round(daily.seconds, 3)}
    return b.emit("rollup", params, figures)


def main() -> None:
    main_for("rollup", run, __doc__ or "")


if __name__ == "__main__":
    main()
