"""Map data: the GeoJSON depots layer (``GET /api/statistics/map?layer=depots``) of about
``10,000 × scale`` features, server time through the whole application (the request handled and
its body received in process, not the client's decoding of it), against one hand-written SQL
statement fetching the same depots. ``ratio`` = service time / SQL time."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from beachsaver.core.time import SEOUL
from bench.common import Bench, main_for
from bench.statistics import city_org_ids

LIVE_DEPOTS = (
    "FROM reports r JOIN collection_depots d ON d.report_id = r.id "
    "WHERE r.status IN ('SUBMITTED','APPROVED') AND r.type = 'COLLECTION_REQUEST' AND r.org_id IN ({ids}) "
    "AND d.status IS NOT NULL AND d.latitude IS NOT NULL AND d.longitude IS NOT NULL"
)


def since_for(b: Bench, features: int, ids: str) -> str | None:
    """The first Seoul day from which about ``features`` depots were requested (None: all of them)."""
    with b.runtime().engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT r.event_at {LIVE_DEPOTS.format(ids=ids)} ORDER BY r.event_at DESC LIMIT 1 OFFSET :n"),
            {"n": features},
        ).first()
    if row is None:
        return None
    value = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(str(row[0]))
    return value.replace(tzinfo=UTC).astimezone(SEOUL).date().isoformat()


def run(b: Bench) -> dict[str, Any]:
    b.dataset()
    headers = b.admin_headers()
    ids = ",".join(str(i) for i in city_org_ids(b))
    since = since_for(b, b.sizes.map_features, ids)
    engine = b.runtime().engine
    lo = f" AND r.event_at >= '{_utc_start(since)}'" if since else ""
    sql = (
        "SELECT d.id, d.status, d.latitude, d.longitude, d.name, d.report_id, r.beach_id, d.collected_amount "
        + LIVE_DEPOTS.format(ids=ids)
        + lo
        + " ORDER BY d.id"
    )

    def baseline() -> Any:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()

    params_query: dict[str, str] = {"layer": "depots"}
    if since:
        params_query["from"] = since
    with b.client() as client:

        def service() -> Any:
            # Server time: the request handled and its body received; the client's decoding of
            # the 2 MB of JSON is not the server's, so it is left out of the timing.
            response = client.get("/api/statistics/map", params=params_query, headers=headers)
            assert response.status_code == 200, response.text
            return response

        (sql_ms, sql_rows), (ms, response) = timed_together(baseline, service, repeat=b.sizes.repeat)
        features = response.json()["data"]["features"]
    params = b.params(
        request="GET /api/statistics/map?layer=depots" + (f"&from={since}" if since else ""),
        target_features=b.sizes.map_features,
        repeat=b.sizes.repeat,
    )
    return b.emit(
        "map",
        params,
        {"features": len(features), "ms": ms, "bytes": len(response.content)},
        {"sql_ms": sql_ms, "sql_rows": len(sql_rows)},
        round(ms / sql_ms, 2) if sql_ms else None,
    )


def timed_together(*fns: Callable[[], Any], repeat: int = 5) -> list[tuple[float, Any]]:
    """Like ``common.timed`` for each function (median ms after one warm-up run, last result),
    the runs interleaved so that a change in the machine's load weighs on every side alike.
    Each run starts with a garbage collection (untimed), so that the one process's collector
    does not bill one side for the objects the other left behind (the baseline's 10,000 rows);
    the collections a run causes itself still count."""
    results = [fn() for fn in fns]
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(max(1, repeat)):
        for i, fn in enumerate(fns):
            gc.collect()
            started = time.perf_counter()
            results[i] = fn()
            times[i].append((time.perf_counter() - started) * 1000)
    return [(round(statistics.median(t), 1), r) for t, r in zip(times, results, strict=True)]


def _utc_start(day: str) -> str:
    start = datetime.fromisoformat(day).replace(tzinfo=SEOUL).astimezone(UTC)
    return start.strftime("%Y-%m-%d %H:%M:%S")


def main() -> None:
    main_for("map", run, __doc__ or "")


if __name__ == "__main__":
    main()
