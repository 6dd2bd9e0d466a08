"""Slow statements: every statement over 1 s is appended to ``$DATA_DIR/slow-queries.jsonl``."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from beachsaver.core.time import utcnow

THRESHOLD_S = 1.0
_lock = threading.Lock()


def install(engine: Engine, data_dir: Path, threshold_s: float = THRESHOLD_S) -> None:
    path = data_dir / "slow-queries.jsonl"

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        started = conn.info.get("query_start", []).pop() if conn.info.get("query_start") else None
        if started is None:
            return
        elapsed = time.perf_counter() - started
        if elapsed >= threshold_s:
            record = {"at": utcnow().isoformat(), "seconds": round(elapsed, 3), "statement": statement[:500]}
            with _lock:
                try:
                    data_dir.mkdir(parents=True, exist_ok=True)
                    with path.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(record) + "\n")
                except OSError:
                    pass


def recent(data_dir: Path, hours: int = 24) -> list[dict[str, Any]]:
    path = data_dir / "slow-queries.jsonl"
    if not path.is_file():
        return []
    cutoff = (utcnow() - timedelta(hours=hours)).isoformat()
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("at", "") >= cutoff:
            out.append(record)
    return out
