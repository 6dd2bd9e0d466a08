"""Soak drill (04-quality §3 "Load"): the mixed field workload held against one service for a
while, with no error and flat memory.

The service runs as a subprocess on loopback (demo data on SQLite in a scratch data directory,
the in-process delivery worker on). ``--workers`` simulated field workers (an asyncio/httpx
client in this process) repeat the mix of 04-quality §2 with a short think time:

- view: a report's detail (investigator);
- submit: an investigation report with an area (investigator);
- near: the depots near a point (collector);
- complete: a collector uploads a photo and completes a waiting depot (cleaners file collection
  requests with depots, photos included, whenever the supply of waiting depots runs low).

Every request must get the answer its step expects; anything else (a 5xx, an unexpected 4xx, a
time-out, a refused connection) is an error. The server's resident memory (RSS, from /proc) is
sampled every second. Memory counts as flat when the median RSS of the last tenth of the run is
at most ``--max-growth-mb`` above the median around the half-way mark. The first half is warm-up
(imports, caches, the connection pool). Some memory keeps filling while the database grows under
the writes of the mix: SQLite keeps up to 2 MB of pages per pooled connection (at most 15) and
the C allocator keeps per-thread arenas — bounded, but measured here at about 13 MB over the
second half of a 10-minute run, while a read-only soak (``--mix view=1,near=1``) stays within
1 MB and Python-level allocations (tracemalloc) grow by a few KB per thousand writes. The default
24 MB leaves room for those caches and still fails a leak of about 2 KB per request (the second
half of a 10-minute run makes some 12,000 requests). Runs shorter than 60 s report memory but do
not judge it.

Prints one JSON summary line; exits 1 when there was an error or memory grew too much.

    BEACHSAVER_SOAK_SECONDS=600 .venv/bin/python scripts/soak.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from drillkit import (
    area,
    bearer,
    first_beach,
    instant,
    jpeg_bytes,
    prepare_data_dir,
    running_service,
    service_env,
    sign_in,
    submit_investigation,
)

MIX = (("view", 40), ("submit", 20), ("near", 30), ("complete", 10))
MIN_JUDGED_S = 60


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("BEACHSAVER_SOAK_SECONDS", "600")),
        help="how long the load is held (env BEACHSAVER_SOAK_SECONDS, default 600)",
    )
    parser.add_argument("--workers", type=int, default=8, help="simulated field workers (default 8)")
    parser.add_argument("--think-ms", type=float, default=100, help="mean think time between actions (default 100)")
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=float(os.environ.get("BEACHSAVER_SOAK_MAX_GROWTH_MB", "24")),
        help="allowed RSS growth over the second half (env BEACHSAVER_SOAK_MAX_GROWTH_MB, default 24)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--mix",
        default=",".join(f"{name}={weight}" for name, weight in MIX),
        help="action weights, e.g. view=1,near=1 (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        args.mix = tuple((name, int(weight)) for name, _, weight in (p.partition("=") for p in args.mix.split(",")))
    except ValueError:
        parser.error("--mix takes name=weight pairs")
    unknown = {name for name, _ in args.mix} - {name for name, _ in MIX}
    if unknown:
        parser.error(f"unknown actions in --mix: {', '.join(sorted(unknown))}")
    return args


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def record(self, action: str, seconds: float) -> None:
        self.counts[action] += 1
        self.latencies.setdefault(action, []).append(seconds)

    def error(self, action: str, detail: str) -> None:
        self.errors[action] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{action}: {detail[:300]}")


class Unexpected(Exception):
    pass


def expect(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise Unexpected(
            f"{response.request.method} {response.request.url.path} → {response.status_code} {response.text}"
        )
    return response.json()["data"] if response.headers.get("content-type", "").startswith("application/json") else None


@dataclass
class Shared:
    """What the simulated workers share: tokens, the beach, their reports and waiting depots."""

    tokens: dict[str, str]
    beach: dict[str, Any]
    report_ids: list[int]
    depots: asyncio.Queue[int]
    refilling: asyncio.Lock = field(default_factory=asyncio.Lock)


async def upload(client: httpx.AsyncClient, token: str, image_type: str, seed: int) -> int:
    response = await client.post(
        "/api/images",
        headers=bearer(token),
        files={"file": ("photo.jpg", jpeg_bytes(seed), "image/jpeg")},
        data={"type": image_type},
    )
    return int(expect(response, 201)["id"])


async def refill_depots(client: httpx.AsyncClient, state: Shared, rng: random.Random) -> None:
    """A cleaner files a collection request with three photographed depots."""
    token = state.tokens["cleaner"]
    lat, lng = float(state.beach["latitude"]), float(state.beach["longitude"])
    depots = []
    for i in range(3):
        photo = await upload(client, token, "COLLECTION_DEPOT", rng.randrange(1000))
        depots.append(
            {
                "name": f"집하장 {i + 1}",
                "latitude": round(lat + rng.uniform(-0.002, 0.002), 6),
                "longitude": round(lng + rng.uniform(-0.002, 0.002), 6),
                "photo": photo,
                "estimated_kg": 20,
            }
        )
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "COLLECTION_REQUEST",
        "beach_id": state.beach["id"],
        "confirm_duplicate": True,
        "collection_depots": depots,
    }
    report = expect(await client.post("/api/reports", headers=bearer(token), json=body), 201)
    for depot in report["collection_depots"]:
        state.depots.put_nowait(int(depot["id"]))


async def act(client: httpx.AsyncClient, state: Shared, action: str, rng: random.Random) -> None:
    lat, lng = float(state.beach["latitude"]), float(state.beach["longitude"])
    if action == "view":
        report_id = rng.choice(state.report_ids)
        expect(await client.get(f"/api/reports/{report_id}", headers=bearer(state.tokens["investigator"])), 200)
    elif action == "submit":
        body = {
            "client_id": str(uuid.uuid4()),
            "type": "INVESTIGATION",
            "beach_id": state.beach["id"],
            "investigation_at": instant(rng.randrange(5, 600)),
            "weather": "CLOUDY",
            "confirm_duplicate": True,
            "areas": [area(lat + rng.uniform(-0.001, 0.001), lng, trash_amount_est_l=rng.randrange(1, 500))],
        }
        report = expect(await client.post("/api/reports", headers=bearer(state.tokens["investigator"]), json=body), 201)
        if len(state.report_ids) < 500:
            state.report_ids.append(int(report["id"]))
    elif action == "near":
        params = {"near": f"{lat + rng.uniform(-0.01, 0.01):.6f},{lng + rng.uniform(-0.01, 0.01):.6f}", "size": 20}
        expect(
            await client.get("/api/collection-depots", headers=bearer(state.tokens["collector"]), params=params), 200
        )
    elif action == "complete":
        if state.depots.qsize() < 2:
            async with state.refilling:
                if state.depots.qsize() < 2:
                    await refill_depots(client, state, rng)
        depot_id = state.depots.get_nowait()
        token = state.tokens["collector"]
        photo = await upload(client, token, "COLLECTION_COMPLETED", rng.randrange(1000))
        body = {"collected_amount": round(rng.uniform(5, 40), 2), "photo": photo}
        expect(await client.patch(f"/api/collection-depots/{depot_id}/complete", headers=bearer(token), json=body), 200)


async def worker(
    index: int,
    base_url: str,
    state: Shared,
    stats: Stats,
    deadline: float,
    think_s: float,
    seed: int,
    mix: tuple[tuple[str, int], ...] = MIX,
) -> None:
    rng = random.Random(seed * 1000 + index)
    actions, weights = zip(*mix, strict=True)
    # Each worker starts with one of every step (in a rotated order), then follows the mix: even
    # a run of a few seconds exercises the whole workload.
    first = list(actions[index % len(actions) :] + actions[: index % len(actions)])

    async def count(response: httpx.Response) -> None:
        stats.requests += 1

    async with httpx.AsyncClient(base_url=base_url, timeout=30, event_hooks={"response": [count]}) as client:
        while time.monotonic() < deadline:
            action = first.pop(0) if first else rng.choices(actions, weights)[0]
            started = time.monotonic()
            try:
                await act(client, state, action, rng)
                stats.record(action, time.monotonic() - started)
            except (Unexpected, httpx.HTTPError, KeyError, ValueError) as exc:
                stats.error(action, f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(min(rng.expovariate(1 / think_s), think_s * 10) if think_s > 0 else 0)


async def sample_memory(pid: int, deadline: float, samples: list[tuple[float, float]], start: float) -> None:
    while time.monotonic() < deadline:
        value = rss_mb(pid)
        if value is not None:
            samples.append((time.monotonic() - start, value))
        await asyncio.sleep(1.0)


def memory_verdict(samples: list[tuple[float, float]], seconds: float, max_growth_mb: float) -> dict[str, Any]:
    if not samples:
        return {"judged": False, "reason": "no samples"}
    values = [v for _, v in samples]
    mid = [v for t, v in samples if 0.45 * seconds <= t <= 0.55 * seconds] or values[
        len(values) // 2 : len(values) // 2 + 1
    ]
    end = [v for t, v in samples if t >= 0.9 * seconds] or values[-1:]
    mid_mb, end_mb = statistics.median(mid), statistics.median(end)
    growth = end_mb - mid_mb
    judged = seconds >= MIN_JUDGED_S
    return {
        "judged": judged,
        "start_mb": round(values[0], 1),
        "mid_mb": round(mid_mb, 1),
        "end_mb": round(end_mb, 1),
        "peak_mb": round(max(values), 1),
        "growth_second_half_mb": round(growth, 1),
        "max_growth_mb": max_growth_mb,
        "flat": growth <= max_growth_mb,
        "samples": len(samples),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_load(base_url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        loop = asyncio.get_running_loop()
        tokens = {
            role: await loop.run_in_executor(None, _sign_in_sync, base_url, role)
            for role in ("investigator", "cleaner", "collector")
        }
        beach = await loop.run_in_executor(None, _first_beach_sync, base_url, tokens["investigator"])
        report_ids = [
            int((await loop.run_in_executor(None, _submit_sync, base_url, tokens["investigator"], beach))["id"])
            for _ in range(3)
        ]
        state = Shared(tokens=tokens, beach=beach, report_ids=report_ids, depots=asyncio.Queue())
        await refill_depots(client, state, random.Random(args.seed))
    stats = Stats()
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    deadline = start + args.seconds
    think_s = args.think_ms / 1000
    await asyncio.gather(
        sample_memory(pid, deadline, samples, start),
        *(worker(i, base_url, state, stats, deadline, think_s, args.seed, args.mix) for i in range(args.workers)),
    )
    elapsed = time.monotonic() - start
    actions_done = sum(stats.counts.values())
    all_latencies = [x for values in stats.latencies.values() for x in values]
    return {
        "seconds": round(elapsed, 1),
        "actions": dict(stats.counts),
        "actions_per_s": round(actions_done / elapsed, 1) if elapsed else 0.0,
        "requests": stats.requests,
        "requests_per_s": round(stats.requests / elapsed, 1) if elapsed else 0.0,
        "latency_of": "action",
        "p50_ms": round(percentile(all_latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(all_latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(all_latencies, 0.99) * 1000, 1),
        "errors": sum(stats.errors.values()),
        "errors_by_action": dict(stats.errors),
        "error_examples": stats.examples,
        "memory": memory_verdict(samples, args.seconds, args.max_growth_mb),
    }


def _sign_in_sync(base_url: str, role: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return sign_in(client, role)


def _first_beach_sync(base_url: str, token: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return first_beach(client, token)


def _submit_sync(base_url: str, token: str, beach: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return submit_investigation(client, token, beach)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="beachsaver-soak.") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        prepare_data_dir(data_dir)
        env = service_env(data_dir, BEACHSAVER_ACCESS_TTL_S=str(int(args.seconds) + 3600))
        with running_service(data_dir, log_path=work / "service.log", env=env) as service:
            result = asyncio.run(run_load(service.base_url, service.pid, args))
            alive = service.process.poll() is None
            log_tail = service.log_tail(20) if result["errors"] or not alive else ""
    memory = result["memory"]
    failed = bool(result["errors"]) or not alive or (memory.get("judged") and not memory.get("flat"))
    summary = {
        "name": "soak",
        "params": {"seconds": args.seconds, "workers": args.workers, "think_ms": args.think_ms, "mix": dict(args.mix)},
        **result,
        "service_alive": alive,
        "passed": not failed,
    }
    print(json.dumps(summary, ensure_ascii=False))
    if log_tail:
        print(log_tail, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
