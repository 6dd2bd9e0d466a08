"""Shared plumbing of the benchmarks: the sizes a scale gives, the bench database and its
generated Busan data, settings for in-process and separate service processes, admin tokens,
timing, and the one-JSON-line result each benchmark prints and appends to
``bench/results/<YYYY-MM-DD>.json``."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
#: The MariaDB/MySQL server the benchmarks use (a database of their own is created on it).
DEFAULT_SERVER = "mysql://root@127.0.0.1:3306/"
DEFAULT_DATABASE = "beachsaver_bench"
DATABASE_PREFIX = "beachsaver_bench"


@dataclass(frozen=True)
class Sizes:
    """What a scale means. Scale 1 is the `make bench` default; every figure grows with it."""

    scale: float
    reports: int  # generated reports in the bench database (statistics, map, export, rollup)
    years: int  # of history they span
    api_users: int  # simulated field workers
    api_seconds: float  # length of the mixed workload
    api_warmup_s: float  # the same workload before it, not measured (fresh processes warm up)
    think_s: float  # mean exponential think time (07 §12)
    throughput_s: float  # length of each closed-loop report-detail run (service, bare)
    warmup_s: float  # not counted at the start of each closed-loop run
    throughput_connections: int
    server_processes: int
    import_rows: int
    sync_reports: int
    map_features: int
    restore_reports: int
    repeat: int  # timed repetitions (median) of in-process calls

    @classmethod
    def of(cls, scale: float) -> Sizes:
        cpus = os.cpu_count() or 2
        return cls(
            scale=scale,
            reports=max(300, round(100_000 * scale)),
            years=5 if scale >= 0.05 else 1,
            api_users=max(6, round(200 * scale)),
            api_seconds=max(1.5, 60.0 * scale),
            api_warmup_s=10.0 if scale >= 0.1 else 0.0,
            think_s=10.0,
            throughput_s=max(0.5, min(20.0, 10.0 * scale)),
            warmup_s=1.0 if scale >= 0.1 else 0.2,
            throughput_connections=max(4, min(32, round(16 * scale))),
            server_processes=max(2, min(4, cpus + 1)),
            import_rows=max(30, round(10_000 * scale)),
            sync_reports=max(20, round(500 * scale)),
            map_features=max(50, round(10_000 * scale)),
            restore_reports=max(300, round(20_000 * scale)),
            repeat=5 if scale >= 0.1 else 2,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mysql_reachable(server: str) -> str | None:
    """None when the server answers, else the reason it does not."""
    from sqlalchemy import create_engine, text

    from beachsaver.core.db import normalise_database_url

    try:
        engine = create_engine(normalise_database_url(server), connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


@dataclass
class DatasetInfo:
    reports: int
    generated: dict[str, Any]
    seconds: float


class Bench:
    """One benchmark run: the backend, the bench database, the settings shared by every process."""

    def __init__(
        self,
        scale: float = 1.0,
        *,
        server: str | None = None,
        database: str | None = None,
        sqlite: bool = False,
        keep: bool = False,
        results_dir: Path | None = None,
        quiet: bool = False,
        processes: int | None = None,
        api_seconds: float | None = None,
        api_workers: int | None = None,
    ) -> None:
        self.sizes = Sizes.of(scale)
        if processes:
            self.sizes = replace(self.sizes, server_processes=processes)
        if api_seconds:
            self.sizes = replace(self.sizes, api_seconds=api_seconds)
        if api_workers:
            self.sizes = replace(self.sizes, api_users=api_workers)
        self.scale = scale
        self.keep = keep
        self.quiet = quiet
        self.results_dir = results_dir or Path(os.environ.get("BENCH_RESULTS_DIR", RESULTS_DIR))
        self.server = server or os.environ.get("BENCH_MYSQL_URL", DEFAULT_SERVER)
        self.database = database or os.environ.get("BENCH_DATABASE", DEFAULT_DATABASE)
        if not self.database.startswith(DATABASE_PREFIX):
            raise SystemExit(f"the bench database must be named {DATABASE_PREFIX}*: {self.database!r}")
        self.work = Path(tempfile.mkdtemp(prefix="beachsaver-bench-"))
        self.fallback: str | None = "--sqlite" if sqlite else _mysql_reachable(self.server)
        self.backend = "sqlite" if self.fallback else "mysql"
        if self.backend == "sqlite":
            self.url = f"sqlite:///{self.work / 'bench.db'}"
        else:
            from sqlalchemy.engine import make_url

            from beachsaver.core.db import normalise_database_url

            self.url = (
                make_url(normalise_database_url(self.server))
                .set(database=self.database)
                .render_as_string(hide_password=False)
            )
        self.data_dir = self.work / "data"
        self.data_dir.mkdir()
        self.keys = {
            "BEACHSAVER_PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "BEACHSAVER_PHONE_HASH_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "BEACHSAVER_JWT_SECRET": secrets.token_urlsafe(40),
        }
        keyfile = self._keyfile()
        if keyfile is not None:
            self.keys.update(keyfile)
        self._dataset: DatasetInfo | None = None
        self._runtime: Any = None
        self._admin_token: str | None = None

    # ---- settings and processes ------------------------------------------------------------

    def _keyfile(self) -> dict[str, str] | None:
        """A kept database keeps its keys (the generated phones are encrypted with them)."""
        if not self.keep or self.backend != "mysql":
            return None
        path = Path(tempfile.gettempdir()) / "beachsaver-bench-keys" / f"{self.database}.json"
        if path.exists():
            loaded: dict[str, str] = json.loads(path.read_text())
            return loaded
        path.parent.mkdir(mode=0o700, exist_ok=True)
        path.write_text(json.dumps(self.keys))
        path.chmod(0o600)
        return None

    def env(self, **overrides: Any) -> dict[str, str]:
        """BEACHSAVER_* settings of the service on the bench database."""
        env = {
            "BEACHSAVER_ENV": "dev",
            "BEACHSAVER_DATA_DIR": str(self.data_dir),
            "BEACHSAVER_DATABASE_URL": self.url,
            "BEACHSAVER_AUTO_MIGRATE": "false",
            "BEACHSAVER_WORKER_IN_PROCESS": "false",
            "BEACHSAVER_DEMO_DATA": "true",
            "BEACHSAVER_LOG_LEVEL": "WARNING",
            **self.keys,
        }
        env.update({f"BEACHSAVER_{k.upper()}": str(v) for k, v in overrides.items()})
        return env

    def process_env(self, **overrides: Any) -> dict[str, str]:
        """The environment of a child process: ours without other BEACHSAVER_* settings, plus the bench's."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("BEACHSAVER_")}
        base["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(ROOT / "src"), base.get("PYTHONPATH")) if p)
        return {**base, **self.env(**overrides)}

    def settings(self, **overrides: Any) -> Any:
        from beachsaver.config import load_settings

        return load_settings(self.env(**overrides))

    def runtime(self) -> Any:
        if self._runtime is None:
            from beachsaver.core.runtime import build_runtime

            self._runtime = build_runtime(self.settings())
        return self._runtime

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        """The whole application in process (TestClient), on the bench database."""
        from fastapi.testclient import TestClient

        from beachsaver.app import create_app

        app = create_app(self.settings(), run_startup=False)
        try:
            with TestClient(app) as client:
                yield client
        finally:
            app.state.runtime.engine.dispose()

    # ---- the bench database -----------------------------------------------------------------

    def _create_database(self) -> None:
        if self.backend != "mysql":
            return
        from sqlalchemy import create_engine, text

        from beachsaver.core.db import normalise_database_url

        admin = create_engine(normalise_database_url(self.server))
        with admin.connect() as conn:
            if not self.keep:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{self.database}`"))
            conn.execute(
                text(
                    f"CREATE DATABASE IF NOT EXISTS `{self.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
        admin.dispose()

    def drop_database(self) -> None:
        if self.backend != "mysql" or self.keep:
            return
        from sqlalchemy import create_engine, text

        from beachsaver.core.db import normalise_database_url

        assert self.database.startswith(DATABASE_PREFIX) and self.database != "test"
        admin = create_engine(normalise_database_url(self.server))
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{self.database}`"))
        admin.dispose()

    def dataset(self) -> DatasetInfo:
        """The bench database, migrated, with the demo data and ``sizes.reports`` generated reports."""
        if self._dataset is None:
            started = time.perf_counter()
            self._create_database()
            generated = build_dataset(self.url, self.sizes.reports, self.runtime(), years=self.sizes.years)
            self._dataset = DatasetInfo(
                reports=self.count("reports"), generated=generated, seconds=round(time.perf_counter() - started, 1)
            )
            self.log(f"dataset: {self._dataset.reports} reports ({self._dataset.seconds} s) {generated}")
        return self._dataset

    def count(self, table: str, where: str = "") -> int:
        from sqlalchemy import text

        with self.runtime().engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table} {where}")).scalar_one())

    def size_mb(self) -> float | None:
        """The bench database's data and indexes, in MB."""
        from sqlalchemy import text

        if self.backend == "sqlite":
            from sqlalchemy.engine import make_url

            path = Path(str(make_url(self.url).database))
            return round(path.stat().st_size / 2**20, 1) if path.exists() else None
        with self.runtime().engine.connect() as conn:
            size = conn.execute(
                text("SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = :d"),
                {"d": self.database},
            ).scalar_one()
        return round(float(size or 0) / 2**20, 1)

    def admin_token(self) -> str:
        """A signed-in session of the demo city admin (Busan)."""
        if self._admin_token is None:
            from sqlalchemy import select

            from beachsaver.core.enums import Role
            from beachsaver.users.models import User

            self.dataset()
            with self.runtime().session_factory() as db:
                admin_id = db.execute(
                    select(User.id).where(User.role == Role.CITY_ADMIN).order_by(User.id)
                ).scalar_one()
            self._admin_token = mint_tokens(self.runtime(), [admin_id])[admin_id]
        return self._admin_token

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token()}"}

    # ---- results ---------------------------------------------------------------------------

    def params(self, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "scale": self.scale,
            "backend": "MariaDB" if self.backend == "mysql" else "SQLite",
            "database": self.url.split("@")[-1] if self.backend == "mysql" else "sqlite (temporary file)",
        }
        if self.fallback == "--sqlite":
            params["fallback"] = "SQLite as asked (--sqlite)"
        elif self.fallback:
            params["fallback"] = f"SQLite because MariaDB is not reachable ({self.fallback})"
        params.update(extra)
        params["cpus"] = os.cpu_count()
        with contextlib.suppress(OSError):
            params["load_avg"] = [round(x, 2) for x in os.getloadavg()]
        params["at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        return params

    def emit(
        self,
        name: str,
        params: dict[str, Any],
        figures: dict[str, Any],
        baseline: dict[str, Any] | None = None,
        ratio: float | None = None,
    ) -> dict[str, Any]:
        """Print the result as one JSON line and append it to bench/results/<YYYY-MM-DD>.json."""
        result = {"name": name, "params": params, "figures": figures, "baseline": baseline, "ratio": ratio}
        line = json.dumps(result, ensure_ascii=False, default=str)
        print(line, flush=True)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        with (self.results_dir / f"{date.today().isoformat()}.json").open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        return result

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.engine.dispose()
            self._runtime = None
        self.drop_database()
        shutil.rmtree(self.work, ignore_errors=True)


def build_dataset(url: str, reports: int, runtime: Any, *, years: int = 5) -> dict[str, Any]:
    """Migrate, load the demo data, generate the history (what `beachsaver seed-demo --scale N` does)."""
    from beachsaver.app import startup_tasks
    from beachsaver.core.db import session_scope
    from beachsaver.core.migrate import upgrade
    from beachsaver.demo import scale, seed

    upgrade(url)
    startup_tasks(runtime)
    with session_scope(runtime.session_factory) as db:
        seed.seed_demo(db)
    summary = scale.generate(runtime, reports, years=years)
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(summary).items()}


def mint_tokens(runtime: Any, user_ids: list[int]) -> dict[int, str]:
    """Sign accounts in directly (the sign-in flows have their own tests): user id -> access token."""
    from beachsaver.auth import service as auth_service
    from beachsaver.core.db import session_scope
    from beachsaver.users.models import User

    tokens: dict[int, str] = {}
    with session_scope(runtime.session_factory) as db:
        for user_id in user_ids:
            user = db.get(User, user_id)
            assert user is not None
            issued = auth_service.start_session(db, user, auth_service.ClientInfo(ip="127.0.0.1"), kind="bench")
            tokens[user_id] = str(issued["access_token"])
    return tokens


def timed(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    """Median wall time in ms over ``repeat`` runs after one warm-up run, and the last result."""
    result = fn()
    times = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), result


def rollup_registered() -> bool:
    from beachsaver.ops import tasks  # noqa: F401 - registers the jobs
    from beachsaver.ops.jobs import REGISTRY

    return "rollup" in REGISTRY


def run_rollup(b: Bench) -> Any:
    """Run the statistics roll-up job when the project has one (None otherwise)."""
    if not rollup_registered():
        return None
    from beachsaver.ops import jobs

    result = jobs.run(b.runtime(), "rollup")
    if result.outcome != "SUCCESS":
        raise RuntimeError(f"rollup failed: {result.error}")
    return result


def parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    add_options(parser)
    return parser


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=float, default=1.0, help="1 = the make bench size; 10 = ten times bigger")
    parser.add_argument("--server", default=None, help=f"MariaDB/MySQL server URL (default {DEFAULT_SERVER})")
    parser.add_argument("--database", default=None, help=f"bench database name (default {DEFAULT_DATABASE})")
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of MariaDB")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the bench database")
    parser.add_argument("--results", type=Path, default=None, help="results folder (default bench/results)")
    parser.add_argument("--processes", type=int, default=None, help="service processes for api_load (default 3)")
    parser.add_argument(
        "--api-seconds", type=float, default=None, help="length of api_load's mixed workload (default 60 × scale)"
    )
    parser.add_argument(
        "--api-workers", type=int, default=None, help="simulated field workers of api_load (default 200 × scale)"
    )


def bench_from(args: argparse.Namespace) -> Bench:
    return Bench(
        args.scale,
        server=args.server,
        database=args.database,
        sqlite=args.sqlite,
        keep=args.keep,
        results_dir=args.results,
        processes=args.processes,
        api_seconds=args.api_seconds,
        api_workers=args.api_workers,
    )


def main_for(name: str, run: Callable[[Bench], dict[str, Any]], description: str) -> None:
    """``python -m bench.<module>``: one benchmark on its own."""
    args = parser(description).parse_args()
    b = bench_from(args)
    try:
        run(b)
    finally:
        b.close()
    _ = name


# ---- separate service processes -----------------------------------------------------------------


#: Fresh connections answered in a row before a service group counts as ready: with three
#: processes, one still starting is missed by 12 in a row with a probability of (2/3)**12 < 1%.
READY_IN_A_ROW = 12


class Server:
    """A service process group on loopback, stopped by its process group."""

    def __init__(self, b: Bench, argv: list[str], port: int, name: str, env: dict[str, str] | None = None) -> None:
        import subprocess

        self.port = port
        self.name = name
        self.log_path = b.work / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=str(ROOT),
            env=env or b.process_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str = "/health", timeout_s: float = 60.0) -> None:
        import httpx

        # every process listens on a socket of its own (D45) and each new connection lands on
        # one of them: ready when a run of fresh connections in a row is answered at once
        deadline = time.monotonic() + timeout_s
        in_a_row = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                if httpx.get(self.base + path, timeout=1).status_code == 200:
                    in_a_row += 1
                    if in_a_row >= READY_IN_A_ROW:
                        return
                    continue
            except httpx.HTTPError:
                pass
            in_a_row = 0
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout_s} s: {self.log_tail()}")

    def pids(self) -> list[int]:
        """The process and its children (uvicorn's worker processes)."""
        found = [self.proc.pid]
        try:
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
                    if int(stat[1]) == self.proc.pid:
                        found.append(int(entry.name))
        except OSError:
            pass
        return found

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except Exception:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve_argv(processes: int, port: int) -> list[str]:
    """`beachsaver serve` as a child process (several uvicorn workers on MariaDB, one on SQLite)."""
    return [
        sys.executable,
        "-c",
        "from beachsaver.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(processes),
    ]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (0 for any that is gone or unreadable)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def pids_named(*names: str) -> list[int]:
    """Local processes whose command name is one of ``names`` (the MariaDB server, say)."""
    found = []
    try:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() in names:
                        found.append(int(entry.name))
                except OSError:
                    continue
    except OSError:
        pass
    return found


def machine_cpu_seconds() -> float | None:
    """Busy CPU time of the whole machine so far (every core), from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (sum(values[:7]) - idle) / ticks  # user … softirq, without idle, iowait and steal


def proc_status_kb(pid: int, field: str) -> int | None:
    """A field of /proc/<pid>/status in kB (VmRSS, VmHWM), None where /proc is missing."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False
