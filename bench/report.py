"""The latest result of each benchmark beside the targets of 04-quality §2, as a Markdown table
(what docs/performance.md shows): ``python -m bench.report [bench/results/<date>.json ...]``.

Without arguments it reads every results file and keeps the newest line of each benchmark. A run
smaller than a target's size is judged by rate (rows per second, seconds per 100,000 reports...)
and says so; latency targets are judged as measured."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR


@dataclass(frozen=True)
class Target:
    original: str
    target: str
    size: Callable[[dict[str, Any]], bool]  # the run is at least as big as the target's
    met: Callable[[dict[str, Any]], bool]  # the figures meet the target
    shown: Callable[[dict[str, Any]], str]


def _f(result: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = result["figures"]
    return figures


def _drill_s(result: dict[str, Any]) -> float:
    return float(_f(result)["backup_s"] + _f(result)["restore_s"])


TARGETS: dict[str, Target] = {
    "api_load": Target(
        "1,000 concurrent workers ≤ 1 s; average ≤ 500 ms",
        "1,000 workers: p95 ≤ 200 ms, p99 ≤ 500 ms, no errors; detail ≥ 30% of bare",
        lambda r: r["params"].get("workers", 0) >= 1000,
        lambda r: _f(r)["p95_ms"] <= 200 and _f(r)["p99_ms"] <= 500 and _f(r)["errors"] == 0 and r["ratio"] >= 0.3,
        lambda r: (
            f"{r['params'].get('workers')} workers, {r['params'].get('seconds'):.0f} s: p50 {_f(r)['p50_ms']} ms, "
            f"p95 {_f(r)['p95_ms']} ms, p99 {_f(r)['p99_ms']} ms, {_f(r)['rps']} rps, {_f(r)['errors']} errors; "
            f"detail {_f(r).get('detail_rps')} rps vs bare {(r['baseline'] or {}).get('detail_rps')} rps "
            f"(ratio {r['ratio']})"
        ),
    ),
    "statistics": Target(
        "10,000 rows ≤ 10 s",
        "1,000,000 reports: monthly city-wide ≤ 1 s and ≤ 2× one SQL aggregate",
        lambda r: _f(r)["reports"] >= 1_000_000,
        lambda r: _f(r)["ms"] <= 1000 and r["ratio"] <= 2,
        lambda r: (
            f"{_f(r)['reports']:,} reports: {_f(r)['ms']} ms vs SQL {(r['baseline'] or {}).get('sql_ms')} ms "
            f"(ratio {r['ratio']})"
        ),
    ),
    "export": Target(
        "10,000 rows ≤ 10 s",
        "100,000 rows ≤ 10 s, streamed, memory growth ≤ 100 MB",
        lambda r: _f(r)["rows"] >= 100_000,
        lambda r: (_f(r)["rows_per_s"] or 0) >= 10_000 and (_f(r).get("rss_growth_mb") or 0) <= 100,
        lambda r: (
            f"{_f(r)['rows']:,} rows: {_f(r)['seconds']} s ({_f(r)['rows_per_s']} rows/s), peak RSS "
            f"{_f(r)['peak_rss_mb']} MB (+{_f(r).get('rss_growth_mb')} MB)"
        ),
    ),
    "map": Target(
        "map shown ≤ 2 s",
        "10,000 features ≤ 300 ms server time",
        lambda r: _f(r)["features"] >= 10_000,
        lambda r: _f(r)["ms"] <= 300,
        lambda r: (
            f"{_f(r)['features']:,} features: {_f(r)['ms']} ms vs SQL {(r['baseline'] or {}).get('sql_ms')} ms "
            f"(ratio {r['ratio']})"
        ),
    ),
    "rollup": Target(
        "100,000 reports ≤ 5 min",
        "100,000 reports ≤ 30 s",
        lambda r: _f(r)["reports"] >= 100_000,
        lambda r: _f(r)["seconds"] is not None and _f(r)["seconds"] * 100_000 / _f(r)["reports"] <= 30,
        lambda r: f"{_f(r)['reports']:,} reports: {_f(r)['seconds']} s",
    ),
    "import": Target(
        "—",
        "10,000 rows ≤ 15 s; the same file again creates nothing",
        lambda r: _f(r)["rows"] >= 10_000,
        lambda r: _f(r)["seconds"] * 10_000 / _f(r)["rows"] <= 15 and _f(r)["second_run_created"] == 0,
        lambda r: (
            f"{_f(r)['rows']:,} rows: {_f(r)['seconds']} s; again: {_f(r)['second_run_created']} created "
            f"in {r['params'].get('second_run_s')} s"
        ),
    ),
    "sync": Target(
        "—",
        "500 reports in one call ≤ 5 s; a replay adds no row",
        lambda r: _f(r)["reports"] >= 500,
        lambda r: _f(r)["seconds"] <= 5 and _f(r)["replay_new_rows"] == 0,
        lambda r: (
            f"{_f(r)['reports']} reports: {_f(r)['seconds']} s; replay {r['params'].get('replay_seconds')} s, "
            f"{_f(r)['replay_new_rows']} new rows, same ids: {r['params'].get('replay_same_ids')}"
        ),
    ),
    "restore": Target(
        "RTO 2 h",
        "1,000,000 reports restored and verified ≤ 10 min",
        lambda r: _f(r)["reports"] >= 1_000_000,
        lambda r: _f(r)["verified"] and _drill_s(r) * 1_000_000 / _f(r)["reports"] <= 600,
        lambda r: (
            f"{_f(r)['reports']:,} reports ({r['params'].get('rows'):,} rows): backup {_f(r)['backup_s']} s, "
            f"restore + verify {_f(r)['restore_s']} s, verified: {_f(r)['verified']} "
            f"(1,000,000 at this rate: {_drill_s(r) * 1_000_000 / _f(r)['reports'] / 60:.0f} min)"
        ),
    ),
}


def latest(paths: list[Path]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                result = json.loads(line)
                found[result["name"]] = result
    return found


def verdict(name: str, result: dict[str, Any]) -> str:
    target = TARGETS[name]
    try:
        met = target.met(result)
    except (TypeError, KeyError):
        return "not measured"
    if not met:
        return "**missed**"
    return "met" if target.size(result) else "met at this size, by rate (smaller than the target's)"


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| benchmark | original requirement | target | measured | verdict |",
        "|---|---|---|---|---|",
    ]
    for name, target in TARGETS.items():
        result = results.get(name)
        if result is None:
            lines.append(f"| `{name}` | {target.original} | {target.target} | not run | — |")
            continue
        lines.append(
            f"| `{name}` | {target.original} | {target.target} | {target.shown(result)} | {verdict(name, result)} |"
        )
    return "\n".join(lines)


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(RESULTS_DIR.glob("*.json"))
    print(table(latest(paths)))


if __name__ == "__main__":
    main()
