"""The statistics roll-up: daily figures of closed Seoul days, never served stale.

- ``statistics_daily`` holds, for every rolled-up day, the figures of the aggregates
  (``aggregates.py``) at four grains, written set-based (a few ``INSERT … SELECT`` per batch,
  nothing through Python), and their sums per calendar month (see
  ``models.StatisticsDaily``).
- ``statistics_rollup_state.rolled_through`` (W): every day up to W has been rolled up.
- ``statistics_dirty_days``: a (day, organisation) mark is written *in the transaction of every
  change* that can move a figure (reports, areas, credits, contributions, depots, a worker's
  cleaner type), by a ``before_flush`` listener on every ORM session plus ``mark_depot`` after
  the depot services' compare-and-set UPDATEs.
- A query (``plan``) reads W and the marks of its organisations in one statement, serves the
  clean days up to W from ``statistics_daily`` and computes everything else live (the days
  after W — today at least — and the marked days).
- The ``rollup`` job (``run``) recomputes marked days and advances W over closed days, in
  bounded batches of one transaction each; it deletes only the marks it has read, so a change
  committed while it works stays marked and is recomputed next time. Reruns are idempotent: a
  day's rows are replaced, never added to.

Rows inserted without the ORM (bulk loaders) are found by id on the next run; anything that
changes source rows without the ORM must call ``mark_dirty`` (or ``reset``) in its transaction.
A backup restore brings the roll-up tables with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, case, delete, event, func, insert, inspect, literal, null, or_, select, union_all
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.core.db import session_scope
from beachsaver.core.enums import ReportType
from beachsaver.core.time import seoul_today, utcnow
from beachsaver.depots.models import CollectionDepot
from beachsaver.orgs.models import Organization
from beachsaver.reports.models import Contribution, Credit, Report, ReportArea
from beachsaver.statistics import aggregates as agg
from beachsaver.statistics import sql
from beachsaver.statistics.models import (
    StatisticsDaily,
    StatisticsDirtyDay,
    StatisticsPersonTotal,
    StatisticsRollupState,
)
from beachsaver.statistics.schemas import GroupBy, Period
from beachsaver.users.models import User

STATE_ID = 1
GRAINS = ("org", "team", "user", "trash")
#: The same figures summed over calendar months (``day`` = the month's first day), read for the
#: whole months inside a rolled-up range. Not for ``user``: a person has few rows a month, so
#: monthly sums would be nearly as many rows as the days (and a quarter of the roll-up's writes).
MONTH_SUFFIX = "_m"
MONTHLY = ("org", "team", "trash")
MONTH_GRAINS = tuple(g + MONTH_SUFFIX for g in MONTHLY)
#: Monthly grains of earlier versions, deleted with the others.
RETIRED_GRAINS = ("user_m",)
#: Days advanced per batch (fewer when they hold more than BATCH_REPORTS reports).
ADVANCE_DAYS = 31
BATCH_REPORTS = 50_000
#: Marked days recomputed per batch, and marks read per batch.
DIRTY_DAYS = 31
MARK_LIMIT = 5_000
#: A query splits its range into at most this many live runs of marked days (more are merged,
#: computing the clean days between them live as well).
MAX_LIVE_RUNS = 32
INSERT_CHUNK = 1_000
KST_OFFSET = timedelta(hours=9)

FIGURE_COLUMNS = (
    "investigation_reports",
    "cleaning_reports",
    "collection_requests",
    "litres_cents",
    "kg_cleaned_cents",
    "kg_collected_cents",
    "depots_waiting",
    "depots_collected",
    "collection_seconds",
    "collections_timed",
    "volunteer_hours_cents",
)
#: Accumulator slot of each figure column, and whether it is held in hundredths.
COLUMN_SLOT: dict[str, tuple[int, bool]] = {
    "investigation_reports": (agg.INV, False),
    "cleaning_reports": (agg.CLN, False),
    "collection_requests": (agg.REQ, False),
    "litres_cents": (agg.LITRES, True),
    "kg_cleaned_cents": (agg.KG_CLEANED, True),
    "kg_collected_cents": (agg.KG_COLLECTED, True),
    "depots_waiting": (agg.WAITING, False),
    "depots_collected": (agg.COLLECTED, False),
    "collection_seconds": (agg.SECONDS, False),
    "collections_timed": (agg.TIMED, False),
    "volunteer_hours_cents": (agg.VOL_HOURS, True),
}
HUNDRED = Decimal(100)
ZERO = Decimal(0)
#: ``read``'s row (the present bits, then ``FIGURE_COLUMNS``) → accumulator: the position each
#: slot is taken from, and the slots held in hundredths.
_SLOT_SOURCE: tuple[int, ...] = tuple(
    0 if slot == agg.PRESENT else 1 + [COLUMN_SLOT[c][0] for c in FIGURE_COLUMNS].index(slot)
    for slot in range(agg.SLOTS)
)
_HUNDREDTHS_SLOTS: tuple[int, ...] = tuple(slot for slot, hundredths in COLUMN_SLOT.values() if hundredths)


def seoul_day(value: datetime | None) -> date | None:
    """The Seoul day of an instant, exactly as ``sql.kst_day`` cuts it (a fixed +09:00)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value + KST_OFFSET).date()


