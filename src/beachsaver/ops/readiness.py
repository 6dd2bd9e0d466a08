"""Readiness components beyond the database: the delivery queue backlog."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from beachsaver.core.metrics import QUEUE_DEPTH
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import to_utc, utcnow
from beachsaver.notifications.models import Delivery

MAX_QUEUE_AGE_S = 300


def queue_readiness(runtime: Runtime) -> dict[str, Any]:
    """Fails when the oldest pending delivery waits longer than 5 minutes (07 §11)."""
    with runtime.session_factory() as db:
        pending, oldest = db.execute(
            select(func.count(), func.min(Delivery.created_at)).where(Delivery.status.in_(["PENDING", "FAILED"]))
        ).one()
        db.rollback()
    QUEUE_DEPTH.set(pending)
    oldest_s = int((utcnow() - to_utc(oldest)).total_seconds()) if oldest is not None else 0
    result: dict[str, Any] = {"ok": oldest_s <= MAX_QUEUE_AGE_S, "pending": int(pending), "oldest_s": oldest_s}
    if not result["ok"]:
        result["error_code"] = "INTERNAL_ERROR"
    return result
