"""The load generator, a separate process on loopback: ``python -m bench.loadgen PLAN.json OUT.json``.

A small asyncio HTTP/1.1 client (on uvloop when installed) rather than locust: on a 2-core machine
the generator competes with the service for the CPU, and this one spends a few tens of
microseconds per request. Its own CPU time is reported so that the competition can be judged.

Two modes:

- ``mixed``: every simulated field worker performs one action of the mix, then waits an
  exponential think time (mean ``think_s``, 07 §12), until ``seconds`` have passed. Reporters
  view one of their reports or submit a new one with areas; collectors list the waiting depots
  near them or complete one of those they listed. Each worker starts with a think time of its
  own (exponential, the same mean), so the load is N workers / think_s requests per second from
  the first second: the arrivals of a worker already thinking when the run starts. (Starting
  every worker once, spread uniformly over the first think time, offered half as much again in
  the first ten seconds, up to twice the rate at their end: 1,450 requests instead of 1,000.)
- ``closed``: ``connections`` clients send the same GET back to back (no think time) for
  ``seconds``: the throughput of one endpoint; the first ``warmup_s`` are not counted.

Bounded in count and time: a request times out after 30 s, nothing new starts after ``seconds``.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

REQUEST_TIMEOUT_S = 30.0
#: uvicorn closes idle keep-alive connections after 5 s: reconnect rather than race it.
REUSE_IDLE_S = 4.0


class Connection:
    """One keep-alive HTTP/1.1 connection (Content-Length or chunked bodies)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: application/json"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head.append("Content-Type: application/json")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(payload)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        fresh = self.writer is None or time.monotonic() - self.last_used > REUSE_IDLE_S
        if fresh:
            self.close()
            await self._open()
        try:
            return await self._exchange(raw)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            # a kept-alive connection the server had just closed: nothing was processed
            if fresh or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            self.close()
            await self._open()
            return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            data = b"".join(parts)
        else:
            data = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        self.last_used = time.monotonic()
        return status, data


