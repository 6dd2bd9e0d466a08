"""Trace ids (07 §3): an incoming ``X-Trace-Id`` of 1–64 characters from ``[A-Za-z0-9._-]`` is
kept unchanged; else the trace id of a valid W3C ``traceparent``; else 32 random hex digits."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACE_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# W3C Trace Context: version-traceid-parentid-flags, lower-case hex. Version ff is invalid;
# version 00 has exactly four fields, later versions may append more after a dash.
_TRACEPARENT_RE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")

current_trace_id: ContextVar[str] = ContextVar("current_trace_id", default="")


def trace_id_from_traceparent(traceparent: str | None) -> str | None:
    """The trace id of a valid ``traceparent`` header, else None."""
    if not traceparent:
        return None
    match = _TRACEPARENT_RE.fullmatch(traceparent.strip(" \t"))
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id


def new_trace_id() -> str:
    return secrets.token_hex(16)


def trace_id_from_headers(x_trace_id: str | None, traceparent: str | None) -> str:
    if x_trace_id is not None and _TRACE_ID_RE.fullmatch(x_trace_id):
        return x_trace_id
    return trace_id_from_traceparent(traceparent) or new_trace_id()
