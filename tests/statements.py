"""Counting the SQL statements a piece of work issues (04 §2: no N+1, bounded queries)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def counting(engine: Any, record: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """The statements issued on ``engine`` inside the block, but transaction control (BEGIN) and the
    kill-switch cache's reload, which runs on a timer in a transaction of its own; each is also
    passed to ``record`` when given."""
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "feature_switches" not in statement and not statement.startswith("BEGIN"):
            statements.append(statement)
            if record is not None:
                record(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)