# ---- dirty marks --------------------------------------------------------------------------------


def mark_dirty(db: Session, org_id: int, day: date) -> None:
    """Mark one (organisation, Seoul day) as changed, in the caller's transaction."""
    _write_marks(db, {(day, org_id)})


def mark_depot(db: Session, depot: CollectionDepot) -> None:
    """After a depot changed by a bulk UPDATE (claim, completion): its creation and completion days."""
    _write_marks(db, _depot_marks(depot.org_id, depot.created_at, depot.collection_completed_at))


def _write_marks(db: Session, marks: Iterable[tuple[date | None, int | None]]) -> None:
    rows = [{"day": d, "org_id": o, "created_at": utcnow()} for d, o in sorted(_valid(marks))]
    if rows:
        db.connection().execute(insert(StatisticsDirtyDay), rows)


def _valid(marks: Iterable[tuple[date | None, int | None]]) -> set[tuple[date, int]]:
    return {(d, o) for d, o in marks if d is not None and o is not None}


def _depot_marks(org_id: int | None, created: datetime | None, completed: datetime | None) -> set[tuple[Any, Any]]:
    return {(seoul_day(created or utcnow()), org_id), (seoul_day(completed), org_id)}


def _old_new(obj: Any, key: str, deleted: bool) -> tuple[Any, Any]:
    """The committed and the pending value of an attribute (the old one is None for a new
    object; the new one None for a deleted object)."""
    state = inspect(obj)
    history = state.attrs[key].load_history()
    current = history.added[0] if history.added else (history.unchanged[0] if history.unchanged else None)
    if state.pending or state.transient:
        return None, current
    old = history.deleted[0] if history.deleted else (history.unchanged[0] if history.unchanged else None)
    return old, (None if deleted else current)