class Recorder:
    def __init__(self) -> None:
        #: (action, status, milliseconds, seconds from the start of the run to the request's start)
        self.samples: list[tuple[str, int, float, float]] = []
        self.failures: list[str] = []
        self.counting = True
        self.origin = time.perf_counter()

    async def call(
        self, conn: Connection, action: str, method: str, path: str, token: str | None, body: Any = None
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            status, data = await asyncio.wait_for(conn.request(method, path, token, body), REQUEST_TIMEOUT_S)
        except Exception as exc:  # transport failure or timeout: an error of this request
            conn.close()
            status, data = 0, f"{type(exc).__name__}: {exc}".encode()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if self.counting:
            self.samples.append((action, status, round(elapsed_ms, 3), round(started - self.origin, 3)))
            if not 200 <= status < 300 and len(self.failures) < 20:
                self.failures.append(f"{action} {method} {path} -> {status}: {data[:300]!r}")
        return status, data


# ---- the mixed field workload --------------------------------------------------------------------


def near_path(worker: dict[str, Any]) -> str:
    """A collector's list of the waiting depots nearest its home."""
    lat, lng = worker["home"]
    return f"/api/collection-depots?near={lat:.6f},{lng:.6f}&status=WAITING&size=20"


def completion_body(worker: dict[str, Any], collected_amount: float) -> dict[str, Any]:
    """A collector's completion of a depot, at its home, with its photo."""
    lat, lng = worker["home"]
    return {
        "collected_amount": collected_amount,
        "photo": worker["photo"],
        "latitude": round(lat, 6),
        "longitude": round(lng, 6),
    }


def report_body(worker: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    beach_id, lat, lng = worker["beach"]
    at = (datetime.now(UTC) - timedelta(minutes=rnd.uniform(5, 120))).isoformat()
    investigation = worker["report_type"] == "INVESTIGATION"
    areas = []
    for position in range(rnd.choice((1, 2, 3))):
        s_lat, s_lng = lat + rnd.uniform(-0.003, 0.003), lng + rnd.uniform(-0.003, 0.003)
        area: dict[str, Any] = {
            "area_name": "ABC"[position] + "구역",
            "start_latitude": round(s_lat, 6),
            "start_longitude": round(s_lng, 6),
            "end_latitude": round(s_lat + rnd.uniform(-0.001, 0.001), 6),
            "end_longitude": round(s_lng + rnd.uniform(-0.001, 0.001), 6),
            "main_trash_type": rnd.choice(("PLASTIC", "STYROFOAM", "FISHING_GEAR", "MIXED", "CIGARETTE")),
        }
        if investigation:
            area["trash_amount_est_l"] = round(rnd.lognormvariate(3.6, 0.7), 1)
        else:
            area["trash_amount_kg"] = round(rnd.lognormvariate(2.5, 0.7), 1)
            area["bag_count"] = rnd.randrange(1, 8)
        areas.append(area)
    body: dict[str, Any] = {
        # unique across runs: a kept bench database still holds the reports of earlier runs
        "client_id": str(uuid.uuid4()),
        "type": worker["report_type"],
        "beach_id": beach_id,
        "weather": rnd.choice(("SUNNY", "CLOUDY", "WINDY")),
        "gps_lat": round(lat + rnd.uniform(-0.001, 0.001), 6),
        "gps_lng": round(lng + rnd.uniform(-0.001, 0.001), 6),
        "areas": areas,
        "confirm_duplicate": True,
    }
    if investigation:
        body["investigation_at"] = at
        body["disaster_type"] = "NONE"
    else:
        body["cleaning_at"] = at
    return body


async def field_worker(
    plan: dict[str, Any], worker: dict[str, Any], index: int, recorder: Recorder, deadline: float
) -> None:
    rnd = random.Random(plan.get("seed", 1) * 100_003 + index)
    think = float(plan["think_s"])
    conn = Connection(plan["host"], plan["port"])
    token = worker["token"]
    views: list[int] = list(worker.get("views") or [])
    candidates: list[int] = []
    try:
        first = rnd.expovariate(1.0 / think)
        if time.monotonic() + first >= deadline:
            return
        await asyncio.sleep(first)
        while time.monotonic() < deadline:
            if worker["kind"] == "reporter":
                if views and rnd.random() < 0.5:
                    await recorder.call(conn, "view", "GET", f"/api/reports/{rnd.choice(views)}", token)
                else:
                    status, data = await recorder.call(
                        conn, "submit", "POST", "/api/reports", token, report_body(worker, rnd)
                    )
                    if status in (200, 201):
                        views.append(int(json.loads(data)["data"]["id"]))
            else:
                if candidates and rnd.random() < 0.5:
                    depot = candidates.pop(rnd.randrange(len(candidates)))
                    body = completion_body(worker, round(rnd.uniform(20, 300), 1))
                    await recorder.call(
                        conn, "complete", "PATCH", f"/api/collection-depots/{depot}/complete", token, body
                    )
                else:
                    status, data = await recorder.call(conn, "near", "GET", near_path(worker), token)
                    if status == 200:
                        candidates = [int(d["id"]) for d in json.loads(data)["data"]]
            wait = rnd.expovariate(1.0 / think)
            if time.monotonic() + wait >= deadline:
                break
            await asyncio.sleep(wait)
    finally:
        conn.close()


async def mixed(plan: dict[str, Any], recorder: Recorder) -> None:
    deadline = time.monotonic() + float(plan["seconds"])
    await asyncio.gather(
        *(field_worker(plan, worker, i, recorder, deadline) for i, worker in enumerate(plan["workers"]))
    )


# ---- closed loop -----------------------------------------------------------------------------------


async def closed(plan: dict[str, Any], recorder: Recorder) -> float:
    """Returns the measured seconds (after the warm-up)."""
    warmup = float(plan.get("warmup_s", 1.0))
    start = time.monotonic()
    counted_from = start + warmup
    deadline = counted_from + float(plan["seconds"])
    recorder.counting = warmup <= 0

    async def client() -> None:
        conn = Connection(plan["host"], plan["port"])
        try:
            while time.monotonic() < deadline:
                if not recorder.counting and time.monotonic() >= counted_from:
                    recorder.counting = True
                await recorder.call(conn, "detail", "GET", plan["path"], plan.get("token"))
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(int(plan["connections"]))))
    return time.monotonic() - max(counted_from, start)


def main() -> None:
    plan_path, out_path = sys.argv[1], sys.argv[2]
    with open(plan_path, encoding="utf-8") as handle:
        plan = json.load(handle)
    try:
        import uvloop

        uvloop.install()
        loop_name = "uvloop"
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        loop_name = "asyncio"
    recorder = Recorder()
    started = time.monotonic()
    if plan["mode"] == "mixed":
        asyncio.run(mixed(plan, recorder))
        measured = time.monotonic() - started
    else:
        measured = asyncio.run(closed(plan, recorder))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "mode": plan["mode"],
        "loop": loop_name,
        "measured_s": round(measured, 3),
        "wall_s": round(time.monotonic() - started, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "samples": recorder.samples,
        "failures": recorder.failures,
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main()
