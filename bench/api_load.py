"""Field workload under load (04-quality §2, 07 §12).

The service runs as a separate process group (``beachsaver serve --workers N``: uvicorn with
several worker processes on MariaDB, each on a socket of its own, D45; one process on the SQLite
fallback) on the bench database;
the load generator (``bench.loadgen``) is another process on loopback.

1. Mixed workload: ``200 × scale`` simulated field workers for ``60 × scale`` seconds, each
   performing one action then thinking (exponential, mean 10 s). Half are reporters
   (investigators and cleaners) who view one of their reports or submit a new one with one to
   three areas; half are verified collectors who list the waiting depots near them or complete
   one of those. Figures: latency percentiles over every request, requests per second, errors
   (any answer other than 2xx, timeouts and transport failures). ``params.cpu`` says where the
   CPU went meanwhile: ms per answered request in the service processes, MariaDB (when local)
   and the generator, the other jobs' share of the machine, and ``capacity_rps``, the rate at
   which these three alone would use every core (the machine's ceiling for this mix).
2. Report-detail throughput: closed-loop clients read one report (``GET /api/reports/{id}``)
   back to back, first from the service, then from a bare ASGI application (``bench.bare_app``)
   with the same number of processes replaying the statements the service issued for that
   request through the same driver. ``ratio`` = service rps / bare rps.

Each collector gets a cluster of waiting depots of its own near its position (and a completion
photo), so that two collectors never race for one depot: a conflict would be a correct answer of
the service but would count as an error here.
"""

from __future__ import annotations

import json
import math
import pickle
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, select

from bench.common import (
    ROOT,
    Bench,
    Server,
    cpu_seconds,
    free_port,
    machine_cpu_seconds,
    main_for,
    mint_tokens,
    pids_named,
    serve_argv,
)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


# ---- fixtures ----------------------------------------------------------------------------------


