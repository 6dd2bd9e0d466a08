"""``python -m bench.paired`` runs two trees' services side by side and reports CPU per request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.paired import ACTIONS, main

ROOT = Path(__file__).resolve().parents[2]


def test_two_copies_of_this_tree_are_measured_action_by_action(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(ROOT), str(ROOT), "--requests", "3", "--rounds", "2", "--sqlite", "--scale", "0.002"]
    result = main(argv)
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result
    assert result["backend"] == "sqlite" and result["requests"] == 3 and result["rounds"] == 2
    measured = result["cpu_ms_per_request"]
    assert list(measured) == list(ACTIONS)
    for action in ACTIONS:
        assert len(measured[action]["A"]) == len(measured[action]["B"]) == 2, action
        assert all(ms >= 0 for ms in measured[action]["A"] + measured[action]["B"]), action
    # 24 measured requests on each side: the processes' CPU clocks moved
    assert sum(sum(m["A"]) for m in measured.values()) > 0
    assert sum(sum(m["B"]) for m in measured.values()) > 0


def test_a_directory_that_is_not_a_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main([str(ROOT), str(tmp_path), "--sqlite"])
