"""Portable SQL expressions (MySQL/MariaDB and SQLite) for the aggregates.

Instants are stored as naive UTC. Dates are cut in Asia/Seoul, which has had a fixed +09:00
offset since 1988 (no daylight saving), so a Seoul day is the UTC instant plus nine hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, extract, func, literal_column
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.core.time import SEOUL


def dialect_of(db: Session) -> str:
    return db.get_bind().dialect.name


def _kst(column: Any) -> ColumnElement[Any]:
    return func.date_add(column, literal_column("INTERVAL 9 HOUR"))


def kst_day(db: Session, column: Any) -> ColumnElement[Any]:
    """The Seoul calendar day of a UTC instant: ``YYYY-MM-DD`` text on SQLite, ``TO_DAYS`` on
    MySQL (integers group much faster than formatted text there). Decode with ``day_of``."""
    if dialect_of(db) == "sqlite":
        return func.date(column, "+9 hours")
    return func.to_days(_kst(column))


def kst_month(db: Session, column: Any) -> ColumnElement[Any]:
    """The Seoul calendar month of a UTC instant: ``YYYY-MM-01`` text on SQLite, ``YYYYMM`` on
    MySQL. Decode with ``month_of``."""
    if dialect_of(db) == "sqlite":
        return func.strftime("%Y-%m-01", column, "+9 hours")
    return extract("year_month", _kst(column))


#: MySQL's TO_DAYS('0001-01-01') is 366; Python's ordinal of that day is 1.
TO_DAYS_OFFSET = 365


def day_of(value: Any) -> date:
    """A ``kst_day`` bucket as the database returns it → ``date``."""
    if isinstance(value, int):
        return date.fromordinal(value - TO_DAYS_OFFSET)
    return as_date(value)


def month_of(value: Any) -> date:
    """A ``kst_month`` bucket as the database returns it → the month's first day."""
    if isinstance(value, int):
        return date(value // 100, value % 100, 1)
    return as_date(value).replace(day=1)


def seconds_between(db: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """``end - start`` in whole seconds, never negative (a back-dated completion counts as 0).
    Integers, so that sums of days add up exactly to the sum of the whole period."""
    if dialect_of(db) == "sqlite":
        diff: ColumnElement[Any] = cast(func.strftime("%s", end), Integer) - cast(func.strftime("%s", start), Integer)
    else:
        diff = func.timestampdiff(literal_column("SECOND"), start, end)
    return case((diff < 0, 0), else_=diff)


def date_month(db: Session, column: Any) -> ColumnElement[Any]:
    """The month of a DATE column, as ``kst_month`` buckets it (decode with ``month_of``)."""
    if dialect_of(db) == "sqlite":
        return func.strftime("%Y-%m-01", column)
    return extract("year_month", column)


def as_date(value: Any) -> date:
    """A day or month bucket as the database returns it → ``date``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def kst_start(day: date) -> datetime:
    """The UTC instant at which a Seoul calendar day starts."""
    return datetime.combine(day, time(0), SEOUL).astimezone(UTC)


def kst_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """``[start 00:00 KST, end + 1 day 00:00 KST)`` in UTC; either side may be open."""
    lo = kst_start(start) if start is not None else None
    hi = kst_start(end + timedelta(days=1)) if end is not None else None
    return lo, hi


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
