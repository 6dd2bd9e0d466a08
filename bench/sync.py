"""Offline sync: an investigator's phone sends ``500 × scale`` investigation reports (with
areas) in calls of at most 500 (``POST /api/reports/sync``), then replays the same batches: the
replay must answer the same ids and add no row. ``seconds`` is the slowest call of the first
pass."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.common import Bench, main_for, mint_tokens

BATCH = 500


def items(beaches: list[tuple[int, float, float]], count: int, rnd: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        beach_id, lat, lng = rnd.choice(beaches)
        at = now - timedelta(days=rnd.uniform(1, 20))
        areas = []
        for position in range(rnd.choice((1, 2, 3))):
            s_lat, s_lng = lat + rnd.uniform(-0.003, 0.003), lng + rnd.uniform(-0.003, 0.003)
            areas.append(
                {
                    "area_name": "ABC"[position] + "구역",
                    "start_latitude": round(s_lat, 6),
                    "start_longitude": round(s_lng, 6),
                    "end_latitude": round(s_lat + rnd.uniform(-0.001, 0.001), 6),
                    "end_longitude": round(s_lng + rnd.uniform(-0.001, 0.001), 6),
                    "trash_amount_est_l": round(rnd.uniform(5, 200), 1),
                    "main_trash_type": rnd.choice(("PLASTIC", "STYROFOAM", "FISHING_GEAR", "MIXED")),
                }
            )
        out.append(
            {
                "client_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "type": "INVESTIGATION",
                "beach_id": beach_id,
                "investigation_at": at.isoformat(),
                "weather": rnd.choice(("SUNNY", "CLOUDY", "WINDY")),
                "disaster_type": "NONE",
                "gps_lat": round(lat, 6),
                "gps_lng": round(lng, 6),
                "areas": areas,
                "confirm_duplicate": True,
            }
        )
    return out


def run(b: Bench) -> dict[str, Any]:
    b.dataset()
    with b.runtime().engine.connect() as conn:
        investigator, org_id = conn.execute(
            text("SELECT id, org_id FROM users WHERE role = 'INVESTIGATOR' AND status = 'ACTIVE' ORDER BY id LIMIT 1")
        ).one()
        beaches = [
            (int(r[0]), float(r[1]), float(r[2]))
            for r in conn.execute(text("SELECT id, latitude, longitude FROM beaches WHERE org_id = :o"), {"o": org_id})
        ]
    token = mint_tokens(b.runtime(), [investigator])[investigator]
    headers = {"Authorization": f"Bearer {token}"}
    total = b.sizes.sync_reports
    rnd = random.Random(6)
    batches = [items(beaches, min(BATCH, total - i), rnd) for i in range(0, total, BATCH)]
    reports_before = b.count("reports")
    with b.client() as client:

        def send(batch: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
            started = time.perf_counter()
            response = client.post("/api/reports/sync", json={"reports": batch}, headers=headers)
            seconds = time.perf_counter() - started
            assert response.status_code == 200, response.text[:2000]
            return seconds, response.json()["data"]

        first = [send(batch) for batch in batches]
        reports_after = b.count("reports")
        replay = [send(batch) for batch in batches]
        reports_replayed = b.count("reports")
    created = [r for _, results in first for r in results]
    replayed = [r for _, results in replay for r in results]
    statuses: dict[str, int] = {}
    for r in created:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    params = b.params(
        request="POST /api/reports/sync (an investigator, INVESTIGATION items with 1-3 areas)",
        calls=len(batches),
        items_per_call=min(BATCH, total),
        first_pass=statuses,
        rows_added=reports_after - reports_before,
        replay_seconds=round(max(s for s, _ in replay), 3),
        replay_statuses=sorted({r["status"] for r in replayed}),
        replay_same_ids=[r["report_id"] for r in created] == [r["report_id"] for r in replayed],
    )
    figures = {
        "reports": total,
        "seconds": round(max(s for s, _ in first), 3),
        "replay_new_rows": reports_replayed - reports_after,
    }
    return b.emit("sync", params, figures)


def main() -> None:
    main_for("sync", run, __doc__ or "")


if __name__ == "__main__":
    main()
