"""Per-request context visible to services and the audit log (trace id, client ip)."""

from __future__ import annotations

from contextvars import ContextVar

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
