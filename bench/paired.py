"""Paired CPU per request of two source trees: ``python -m bench.paired A_DIR B_DIR``.

A development measurement, not one of ``make bench``'s figures (nothing is appended to the
results file). The CPU time one request costs moves by about ±10% with the machine from minute
to minute, more than most single changes save, so two runs one after the other cannot tell them
apart. Here the services of both trees run side by side, one process each, on one bench database
(MariaDB, or the SQLite fallback); the requests of each field action alternate between them (A
then B, then B then A), and each process's CPU time is read from ``/proc`` around each of its
own requests. Whatever slows the machine slows both alike: two copies of the same tree measure
within about 2% of each other.

Prints one JSON line: per action, the milliseconds of CPU per request of A and B in each round
and ``B/A`` over all rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.api_load import choose_workers, prepare_collectors
from bench.common import Bench, Server, add_options, bench_from, cpu_seconds, free_port, mint_tokens, serve_argv
from bench.loadgen import completion_body, near_path, report_body

ACTIONS = ("view", "submit", "near", "complete")
WARM_UP = 10  # requests of each action to each service before measuring

Action = Callable[[httpx.Client, int], None]


class FieldActions:
    """The four actions of the mixed workload (``bench.loadgen``), one request per call."""

    def __init__(self, reporters: list[dict[str, Any]], collectors: list[dict[str, Any]], tokens: dict[int, str]):
        self.reporters = [w for w in reporters if w["views"]] or reporters
        self.collectors = collectors
        self.tokens = tokens
        self.rnd = random.Random(5)
        self.candidates: dict[int, list[int]] = {}
        self.completed: set[int] = set()

    def _headers(self, worker: dict[str, Any]) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[worker['user_id']]}"}

    @staticmethod
    def _ok(response: httpx.Response) -> httpx.Response:
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"{response.request.method} {response.request.url.path}: {response.text[:300]}")
        return response

    def view(self, client: httpx.Client, i: int) -> None:
        worker = self.reporters[i % len(self.reporters)]
        report_id = worker["views"][i % len(worker["views"])]
        self._ok(client.get(f"/api/reports/{report_id}", headers=self._headers(worker)))

    def submit(self, client: httpx.Client, i: int) -> None:
        worker = self.reporters[i % len(self.reporters)]
        self._ok(client.post("/api/reports", json=report_body(worker, self.rnd), headers=self._headers(worker)))

    def near(self, client: httpx.Client, i: int) -> None:
        worker = self.collectors[i % len(self.collectors)]
        data = self._ok(client.get(near_path(worker), headers=self._headers(worker))).json()["data"]
        self.candidates[worker["user_id"]] = [d["id"] for d in data if d["id"] not in self.completed]

    def complete(self, client: httpx.Client, i: int) -> None:
        worker = self.collectors[i % len(self.collectors)]
        waiting = self.candidates.get(worker["user_id"]) or []
        if not waiting:  # listed in its own request: only the completion is measured
            self.near(client, i)
            waiting = self.candidates[worker["user_id"]]
        depot = waiting.pop()
        self.completed.add(depot)
        body = completion_body(worker, 50.0)
        self._ok(client.patch(f"/api/collection-depots/{depot}/complete", json=body, headers=self._headers(worker)))


def measure(
    b: Bench, trees: dict[str, Path], actions: list[str], requests: int, rounds: int
) -> dict[str, dict[str, Any]]:
    """Per action: {"A": [ms per round], "B": [...], "B/A": ratio of the sums}."""
    b.dataset()
    reporters, collectors, _ = choose_workers(b, 40)
    completions = (requests + WARM_UP) * 2 * rounds if "complete" in actions else 0
    prepare_collectors(b, collectors, completions // max(1, len(collectors)) + 25)
    tokens = mint_tokens(b.runtime(), sorted({w["user_id"] for w in reporters + collectors}))
    field = FieldActions(reporters, collectors, tokens)
    spent: dict[str, dict[str, list[float]]] = {name: {key: [] for key in trees} for name in actions}
    with contextlib.ExitStack() as stack:
        clients: dict[str, httpx.Client] = {}
        pids: dict[str, list[int]] = {}
        for key, root in trees.items():
            port = free_port()
            env = b.process_env()
            env["PYTHONPATH"] = os.pathsep.join((str(root), str(root / "src")))
            server = stack.enter_context(Server(b, serve_argv(1, port), port, f"paired-{key}", env=env))
            server.wait_ready()
            pids[key] = server.pids()
            clients[key] = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
        run: dict[str, Action] = {name: getattr(field, name) for name in actions}
        for name in actions:
            for key in trees:
                for i in range(WARM_UP):
                    run[name](clients[key], i)
        order = list(trees)
        for _ in range(rounds):
            for name in actions:
                cpu = dict.fromkeys(trees, 0.0)
                for i in range(requests):
                    for key in order if i % 2 == 0 else order[::-1]:
                        before = cpu_seconds(pids[key])
                        run[name](clients[key], WARM_UP + i)
                        cpu[key] += cpu_seconds(pids[key]) - before
                for key in trees:
                    spent[name][key].append(round(cpu[key] / requests * 1000, 2))
    out: dict[str, dict[str, Any]] = {}
    for name, by_tree in spent.items():
        a, b_ = sum(by_tree["A"]), sum(by_tree["B"])
        out[name] = {"A": by_tree["A"], "B": by_tree["B"], "B/A": round(b_ / a, 3) if a else None}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.paired", description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="source tree A (a checkout: its src/ is imported)")
    parser.add_argument("b", type=Path, help="source tree B")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per action, round and tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--actions", default=",".join(ACTIONS), help=f"some of {','.join(ACTIONS)}")
    add_options(parser)
    args = parser.parse_args(argv)
    actions = [a.strip() for a in args.actions.split(",") if a.strip()]
    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown:
        parser.error(f"unknown actions: {unknown}")
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    for tree in trees.values():
        if not (tree / "src" / "beachsaver").is_dir():
            parser.error(f"not a checkout of the project: {tree}")
    b = bench_from(args)
    try:
        result = {
            "trees": {key: str(path) for key, path in trees.items()},
            "requests": args.requests,
            "rounds": args.rounds,
            "backend": b.backend,
            "cpu_ms_per_request": measure(b, trees, actions, args.requests, args.rounds),
        }
    finally:
        b.close()
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