def choose_workers(b: Bench, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Reporters (investigators, cleaners) and verified collectors of the generated workforce."""
    from beachsaver.beaches.models import Beach
    from beachsaver.core.enums import CleanerType, Role, UserStatus
    from beachsaver.reports.models import Report
    from beachsaver.users.models import User, VehicleProfile

    notes: list[str] = []
    want_reporters = math.ceil(count / 2)
    want_collectors = count - want_reporters
    runtime = b.runtime()
    with runtime.session_factory() as db:
        beaches: dict[int, list[tuple[int, float, float]]] = {}
        for beach in db.execute(select(Beach.id, Beach.org_id, Beach.latitude, Beach.longitude)):
            beaches.setdefault(beach.org_id, []).append((beach.id, float(beach.latitude), float(beach.longitude)))
        active = User.status == UserStatus.ACTIVE
        investigators = list(
            db.execute(select(User.id, User.org_id).where(active, User.role == Role.INVESTIGATOR).order_by(User.id))
        )
        cleaners = list(
            db.execute(
                select(User.id, User.org_id)
                .where(active, User.role == Role.CLEANER, User.cleaner_type == CleanerType.REGULAR)
                .order_by(User.id)
            )
        )
        collectors = list(
            db.execute(
                select(User.id, User.org_id)
                .join(VehicleProfile, VehicleProfile.user_id == User.id)
                .where(active, User.role == Role.COLLECTOR, VehicleProfile.verified_at.is_not(None))
                .order_by(User.id)
            )
        )
        rnd = random.Random(12)
        rnd.shuffle(investigators)
        rnd.shuffle(cleaners)
        rnd.shuffle(collectors)
        investigator_ids = {int(r[0]) for r in investigators}
        pool = [x for pair in zip(investigators, cleaners, strict=False) for x in pair]
        pool = [(u, o) for u, o in pool if o in beaches]
        if len(pool) < want_reporters:
            notes.append(f"only {len(pool)} distinct reporter accounts for {want_reporters} reporters: shared")
        if len(collectors) < want_collectors:
            notes.append(f"only {len(collectors)} distinct collector accounts for {want_collectors} collectors: shared")
        reporters = []
        for i in range(want_reporters):
            user_id, org_id = pool[i % len(pool)]
            views = list(
                db.execute(
                    select(Report.id)
                    .where(Report.user_id == user_id, Report.deleted_at.is_(None))
                    .order_by(Report.id.desc())
                    .limit(20)
                ).scalars()
            )
            role = "INVESTIGATION" if user_id in investigator_ids else "CLEANING"
            reporters.append(
                {
                    "kind": "reporter",
                    "user_id": user_id,
                    "org_id": org_id,
                    "report_type": role,
                    "beach": list(rnd.choice(beaches[org_id])),
                    "views": views,
                }
            )
        chosen = [
            {
                "kind": "collector",
                "user_id": collectors[i % len(collectors)][0],
                "org_id": collectors[i % len(collectors)][1],
            }
            for i in range(want_collectors)
        ]
    return reporters, chosen, notes


def prepare_collectors(b: Bench, collectors: list[dict[str, Any]], depots_each: int) -> None:
    """A completion photo and a cluster of waiting depots (one live request) for each collector."""
    from beachsaver.beaches.models import Beach
    from beachsaver.core.db import session_scope
    from beachsaver.core.time import utcnow
    from beachsaver.depots.models import CollectionDepot
    from beachsaver.images.models import Image
    from beachsaver.reports.models import Report
    from beachsaver.users.models import User

    runtime = b.runtime()
    now = utcnow()
    with session_scope(runtime.session_factory) as db:
        anchors: dict[int, tuple[int, float, float]] = {}
        authors: dict[int, int] = {}
        for beach in db.execute(select(Beach.id, Beach.org_id, Beach.latitude, Beach.longitude).order_by(Beach.id)):
            anchors.setdefault(beach.org_id, (beach.id, float(beach.latitude), float(beach.longitude)))
        for user_id, org_id in db.execute(
            select(User.id, User.org_id).where(User.role == "CLEANER", User.status == "ACTIVE").order_by(User.id)
        ):
            authors.setdefault(org_id, user_id)
        slot: dict[int, int] = {}
        depots: list[dict[str, Any]] = []
        prepared: dict[int, dict[str, Any]] = {}
        for worker in collectors:
            user_id, org_id = worker["user_id"], worker["org_id"]
            if user_id in prepared:  # a shared account (tiny scales)
                worker.update(home=prepared[user_id]["home"], photo=prepared[user_id]["photo"])
                continue
            beach_id, lat, lng = anchors[org_id]
            n = slot.get(org_id, 0)
            slot[org_id] = n + 1
            radius = 0.02 + 0.01 * (n // 12)  # rings of twelve positions 2 km, 3 km... from the beach
            angle = 2 * math.pi * (n % 12) / 12
            home = (lat + radius * math.cos(angle), lng + radius * math.sin(angle))
            photo = Image(
                type="COLLECTION_COMPLETED",
                storage_key=f"bench/{user_id}-{int(time.time() * 1000)}.jpg",
                content_type="image/jpeg",
                width=1280,
                height=960,
                bytes=180_000,
                sha256="0" * 64,
                uploaded_by=user_id,
                org_id=org_id,
                created_at=now,
            )
            request = Report(
                client_id=f"bench-{user_id}-{int(time.time() * 1000)}"[:36],
                type="COLLECTION_REQUEST",
                status="SUBMITTED",
                user_id=authors[org_id],
                org_id=org_id,
                beach_id=beach_id,
                event_at=now - timedelta(hours=2),
                submitted_at=now - timedelta(hours=2),
                created_at=now - timedelta(hours=2),
                updated_at=now - timedelta(hours=2),
            )
            db.add_all([photo, request])
            db.flush()
            rnd = random.Random(user_id)
            for position in range(depots_each):
                depots.append(
                    {
                        "report_id": request.id,
                        "org_id": org_id,
                        "position": position,
                        "name": f"집하장 {position + 1}",
                        "latitude": Decimal(f"{home[0] + rnd.uniform(-0.0003, 0.0003):.7f}"),
                        "longitude": Decimal(f"{home[1] + rnd.uniform(-0.0003, 0.0003):.7f}"),
                        "estimated_kg": Decimal("120.00"),
                        "status": "WAITING",
                        "request_live": True,
                        "created_at": now - timedelta(hours=2),
                        "updated_at": now - timedelta(hours=2),
                    }
                )
            prepared[user_id] = {"home": list(home), "photo": photo.id}
            worker.update(home=list(home), photo=photo.id)
        for i in range(0, len(depots), 2000):
            db.execute(insert(CollectionDepot), depots[i : i + 2000])


def capture_detail_statements(b: Bench, report_id: int, token: str) -> list[tuple[str, Any]]:
    """The statements the service issues for one report-detail request (the second of two)."""
    from fastapi.testclient import TestClient

    from beachsaver.app import create_app

    app = create_app(b.settings(), run_startup=False)
    captured: list[tuple[str, Any]] = []
    recording = {"on": False}

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if recording["on"]:
            captured.append((statement, parameters))

    engine = app.state.runtime.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get(f"/api/reports/{report_id}", headers=headers).status_code == 200
            recording["on"] = True
            response = client.get(f"/api/reports/{report_id}", headers=headers)
            recording["on"] = False
            assert response.status_code == 200, response.text
    finally:
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
    return captured


# ---- running the generator -----------------------------------------------------------------------


def run_loadgen(b: Bench, plan: dict[str, Any], name: str, timeout_s: float) -> dict[str, Any]:
    plan_path = b.work / f"{name}-plan.json"
    out_path = b.work / f"{name}-out.json"
    plan_path.write_text(json.dumps(plan))
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(plan_path), str(out_path)],
        env=b.process_env(),
        cwd=str(ROOT),
        check=True,
        timeout=timeout_s,
    )
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def closed_loop(b: Bench, port: int, path: str, token: str | None, name: str) -> dict[str, Any]:
    sizes = b.sizes
    plan = {
        "mode": "closed",
        "host": "127.0.0.1",
        "port": port,
        "path": path,
        "token": token,
        "connections": sizes.throughput_connections,
        "seconds": sizes.throughput_s,
        "warmup_s": sizes.warmup_s,
    }
    out = run_loadgen(b, plan, name, sizes.throughput_s + 120)
    ok = [sample[2] for sample in out["samples"] if sample[1] == 200]
    return {
        "rps": round(len(ok) / out["measured_s"], 1) if out["measured_s"] else 0.0,
        "p50_ms": percentile(ok, 50),
        "p99_ms": percentile(ok, 99),
        "errors": len(out["samples"]) - len(ok),
        "generator_cpu_s": out["cpu_s"],
        "seconds": out["measured_s"],
        "failures": out["failures"][:3],
    }


def summarise(samples: list[list[Any]]) -> dict[str, Any]:
    by_action: dict[str, dict[str, Any]] = {}
    for action in sorted({s[0] for s in samples}):
        times = [s[2] for s in samples if s[0] == action]
        by_action[action] = {
            "requests": len(times),
            "errors": sum(1 for s in samples if s[0] == action and not 200 <= s[1] < 300),
            "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95),
            "p99_ms": percentile(times, 99),
            "mean_ms": round(statistics.fmean(times), 1) if times else None,
        }
    return by_action


def over_time(samples: list[list[Any]], window_s: float = 10.0) -> list[dict[str, Any]]:
    """Requests and latency by window of the run (by when each request started): shows whether the
    tail is spread over the run (steady queueing) or comes from one stretch (a stall)."""
    windows: dict[int, list[float]] = {}
    for sample in samples:
        windows.setdefault(int(sample[3] // window_s), []).append(sample[2])
    return [
        {
            "from_s": index * window_s,
            "requests": len(times),
            "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95),
            "max_ms": round(max(times), 1),
        }
        for index, times in sorted(windows.items())
    ]


def row_lock_status(b: Bench) -> dict[str, int] | None:
    """MariaDB's cumulative InnoDB row-lock wait counters (None on SQLite)."""
    if b.backend != "mysql":
        return None
    from sqlalchemy import text

    with b.runtime().engine.connect() as conn:
        rows = conn.execute(text("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock_%'")).all()
    return {str(name): int(value) for name, value in rows}


def cpu_budget(
    requests: int,
    wall_s: float,
    generator_cpu_s: float,
    before: tuple[float, float, float | None],
    after: tuple[float, float, float | None],
    database_local: bool,
) -> dict[str, Any]:
    """Where the CPU went during the mixed workload, per answered (2xx) request, and what it allows.

    ``capacity_rps`` is the request rate at which the service, the database and the generator
    together would use every core: the ceiling of this machine for this mix, whatever the tuning.
    """
    import os

    cores = os.cpu_count() or 1
    per_request = max(1, requests)
    service_s = after[0] - before[0]
    database_s = after[1] - before[1]
    busy_s = after[2] - before[2] if after[2] is not None and before[2] is not None else None
    spent_s = service_s + (database_s if database_local else 0.0) + generator_cpu_s
    out: dict[str, Any] = {
        "cores": cores,
        "service_ms_per_request": round(service_s * 1000 / per_request, 1),
        "database_ms_per_request": round(database_s * 1000 / per_request, 1) if database_local else None,
        "generator_ms_per_request": round(generator_cpu_s * 1000 / per_request, 1),
        "capacity_rps": round(cores * per_request / spent_s, 1) if spent_s > 0 else None,
    }
    if busy_s is not None and wall_s > 0:
        # everything else running on the machine meanwhile (other jobs share these cores)
        out["machine_busy_cores"] = round(busy_s / wall_s, 2)
        out["others_busy_cores"] = round(max(0.0, busy_s - spent_s) / wall_s, 2)
    return out


def run(b: Bench) -> dict[str, Any]:
    sizes = b.sizes
    info = b.dataset()
    processes = sizes.server_processes if b.backend == "mysql" else 1
    b.log(f"api_load: preparing {sizes.api_users} field workers")
    reporters, collectors, notes = choose_workers(b, sizes.api_users)
    depots_each = 20 + math.ceil((sizes.api_warmup_s + sizes.api_seconds) / sizes.think_s) + 5
    prepare_collectors(b, collectors, depots_each)
    ids = sorted({w["user_id"] for w in reporters + collectors})
    tokens = mint_tokens(b.runtime(), ids)
    for worker in reporters + collectors:
        worker["token"] = tokens[worker["user_id"]]
    # the report whose detail is read in the throughput runs: the first reporter's, with areas
    probe = next((w for w in reporters if w["views"]), reporters[0])
    detail_id = probe["views"][0] if probe["views"] else None
    if detail_id is None:
        raise RuntimeError("no report to read: the dataset is too small")
    statements = capture_detail_statements(b, detail_id, probe["token"])
    statements_path = b.work / "detail-statements.pickle"
    statements_path.write_bytes(pickle.dumps(statements))

    port = free_port()
    # as in production (03, config.py): messages go to the outbox for the worker to deliver, not
    # also to the development outbox (a dev-only feature that staging and prod refuse)
    service_env = b.process_env(dev_outbox="false")
    with Server(b, serve_argv(processes, port), port, "service", env=service_env) as server:
        server.wait_ready()
        plan = {
            "mode": "mixed",
            "host": "127.0.0.1",
            "port": port,
            "seconds": sizes.api_seconds,
            "think_s": sizes.think_s,
            "seed": 1,
            "workers": reporters + collectors,
        }
        if sizes.api_warmup_s > 0:
            # Fresh processes compile and cache each statement on first use, and the first
            # requests of every connection open it: a few seconds of extra CPU that, on a machine
            # loaded near its capacity, queue the next requests for tens of seconds. Measured
            # from cold, the first two 10-s windows had p95 0.97-1.5 s, the later ones 0.2-0.4 s.
            b.log(f"api_load: warm-up, the same workload for {sizes.api_warmup_s:.0f} s (not measured)")
            run_loadgen(b, {**plan, "seconds": sizes.api_warmup_s, "seed": 2}, "warmup", sizes.api_warmup_s + 120)
        b.log(f"api_load: mixed workload, {sizes.api_users} workers for {sizes.api_seconds:.0f} s")
        service_pids = server.pids()
        database_pids = pids_named("mariadbd", "mysqld") if b.backend == "mysql" else []
        cpu_before = (cpu_seconds(service_pids), cpu_seconds(database_pids), machine_cpu_seconds())
        locks_before = row_lock_status(b)
        started = time.perf_counter()
        mixed = run_loadgen(b, plan, "mixed", sizes.api_seconds + 180)
        mixed_wall = time.perf_counter() - started
        cpu_after = (cpu_seconds(service_pids), cpu_seconds(database_pids), machine_cpu_seconds())
        locks_after = row_lock_status(b)
        b.log("api_load: report-detail throughput of the service")
        service_detail = closed_loop(b, port, f"/api/reports/{detail_id}", probe["token"], "service-detail")
    bare_port = free_port()
    bare_env = b.process_env()
    bare_env.update(BENCH_BARE_STATEMENTS=str(statements_path), BENCH_BARE_DATABASE_URL=b.url)
    # served like the service (``beachsaver serve --workers``): one SO_REUSEPORT socket per process
    bare_argv = [
        sys.executable,
        "-c",
        "import sys; from beachsaver.core.server import serve_workers; "
        "sys.exit(serve_workers('bench.bare_app:app', '127.0.0.1', int(sys.argv[1]), int(sys.argv[2])))",
        str(bare_port),
        str(processes),
    ]
    with Server(b, bare_argv, bare_port, "bare", env=bare_env) as bare:
        bare.wait_ready("/")
        b.log("api_load: report-detail throughput of the bare ASGI endpoint")
        bare_detail = closed_loop(b, bare_port, f"/api/reports/{detail_id}", None, "bare-detail")

    samples = mixed["samples"]
    times = [s[2] for s in samples]
    errors = sum(1 for s in samples if not 200 <= s[1] < 300)
    measured = mixed["measured_s"] or mixed_wall
    answered = len(samples) - errors  # refusals and time-outs cost little: count what was served
    cpu = cpu_budget(answered, mixed_wall, mixed["cpu_s"], cpu_before, cpu_after, bool(database_pids))
    if locks_before and locks_after:
        # InnoDB row-lock waits during the run (the audit head row serialises every write)
        cpu["row_lock_waits"] = locks_after["Innodb_row_lock_waits"] - locks_before["Innodb_row_lock_waits"]
        cpu["row_lock_wait_ms"] = locks_after["Innodb_row_lock_time"] - locks_before["Innodb_row_lock_time"]
    params = b.params(
        workers=sizes.api_users,
        seconds=sizes.api_seconds,
        think_time=f"exponential, mean {sizes.think_s:.0f} s",
        warmup_s=sizes.api_warmup_s,
        mix="reporters: view 1/2, submit with 1-3 areas 1/2; collectors: list depots near 1/2, complete 1/2",
        reporters=len(reporters),
        collectors=len(collectors),
        server=f"beachsaver serve --workers {processes} (uvicorn, {processes} process{'es' * (processes > 1)}, D45)",
        dev_outbox=False,
        generator=f"bench.loadgen: asyncio HTTP/1.1 on {mixed['loop']}, a separate process on loopback",
        generator_cpu_s=mixed["cpu_s"],
        offered_rps=round(sizes.api_users / sizes.think_s, 1),
        actions=summarise(samples),
        over_time=over_time(samples),
        cpu=cpu,
        failures=mixed["failures"][:5],
        detail={
            "request": f"GET /api/reports/{detail_id}",
            "connections": sizes.throughput_connections,
            "seconds": sizes.throughput_s,
            "service": service_detail,
            "bare": bare_detail,
            "statements": len(statements),
        },
        dataset_reports=info.reports,
        notes=notes,
    )
    figures = {
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "p99_ms": percentile(times, 99),
        "rps": round(len(samples) / measured, 1) if measured else None,
        "errors": errors,
        "requests": len(samples),
        "detail_rps": service_detail["rps"],
    }
    baseline = {"detail_rps": bare_detail["rps"], "what": "bare ASGI endpoint replaying the same statements"}
    ratio = round(service_detail["rps"] / bare_detail["rps"], 3) if bare_detail["rps"] else None
    return b.emit("api_load", params, figures, baseline, ratio)


def main() -> None:
    main_for("api_load", run, __doc__ or "")


if __name__ == "__main__":
    main()
