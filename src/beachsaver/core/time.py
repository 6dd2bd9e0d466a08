"""Time helpers: everything is stored and compared in UTC; dates are cut in Asia/Seoul."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def utcnow() -> datetime:
    """Aware UTC now, truncated to microseconds (what MySQL DATETIME(6) keeps)."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def seoul_today() -> date:
    return datetime.now(SEOUL).date()
