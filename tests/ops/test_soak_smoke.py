"""The soak drill (scripts/soak.py, run for 10 minutes by ``make drills``) run for a few seconds,
so that the script cannot rot between drills: it starts the service, drives every step of the
mix, and reports a JSON summary with no error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_soak_script_runs_the_whole_mix_without_error() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--seconds", "5", "--workers", "4", "--think-ms", "20"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["name"] == "soak"
    assert summary["passed"] is True and summary["errors"] == 0, summary
    assert set(summary["actions"]) == {"view", "submit", "near", "complete"}, summary["actions"]
    memory = summary["memory"]
    assert memory["samples"] >= 3 and memory["start_mb"] > 0
    assert memory["judged"] is False  # a 5-second run reports memory but is too short to judge it