def _changed(obj: Any, keys: Iterable[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[key].history.has_changes() for key in keys)


REPORT_KEYS = ("status", "event_at", "org_id", "beach_id", "team_id", "user_id", "type", "areas")
DEPOT_KEYS = (
    "status",
    "org_id",
    "report_id",
    "collector_id",
    "collected_amount",
    "collection_completed_at",
    "created_at",
)
CHILDREN = (ReportArea, Credit, Contribution)


@dataclass
class _Marks:
    found: set[tuple[Any, Any]] = field(default_factory=set)
    child_reports: set[int] = field(default_factory=set)
    requests: set[int] = field(default_factory=set)
    volunteers: set[int] = field(default_factory=set)


def _report(marks: _Marks, obj: Report, kind: str) -> None:
    if kind == "dirty" and not _changed(obj, REPORT_KEYS):
        return
    deleted = kind == "deleted"
    old_status, new_status = _old_new(obj, "status", deleted)
    was_live, is_live = old_status in agg.LIVE, new_status in agg.LIVE
    if not (was_live or is_live):
        return
    if kind == "dirty" and was_live == is_live and not _changed(obj, REPORT_KEYS[1:]):
        return  # e.g. SUBMITTED → APPROVED: both count the same
    old_at, new_at = _old_new(obj, "event_at", deleted)
    old_org, new_org = _old_new(obj, "org_id", deleted)
    if was_live:
        marks.found.add((seoul_day(old_at), old_org))
    if is_live:
        marks.found.add((seoul_day(new_at), new_org))
    if was_live != is_live and obj.type == ReportType.COLLECTION_REQUEST and obj.id is not None:
        marks.requests.add(obj.id)  # its depots start or stop counting


def _depot(marks: _Marks, obj: CollectionDepot, kind: str) -> None:
    if kind == "dirty" and not _changed(obj, DEPOT_KEYS):
        return
    deleted = kind == "deleted"
    old_status, new_status = _old_new(obj, "status", deleted)
    if old_status is None and new_status is None:
        return  # a draft request's depot counts nowhere
    old_org, new_org = _old_new(obj, "org_id", deleted)
    created = _old_new(obj, "created_at", False)[1]
    old_done, new_done = _old_new(obj, "collection_completed_at", deleted)
    marks.found |= _depot_marks(old_org, created, old_done) | _depot_marks(new_org, created, new_done)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Mark the (day, organisation) of every pending change to a statistics source."""
    marks = _Marks()
    with session.no_autoflush:
        for kind, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
            for obj in list(objects):
                if isinstance(obj, Report):
                    _report(marks, obj, kind)
                elif isinstance(obj, CollectionDepot):
                    _depot(marks, obj, kind)
                elif isinstance(obj, CHILDREN):
                    marks.child_reports |= {i for i in _old_new(obj, "report_id", False) if i is not None}
                elif isinstance(obj, User) and kind == "dirty" and _changed(obj, ("cleaner_type",)):
                    marks.volunteers.add(obj.id)
        if marks.child_reports:
            _child_marks(session, marks)
        if marks.requests:
            depot = CollectionDepot
            for org_id, created, completed in session.execute(
                # all of them: a request's draft depots turn WAITING when it is submitted
                select(depot.org_id, depot.created_at, depot.collection_completed_at).where(
                    depot.report_id.in_(sorted(marks.requests))
                )
            ):
                marks.found |= _depot_marks(org_id, created, completed)
        if marks.volunteers:
            for event_at, org_id in session.execute(
                select(Report.event_at, Report.org_id)
                .distinct()
                .join(Contribution, Contribution.report_id == Report.id)
                .where(
                    Contribution.user_id.in_(sorted(marks.volunteers)),
                    Report.type == ReportType.CLEANING,
                    Report.status.in_(agg.LIVE),
                )
            ):
                marks.found.add((seoul_day(event_at), org_id))
        _write_marks(session, marks.found)


def _child_marks(session: Session, marks: _Marks) -> None:
    """Areas, credits and contributions count through their report: its day when it is live."""
    missing: list[int] = []
    for report_id in sorted(marks.child_reports):
        report = session.identity_map.get(identity_key(Report, report_id))
        if report is None:
            missing.append(report_id)
        elif report.status in agg.LIVE:
            marks.found.add((seoul_day(report.event_at), report.org_id))
    if missing:
        for event_at, org_id in session.execute(
            select(Report.event_at, Report.org_id).where(Report.id.in_(missing), Report.status.in_(agg.LIVE))
        ):
            marks.found.add((seoul_day(event_at), org_id))


event.listen(Session, "before_flush", _before_flush)


# ---- serving ------------------------------------------------------------------------------------


DayRange = tuple[date | None, date]


@dataclass
class Plan:
    """The rolled-up day ranges (inclusive; an open start means "from the first day") and the
    time windows computed live."""

    rolled: list[DayRange]
    live: list[agg.Span]
    rolled_through: date | None = None


def plan(
    db: Session, org_ids: list[int], start: date | None, end: date | None, lo: datetime | None, hi: datetime | None
) -> Plan:
    """One statement: W and the marked days of these organisations up to W in [start, end]."""
    state, dirty = StatisticsRollupState, StatisticsDirtyDay
    join: list[ColumnElement[bool]] = [dirty.day <= state.rolled_through, dirty.org_id.in_(org_ids)]
    if start is not None:
        join.append(dirty.day >= start)
    if end is not None:
        join.append(dirty.day <= end)
    found = db.execute(
        select(state.rolled_through, dirty.day)
        .select_from(state)
        .outerjoin(dirty, and_(*join))
        .where(state.id == STATE_ID)
        .distinct()
    ).all()
    rolled_through = sql.as_date(found[0][0]) if found and found[0][0] is not None else None
    everything_live = Plan(rolled=[], live=[(lo, hi)], rolled_through=rolled_through)
    if rolled_through is None:
        return everything_live
    last = min(rolled_through, end) if end is not None else rolled_through
    if start is not None and start > last:
        return everything_live
    runs = _runs(sorted({sql.as_date(d) for _, d in found if d is not None}))
    runs = _coarsen(runs, MAX_LIVE_RUNS)
    rolled: list[DayRange] = []
    cursor: date | None = start
    for a, b in runs:
        if cursor is None or cursor < a:
            rolled.append((cursor, a - timedelta(days=1)))
        cursor = b + timedelta(days=1)
    if cursor is None or cursor <= last:
        rolled.append((cursor, last))
    live: list[agg.Span] = [(sql.kst_start(a), sql.kst_start(b + timedelta(days=1))) for a, b in runs]
    if end is None or end > last:
        live.append((sql.kst_start(last + timedelta(days=1)), hi))
    return Plan(rolled=rolled, live=live, rolled_through=rolled_through)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _coarsen(runs: list[tuple[date, date]], limit: int) -> list[tuple[date, date]]:
    """At most ``limit`` runs: fill the smallest gaps between them."""
    if len(runs) <= limit:
        return runs
    gaps = sorted(range(1, len(runs)), key=lambda i: (runs[i][0] - runs[i - 1][1], i))
    fill = set(gaps[: len(runs) - limit])
    merged = [runs[0]]
    for i in range(1, len(runs)):
        if i in fill:
            merged[-1] = (merged[-1][0], runs[i][1])
        else:
            merged.append(runs[i])
    return merged


def day_condition(column: Any, ranges: list[DayRange]) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    for a, b in ranges:
        parts.append(column <= b if a is None else and_(column >= a, column <= b))
    return parts[0] if len(parts) == 1 else or_(*parts)


#: The roll-up column each ``group_by`` groups by (``period`` is the day, or its month).
GROUP_COLUMN: dict[GroupBy, Any] = {
    GroupBy.ORG: StatisticsDaily.org_id,
    GroupBy.BEACH: StatisticsDaily.beach_id,
    GroupBy.TEAM: StatisticsDaily.team_id,
    GroupBy.USER: StatisticsDaily.user_id,
    GroupBy.TRASH_TYPE: StatisticsDaily.trash_type,
}


def grain_for(group_by: GroupBy, beach_id: int | None) -> str:
    if group_by in (GroupBy.PERIOD, GroupBy.ORG):
        return "org" if beach_id is None else "team"
    return {GroupBy.BEACH: "team", GroupBy.TEAM: "team", GroupBy.USER: "user", GroupBy.TRASH_TYPE: "trash"}[group_by]


def read(
    db: Session,
    w: agg.Window,
    ranges: list[DayRange],
    group_by: GroupBy,
    period: Period,
    rolled_through: date | None = None,
) -> agg.Acc:
    """The rolled-up figures of these day ranges: one statement. Keys as ``aggregate`` gives
    them for the same ``group_by`` (periods: the day, or the month for month and year).

    A breakdown by person over every rolled-up day (the ranges open at the start and reaching
    ``rolled_through``, no beach filter) reads the per-person totals instead of the daily rows,
    less the daily rows of the days between the ranges (marked days, computed live)."""
    d = StatisticsDaily
    if (
        group_by == GroupBy.USER
        and w.beach_id is None
        and rolled_through is not None
        and ranges[0][0] is None
        and ranges[-1][1] == rolled_through
    ):
        totals = _person_totals(w, _gaps(ranges))
        return _read_grouped(db, func.nullif(totals.c.user_id, 0), totals.c.report_type, totals.c, [])
    by_day = group_by == GroupBy.PERIOD and period in (Period.DAY, Period.WEEK)
    if group_by == GroupBy.PERIOD:
        key: Any = d.day if by_day else sql.date_month(db, d.day)
    else:
        key = GROUP_COLUMN[group_by]
    grain = grain_for(group_by, w.beach_id)
    days: list[DayRange] = []
    months: list[tuple[date | None, date]] = []
    for a, b in ranges:
        if by_day or grain not in MONTHLY:
            days.append((a, b))
        else:
            edges, whole = split_months(a, b)
            days.extend(edges)
            if whole is not None:
                months.append(whole)
    parts: list[ColumnElement[bool]] = []
    if days:
        parts.append(and_(d.grain == grain, day_condition(d.day, days)))
    for first, end in months:
        bounds = [d.day < end] if first is None else [d.day >= first, d.day < end]
        parts.append(and_(d.grain == grain + MONTH_SUFFIX, *bounds))
    where: list[ColumnElement[bool]] = [
        parts[0] if len(parts) == 1 else or_(*parts),
        d.org_id.in_(w.org_ids),
    ]
    if w.beach_id is not None:
        where.append(d.beach_id == w.beach_id)
    if w.type is not None:
        where.append(d.report_type == w.type)
    return _read_grouped(db, key, d.report_type, d.__table__.c, where)


def _read_grouped(db: Session, key: Any, report_type: Any, columns: Any, where: list[ColumnElement[bool]]) -> agg.Acc:
    """Key → accumulator of the figure ``columns`` grouped by ``key``."""
    # One row a key (the report types' rows summed together; which types were there is the sum
    # of their distinct bits), read as it comes (a server-side cursor: nothing is buffered). The
    # DISTINCT also has MariaDB group by sorting the rows: without it, the groups go to a
    # temporary table, which spills to disk beyond tmp_table_size (16 MB by default) with tens
    # of thousands of keys and is then about 5 times slower (100,000 workers: 70 s, not 14 s).
    present = func.sum(func.distinct(case(*((report_type == t.value, b) for t, b in agg.TYPE_BIT.items()), else_=0)))
    sums = [present, *(func.sum(columns[c]) for c in FIGURE_COLUMNS)]
    packed = sql.dialect_of(db) != "sqlite"
    # PyMySQL decodes every column in Python (a Decimal per sum): with tens of thousands of keys
    # that costs more than the query itself, so the sums come as one text of integers.
    figures: list[Any] = [func.concat_ws(",", *sums)] if packed else sums
    stmt = select(key, *figures).where(*where).group_by(key).order_by(null())
    acc: agg.Acc = {}
    for row in db.execute(stmt, execution_options={"stream_results": True}):
        values = list(map(int, row[1].split(","))) if packed else [int(v or 0) for v in row[1:]]
        slots: list[Any] = [values[i] for i in _SLOT_SOURCE]
        for slot in _HUNDREDTHS_SLOTS:
            cents = slots[slot]
            slots[slot] = Decimal(cents) / HUNDRED if cents else ZERO
        acc[(row[0],)] = slots
    return acc


def _gaps(ranges: list[DayRange]) -> list[DayRange]:
    """The days between consecutive ranges (sorted, disjoint)."""
    gaps: list[DayRange] = []
    for (_, end), (start, _) in pairwise(ranges):
        if start is not None and end + timedelta(days=1) <= start - timedelta(days=1):
            gaps.append((end + timedelta(days=1), start - timedelta(days=1)))
    return gaps


def _person_totals(w: agg.Window, stale: list[DayRange]) -> Any:
    """Per person (``user_id``, 0 for no one) and report type of the window's organisations: the
    totals less the ``user`` rows of the ``stale`` days; groups left with no daily row dropped."""
    t, d = StatisticsPersonTotal, StatisticsDaily
    totals = select(t.user_id, t.report_type, t.day_rows, *(getattr(t, c) for c in FIGURE_COLUMNS)).where(
        t.org_id.in_(w.org_ids)
    )
    if w.type is not None:
        totals = totals.where(t.report_type == w.type)
    parts: list[Select[Any]] = [totals]
    if stale:
        less = select(
            func.coalesce(d.user_id, 0).label("user_id"),
            d.report_type,
            literal(-1).label("day_rows"),
            *((-getattr(d, c)).label(c) for c in FIGURE_COLUMNS),
        ).where(d.grain == "user", day_condition(d.day, stale), d.org_id.in_(w.org_ids))
        if w.type is not None:
            less = less.where(d.report_type == w.type)
        parts.append(less)
    rows = union_all(*parts).subquery("person_rows")
    return (
        select(rows.c.user_id, rows.c.report_type, *(func.sum(rows.c[c]).label(c) for c in FIGURE_COLUMNS))
        .group_by(rows.c.user_id, rows.c.report_type)
        .having(func.sum(rows.c.day_rows) > 0)
        .subquery("person_totals")
    )


def _add_person_totals(db: Session, ranges: list[DayRange], sign: int) -> None:
    """Add (``sign`` 1) or subtract (-1) the ``user`` rows of these days to or from the
    per-person totals: one ``INSERT … SELECT`` that adds to the rows already there."""
    t, d = StatisticsPersonTotal, StatisticsDaily
    who = func.coalesce(d.user_id, 0)
    rows = (
        select(
            d.org_id,
            who.label("user_id"),
            d.report_type,
            (sign * func.count()).label("day_rows"),
            *((sign * func.sum(getattr(d, c))).label(c) for c in FIGURE_COLUMNS),
        )
        .where(d.grain == "user", day_condition(d.day, ranges))
        .group_by(d.org_id, who, d.report_type)
        .subquery("person_days")
    )
    added = ("day_rows", *FIGURE_COLUMNS)
    columns = ["org_id", "user_id", "report_type", *added]
    source = select(*(rows.c[c] for c in columns))
    if sql.dialect_of(db) == "sqlite":
        lite = sqlite_insert(t).from_select(columns, source.where(literal(True)))
        stmt: Any = lite.on_conflict_do_update(
            index_elements=[t.org_id, t.user_id, t.report_type],
            set_={c: getattr(t, c) + lite.excluded[c] for c in added},
        )
    else:
        my = mysql_insert(t).from_select(columns, source)
        stmt = my.on_duplicate_key_update({c: getattr(t, c) + my.inserted[c] for c in added})
    db.execute(stmt)


def split_months(a: date | None, b: date) -> tuple[list[DayRange], tuple[date | None, date] | None]:
    """A day range as the days outside whole calendar months, and the whole months
    (``[first month, end)`` by their first days; an open start means "from the first")."""
    after = b + timedelta(days=1)
    end = after if after.day == 1 else sql.month_start(b)  # the first day not in a whole month
    if a is None:
        first: date | None = None
    else:
        first = a if a.day == 1 else sql.add_months(sql.month_start(a), 1)
    if first is not None and first >= end:
        return [(a, b)], None
    edges: list[DayRange] = []
    if a is not None and first is not None and a < first:
        edges.append((a, first - timedelta(days=1)))
    if end <= b:
        edges.append((end, b))
    return edges, (first, end)


# ---- rolling up ----------------------------------------------------------------------------------


def _keys(db: Session, *, by_person: bool) -> agg.Keys:
    """Seoul day, organisation, beach, and the team (``by_person`` False) or the person each
    figure belongs to (True): the keys of the ``team`` and ``user`` grains."""

    def day(column: Any) -> Any:
        return sql.kst_day(db, column)

    depot = CollectionDepot
    if not by_person:
        team = (Report.beach_id, Report.team_id)
        return agg.Keys(
            report=(day(Report.event_at), Report.org_id, *team),
            completed=(day(depot.collection_completed_at), depot.org_id, *team),
            waiting=(day(depot.created_at), depot.org_id, *team),
            contribution=(day(Report.event_at), Report.org_id, *team),
        )
    return agg.Keys(
        report=(day(Report.event_at), Report.org_id, Report.beach_id, Report.user_id),
        completed=(day(depot.collection_completed_at), depot.org_id, Report.beach_id, depot.collector_id),
        waiting=(day(depot.created_at), depot.org_id, Report.beach_id, Report.user_id),
        contribution=(day(Report.event_at), Report.org_id, Report.beach_id, Contribution.user_id),
        credit=(day(Report.event_at), Report.org_id, Report.beach_id, Credit.user_id),
    )


def _as_day(db: Session, bucket: Any) -> Any:
    """A ``kst_day`` bucket as a DATE value (MySQL's buckets are ``TO_DAYS`` numbers)."""
    return bucket if sql.dialect_of(db) == "sqlite" else func.from_days(bucket)


def _month_of(db: Session, day: Any) -> Any:
    """The first day of a DATE column's month, as a DATE value."""
    if sql.dialect_of(db) == "sqlite":
        return func.date(day, "start of month")
    return func.subdate(day, func.dayofmonth(day) - 1)


def _insert_numbered(db: Session, grouped: Select[Any], partition: tuple[str, ...], order: tuple[str, ...]) -> int:
    """``INSERT … SELECT`` grouped rows (labelled with their column names), numbering them
    (``seq``) within ``partition``; returns the rows written. The numbering runs over the
    grouped rows in an outer query: MariaDB 10.11 numbers a window over a ``GROUP BY`` with
    ``COUNT(DISTINCT …)`` wrongly."""
    g = grouped.subquery("grouped")
    seq = func.row_number().over(partition_by=[g.c[k] for k in partition], order_by=[g.c[k] for k in order]) - 1
    rows = select(*g.c, seq.label("seq"))
    result = db.execute(insert(StatisticsDaily).from_select([*(c.key for c in g.c), "seq"], rows))
    return int(getattr(result, "rowcount", 0) or 0)


def _write_grain(db: Session, w: agg.Window, grain: str, by_person: bool) -> int:
    """The ``team`` or ``user`` rows of the window's days: one ``INSERT … SELECT`` grouping the
    source rows of ``aggregates.figure_rows`` (the live query's sources and conditions)."""
    source = union_all(*agg.figure_rows(db, w, _keys(db, by_person=by_person))).subquery("source")
    day, org_id, beach_id, who = source.c.k0, source.c.k1, source.c.k2, source.c.k3
    person = "user_id" if by_person else "team_id"
    grouped = select(
        literal(grain).label("grain"),
        _as_day(db, day).label("day"),
        org_id.label("org_id"),
        source.c.report_type,
        beach_id.label("beach_id"),
        who.label(person),
        *(func.sum(source.c[c]).label(c) for c in FIGURE_COLUMNS),
    ).group_by(day, org_id, beach_id, who, source.c.report_type)
    return _insert_numbered(db, grouped, ("day", "org_id"), ("beach_id", person, "report_type"))


def _write_org_grain(db: Session, ranges: list[DayRange]) -> int:
    """The ``org`` rows: the sums of the ``team`` rows just written (by construction the figures
    the organisation's teams and beaches add up to, kg cleaned included)."""
    d = StatisticsDaily
    grouped = (
        select(
            literal("org").label("grain"),
            d.day,
            d.org_id,
            d.report_type,
            *(func.sum(getattr(d, c)).label(c) for c in FIGURE_COLUMNS),
        )
        .where(d.grain == "team", day_condition(d.day, ranges))
        .group_by(d.day, d.org_id, d.report_type)
    )
    return _insert_numbered(db, grouped, ("day", "org_id"), ("report_type",))


def _write_trash_grain(db: Session, w: agg.Window) -> int:
    """The ``trash`` rows: the areas by day, organisation, beach and main litter type, a report
    counted once per litter type (``aggregates.aggregate_by_trash_type``)."""
    day = sql.kst_day(db, Report.event_at)
    reports = func.count(func.distinct(Report.id))

    def only(report_type: ReportType, value: Any) -> Any:
        return case((Report.type == report_type, value), else_=0)

    grouped = (
        select(
            literal("trash").label("grain"),
            _as_day(db, day).label("day"),
            Report.org_id,
            Report.type.label("report_type"),
            Report.beach_id,
            ReportArea.main_trash_type.label("trash_type"),
            only(ReportType.INVESTIGATION, reports).label("investigation_reports"),
            only(ReportType.CLEANING, reports).label("cleaning_reports"),
            only(ReportType.INVESTIGATION, func.sum(agg.hundredths(ReportArea.trash_amount_est_l))).label(
                "litres_cents"
            ),
            only(ReportType.CLEANING, func.sum(agg.hundredths(ReportArea.trash_amount_kg))).label("kg_cleaned_cents"),
        )
        .select_from(Report)
        .join(ReportArea, ReportArea.report_id == Report.id)
        .where(*agg.report_conditions(w, list(agg.AREA_TYPES)))
        .group_by(day, Report.org_id, Report.beach_id, ReportArea.main_trash_type, Report.type)
    )
    return _insert_numbered(db, grouped, ("day", "org_id"), ("beach_id", "trash_type", "report_type"))


def write_rows(db: Session, days: list[date]) -> int:
    """Write the roll-up rows of these days (all organisations) from the base tables, in four
    ``INSERT … SELECT`` statements (their old rows must be gone); returns the rows written."""
    runs = _runs(sorted(set(days)))
    org_ids = list(db.execute(select(Organization.id)).scalars())
    if not runs or not org_ids:
        return 0
    spans: list[agg.Span] = [(sql.kst_start(a), sql.kst_start(b + timedelta(days=1))) for a, b in runs]
    w = agg.Window(org_ids=org_ids, spans=spans)
    written = _write_grain(db, w, "team", by_person=False)
    written += _write_org_grain(db, [(a, b) for a, b in runs])
    written += _write_grain(db, w, "user", by_person=True)
    return written + _write_trash_grain(db, w)


def roll_days(db: Session, days: list[date], complete_through: date | None = None) -> int:
    """Replace the roll-up rows of these days (idempotent), and the monthly rows of their months
    (of those that end by ``complete_through``, when given: the others are read by day until
    they are complete); returns the rows written."""
    ranges: list[DayRange] = [(a, b) for a, b in _runs(sorted(set(days)))]
    if not ranges:
        return 0
    _add_person_totals(db, ranges, -1)
    db.execute(
        delete(StatisticsDaily).where(StatisticsDaily.grain.in_(GRAINS), day_condition(StatisticsDaily.day, ranges))
    )
    written = write_rows(db, days)
    _add_person_totals(db, ranges, 1)
    db.execute(delete(StatisticsPersonTotal).where(StatisticsPersonTotal.day_rows == 0))
    months = {sql.month_start(day) for day in days}
    if complete_through is not None:
        months = {m for m in months if sql.add_months(m, 1) <= complete_through + timedelta(days=1)}
    return written + roll_months(db, months)


def roll_months(db: Session, months: set[date]) -> int:
    """Replace the monthly rows of these months by the sums of their daily rows (one
    ``INSERT … SELECT``); returns the rows written."""
    if not months:
        return 0
    d = StatisticsDaily
    month_ranges: list[DayRange] = [(m, sql.add_months(m, 1) - timedelta(days=1)) for m in sorted(months)]
    db.execute(delete(d).where(d.grain.in_(MONTH_GRAINS + RETIRED_GRAINS), d.day.in_(sorted(months))))
    month = _month_of(db, d.day)
    keys = (d.org_id, d.beach_id, d.team_id, d.user_id, d.trash_type, d.report_type)
    sums = (
        select(
            (d.grain + MONTH_SUFFIX).label("grain"),
            month.label("day"),
            *keys,
            *(func.sum(getattr(d, c)).label(c) for c in FIGURE_COLUMNS),
        )
        .where(d.grain.in_(MONTHLY), day_condition(d.day, month_ranges))
        .group_by(d.grain, month, *keys)
    )
    return _insert_numbered(db, sums, ("grain", "day", "org_id"), tuple(k.key for k in keys))


def _lock_state(db: Session) -> StatisticsRollupState:
    stmt = select(StatisticsRollupState).where(StatisticsRollupState.id == STATE_ID)
    if db.get_bind().dialect.name == "mysql":
        stmt = stmt.with_for_update()
    state = db.execute(stmt).scalar_one_or_none()
    if state is None:
        state = StatisticsRollupState(id=STATE_ID, rolled_through=None)
        db.add(state)
        db.flush()
        # a concurrent first run inserting the same row fails on the primary key and retries
    return state


def _first_day(db: Session) -> date | None:
    """The earliest Seoul day any figure can fall on."""
    first = db.execute(
        select(
            select(func.min(Report.event_at)).where(Report.status.in_(agg.LIVE)).scalar_subquery(),
            select(func.min(CollectionDepot.created_at)).where(CollectionDepot.status.is_not(None)).scalar_subquery(),
            select(func.min(CollectionDepot.collection_completed_at)).scalar_subquery(),
        )
    ).one()
    days = [seoul_day(_aware(v)) for v in first if v is not None]
    return min((d for d in days if d is not None), default=None)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands MIN() of a DATETIME back as text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _advance_end(db: Session, after: date, target: date) -> date:
    """The last day of the next batch: up to ADVANCE_DAYS days within one calendar month (so a
    month's totals are computed once, when its last day is rolled up), fewer when they hold more
    than BATCH_REPORTS live reports (never fewer than one day)."""
    month_end = sql.add_months(sql.month_start(after + timedelta(days=1)), 1) - timedelta(days=1)
    end = min(after + timedelta(days=ADVANCE_DAYS), target, month_end)
    org_ids = list(db.execute(select(Organization.id)).scalars())
    while end > after + timedelta(days=1):
        count = db.execute(
            select(func.count()).where(
                Report.org_id.in_(org_ids),
                Report.type.in_([str(t) for t in ReportType]),
                Report.status.in_(agg.LIVE),
                Report.event_at >= sql.kst_start(after + timedelta(days=1)),
                Report.event_at < sql.kst_start(end + timedelta(days=1)),
            )
        ).scalar_one()
        if count <= BATCH_REPORTS:
            break
        end = after + timedelta(days=max(1, (end - after).days // 2))
    return end


def _catch_unmarked(db: Session, state: StatisticsRollupState, rolled_through: date | None) -> None:
    """Mark the days of reports and depots inserted since the last run that fall on rolled-up
    days (rows the ORM wrote are marked already; this catches bulk loads). Two primary-key
    ranges; then remember the highest ids seen."""
    report_max, depot_max = db.execute(
        select(select(func.max(Report.id)).scalar_subquery(), select(func.max(CollectionDepot.id)).scalar_subquery())
    ).one()
    if rolled_through is not None:
        found: set[tuple[Any, Any]] = set()
        until = sql.kst_start(rolled_through + timedelta(days=1))
        if report_max is not None and (state.report_id_seen or 0) < report_max:
            for event_at, org_id in db.execute(
                select(Report.event_at, Report.org_id).where(
                    Report.id > (state.report_id_seen or 0),
                    Report.id <= report_max,
                    Report.status.in_(agg.LIVE),
                    Report.event_at < until,
                )
            ):
                found.add((seoul_day(_aware(event_at)), org_id))
        if depot_max is not None and (state.depot_id_seen or 0) < depot_max:
            depot = CollectionDepot
            for org_id, created, completed in db.execute(
                select(depot.org_id, depot.created_at, depot.collection_completed_at).where(
                    depot.id > (state.depot_id_seen or 0), depot.id <= depot_max, depot.status.is_not(None)
                )
            ):
                found |= {
                    (d, o) for d, o in _depot_marks(org_id, _aware(created), completed) if d and d <= rolled_through
                }
        _write_marks(db, found)
    state.report_id_seen, state.depot_id_seen = report_max, depot_max


@dataclass
class BatchResult:
    days: int = 0
    rows: int = 0
    marks_cleared: int = 0


def roll_batch(db: Session, today: date | None = None) -> BatchResult:
    """One bounded batch in the caller's transaction: recompute up to DIRTY_DAYS marked days,
    or else advance W by up to ADVANCE_DAYS closed days. Marks are read before the sources, and
    only the marks read are deleted."""
    today = today or seoul_today()
    target = today - timedelta(days=1)
    state = _lock_state(db)
    rolled_through = sql.as_date(state.rolled_through) if state.rolled_through is not None else None
    result = BatchResult()
    if rolled_through is None:
        _catch_unmarked(db, state, None)
        first = _first_day(db)
        rolled_through = first - timedelta(days=1) if first is not None and first <= target else target
    else:
        _catch_unmarked(db, state, rolled_through)
    marks = db.execute(
        select(StatisticsDirtyDay.id, StatisticsDirtyDay.day)
        .where(StatisticsDirtyDay.day <= rolled_through)
        .order_by(StatisticsDirtyDay.day, StatisticsDirtyDay.id)
        .limit(MARK_LIMIT)
    ).all()
    if marks:
        days = sorted({sql.as_date(d) for _, d in marks})[:DIRTY_DAYS]
        chosen = set(days)
        ids = [i for i, d in marks if sql.as_date(d) in chosen]
        result.rows = roll_days(db, days, complete_through=rolled_through)
        for i in range(0, len(ids), INSERT_CHUNK):
            db.execute(delete(StatisticsDirtyDay).where(StatisticsDirtyDay.id.in_(ids[i : i + INSERT_CHUNK])))
        result.days, result.marks_cleared = len(days), len(ids)
    elif rolled_through < target:
        end = _advance_end(db, rolled_through, target)
        seen = list(
            db.execute(
                select(StatisticsDirtyDay.id).where(
                    StatisticsDirtyDay.day > rolled_through, StatisticsDirtyDay.day <= end
                )
            ).scalars()
        )
        days = [rolled_through + timedelta(days=i) for i in range(1, (end - rolled_through).days + 1)]
        result.rows = roll_days(db, days, complete_through=end)
        for i in range(0, len(seen), INSERT_CHUNK):
            db.execute(delete(StatisticsDirtyDay).where(StatisticsDirtyDay.id.in_(seen[i : i + INSERT_CHUNK])))
        result.days, result.marks_cleared = len(days), len(seen)
        rolled_through = end
    # Marks after W concern days that will be rolled up from the tables as they are then.
    cleared = db.execute(delete(StatisticsDirtyDay).where(StatisticsDirtyDay.day > rolled_through))
    result.marks_cleared += int(getattr(cleared, "rowcount", 0) or 0)
    if state.rolled_through != rolled_through or result.days:
        state.rolled_through = rolled_through
        state.rolled_at = utcnow()
    return result


def run(factory: sessionmaker[Session], *, today: date | None = None, budget_s: float = 600.0) -> int:
    """Batches (one transaction each) until nothing is left or the time budget is spent;
    returns the days rolled up."""
    started = time.monotonic()
    days = 0
    while True:
        with session_scope(factory) as db:
            result = roll_batch(db, today)
        days += result.days
        if result.days == 0 or time.monotonic() - started > budget_s:
            return days


def reset(db: Session) -> None:
    """Forget the roll-up (after writing the source tables without the ORM): everything is live
    until the next run rebuilds it."""
    db.execute(delete(StatisticsDaily))
    db.execute(delete(StatisticsPersonTotal))
    db.execute(delete(StatisticsDirtyDay))
    db.execute(delete(StatisticsRollupState))
