"""Every benchmark of bench/ runs at a tiny scale (on a temporary SQLite file, the bench's
fallback) and prints one JSON line with the documented keys, also appended to the results file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from bench.common import Bench, Sizes
from bench.run import BENCHMARKS, parse_only, run_all

FIGURES = {
    "api_load": {"p50_ms", "p95_ms", "p99_ms", "rps", "errors"},
    "statistics": {"ms", "reports"},
    "export": {"rows", "seconds", "rows_per_s", "peak_rss_mb"},
    "import": {"rows", "seconds", "second_run_created"},
    "sync": {"reports", "seconds", "replay_new_rows"},
    "map": {"features", "ms"},
    "rollup": {"reports", "seconds"},
    "restore": {"reports", "backup_s", "restore_s", "verified"},
}
WITH_BASELINE = {"api_load", "statistics", "map"}


def test_every_benchmark_prints_its_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = Bench(0.002, sqlite=True, results_dir=tmp_path / "results", quiet=True)
    try:
        returned = run_all(bench, list(BENCHMARKS))
    finally:
        bench.close()
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [r["name"] for r in printed] == list(BENCHMARKS) == [r["name"] for r in returned]
    assert set(FIGURES) == set(BENCHMARKS)
    by_name: dict[str, dict[str, Any]] = {r["name"]: r for r in printed}
    for name, result in by_name.items():
        assert set(result) == {"name", "params", "figures", "baseline", "ratio"}, name
        assert FIGURES[name] <= set(result["figures"]), name
        assert result["params"]["scale"] == 0.002 and result["params"]["backend"] == "SQLite"
        if name in WITH_BASELINE:
            assert result["baseline"] and result["ratio"] is not None and result["ratio"] > 0, name
        else:
            assert result["baseline"] is None and result["ratio"] is None, name
        if name != "rollup":  # null when the project has no roll-up job
            assert all(v is not None for v in result["figures"].values()), name

    load = by_name["api_load"]["figures"]
    assert load["errors"] == 0 and load["rps"] > 0 and load["p50_ms"] <= load["p95_ms"] <= load["p99_ms"]
    assert by_name["api_load"]["baseline"]["detail_rps"] > 0
    assert by_name["statistics"]["figures"]["reports"] >= Sizes.of(0.002).reports
    assert by_name["map"]["figures"]["features"] > 0
    assert by_name["export"]["figures"]["rows"] > 0
    assert by_name["import"]["figures"]["second_run_created"] == 0
    assert by_name["sync"]["figures"]["replay_new_rows"] == 0
    assert by_name["restore"]["figures"]["verified"] is True

    saved = (tmp_path / "results" / f"{date.today().isoformat()}.json").read_text().splitlines()
    assert [json.loads(line) for line in saved] == printed


def test_only_names_known_benchmarks() -> None:
    assert parse_only("map, statistics") == ["statistics", "map"]
    assert parse_only(None) == list(BENCHMARKS)
    with pytest.raises(SystemExit):
        parse_only("nope")


def test_the_bench_database_is_never_another_one() -> None:
    with pytest.raises(SystemExit):
        Bench(0.002, database="test", sqlite=True)
