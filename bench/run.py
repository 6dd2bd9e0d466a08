"""Run the benchmarks: ``python -m bench`` (what ``make bench`` runs).

    python -m bench                      # every benchmark at scale 1 (a few minutes on 2 cores)
    python -m bench --scale 10           # ten times bigger (1,000,000 reports, 2,000 workers...)
    python -m bench --only api_load      # one (or several: --only statistics,map)

One bench database (``beachsaver_bench`` on the MariaDB server at 127.0.0.1:3306, or a temporary
SQLite file when that server is not reachable) is created, filled once with generated Busan data
and dropped at the end (``--keep`` keeps it for the next run). Each benchmark prints one JSON line
and appends it to ``bench/results/<YYYY-MM-DD>.json``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import Bench, add_options, bench_from

#: Order matters: the roll-up runs on the untouched dataset, the read benchmarks before the
#: ones that write (load, sync, import add reports and accounts).
BENCHMARKS: dict[str, str] = {
    "rollup": "bench.rollup",
    "statistics": "bench.statistics",
    "map": "bench.map",
    "export": "bench.export",
    "api_load": "bench.api_load",
    "sync": "bench.sync",
    "import": "bench.import_accounts",
    "restore": "bench.restore",
}


def runner(name: str) -> Callable[[Bench], dict[str, Any]]:
    module = importlib.import_module(BENCHMARKS[name])
    run: Callable[[Bench], dict[str, Any]] = module.run
    return run


def run_all(b: Bench, names: list[str]) -> list[dict[str, Any]]:
    results = []
    for name in names:
        started = time.perf_counter()
        results.append(runner(name)(b))
        b.log(f"{name} done in {time.perf_counter() - started:.1f} s")
    return results


def parse_only(value: str | None) -> list[str]:
    if not value:
        return list(BENCHMARKS)
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; one of {', '.join(BENCHMARKS)}")
    return [n for n in BENCHMARKS if n in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser)
    parser.add_argument("--only", default=None, help=f"comma-separated names: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    names = parse_only(args.only)
    b = bench_from(args)
    started = time.perf_counter()
    try:
        b.log(f"scale {args.scale}: {b.sizes}; backend {b.backend}" + (f" ({b.fallback})" if b.fallback else ""))
        run_all(b, names)
    finally:
        b.close()
    b.log(f"all done in {time.perf_counter() - started:.1f} s; results in {b.results_dir}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
