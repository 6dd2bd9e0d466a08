"""Security events: an audit entry, a metric, and the alert hooks (run after commit)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.core.db import after_commit
from beachsaver.core.metrics import SECURITY_EVENTS

log = logging.getLogger("beachsaver.security")

#: Called after commit with (session factory runtime, kind, details); the notifier registers here.
SecurityHandler = Callable[[Session, str, dict[str, Any]], None]
HANDLERS: list[SecurityHandler] = []


def raise_event(
    db: Session,
    kind: str,
    *,
    actor_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    org_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    payload = {"kind": kind, **(details or {})}
    audit.record(
        db,
        f"SECURITY_{kind.upper()}",
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        org_id=org_id,
        after=payload,
    )
    import beachsaver.notifications.service  # noqa: F401 - registers the security officers' alert handler

    for handler in HANDLERS:
        handler(db, kind, audit.masked(payload) or {})

    def _count() -> None:
        SECURITY_EVENTS.labels(kind=kind).inc()
        log.warning("security event %s", kind, extra={"security_event": audit.masked(payload)})

    after_commit(db, _count)
