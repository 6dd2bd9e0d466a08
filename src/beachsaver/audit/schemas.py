from __future__ import annotations

from typing import Any

from beachsaver.core.envelope import Schema, UtcDateTime


class AuditEntryOut(Schema):
    id: int
    at: UtcDateTime
    actor_id: int | None
    action: str
    target_type: str | None
    target_id: int | None
    org_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    trace_id: str | None
    ip: str | None
