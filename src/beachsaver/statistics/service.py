"""Statistics rows (07 §10): rolled-up figures of closed days plus live figures of the rest.

Each request runs, whatever the amount of data: the scope look-ups, one statement reading the
roll-up's watermark and the changed ("dirty") days of the chosen organisations, one statement
over ``statistics_daily`` for the clean closed days (``rollup.py``), at most five aggregates over
the base tables for the other days (``aggregates.py``, which states the counting rules), and one
statement for the names of the keys. Both sides group by the same keys (Seoul day or month,
organisation, beach, team, person, litter type), so their sums are the figures the live
computation alone would give. Python folds days into ISO weeks, months or years and districts
into the children of the chosen organisation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.beaches.models import Beach
from beachsaver.core import errors
from beachsaver.core.deps import Principal
from beachsaver.core.enums import LitterType, ReportType
from beachsaver.depots.models import CollectionDepot
from beachsaver.orgs.models import Organization
from beachsaver.reports.models import Contribution, Credit, Report
from beachsaver.statistics import aggregates as agg
from beachsaver.statistics import rollup, sql
from beachsaver.statistics.aggregates import (
    CLN,
    COLLECTED,
    INV,
    KG_CLEANED,
    KG_COLLECTED,
    LITRES,
    LIVE,
    REQ,
    SECONDS,
    TIMED,
    VOL_HOURS,
    WAITING,
)
from beachsaver.statistics.schemas import GroupBy, Period
from beachsaver.teams.models import Team
from beachsaver.users.models import User

__all__ = ["LIVE", "Filters", "Table", "resolve", "rows", "table"]

KEY_FIELDS: dict[GroupBy, tuple[str, ...]] = {
    GroupBy.PERIOD: ("period",),
    GroupBy.ORG: ("org_id", "org_name"),
    GroupBy.BEACH: ("beach_id", "beach_name"),
    GroupBy.TEAM: ("team_id", "team_name"),
    GroupBy.USER: ("user_id", "nickname"),
    GroupBy.TRASH_TYPE: ("trash_type",),
}
FIGURES: tuple[str, ...] = (
    "investigation_reports",
    "cleaning_reports",
    "collection_requests",
    "litres_estimated",
    "kg_cleaned",
    "kg_collected",
    "depots_waiting",
    "depots_collected",
    "volunteer_hours",
    "avg_hours_to_collection",
)
#: Figures that cannot be split by litter type.
NOT_BY_TRASH_TYPE = frozenset(
    {
        "collection_requests",
        "kg_collected",
        "depots_waiting",
        "depots_collected",
        "volunteer_hours",
        "avg_hours_to_collection",
    }
)
#: At most this many period rows are filled in (a day series of ~27 years).
MAX_PERIODS = 10_000
CENT = Decimal("0.01")


def columns_for(group_by: GroupBy) -> tuple[str, ...]:
    """The fields of a row, in order: the key, then the figures."""
    return KEY_FIELDS[group_by] + FIGURES


@dataclass(frozen=True)
class OrgNode:
    id: int
    name: str
    parent_id: int | None
    path: str


@dataclass
class Filters:
    """The resolved query: dates, the organisation subtree and the other filters."""

    org: OrgNode
    orgs: list[OrgNode]
    start: date | None = None
    end: date | None = None
    beach_id: int | None = None
    type: ReportType | None = None
    lo: datetime | None = field(default=None, init=False)
    hi: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.lo, self.hi = sql.kst_range(self.start, self.end)

    @property
    def org_ids(self) -> list[int]:
        return [o.id for o in self.orgs]

    def wants(self, report_type: ReportType) -> bool:
        return self.type is None or self.type == report_type

    def window(self, spans: list[agg.Span]) -> agg.Window:
        return agg.Window(org_ids=self.org_ids, spans=spans, beach_id=self.beach_id, type=self.type)


# ---- parameters ----------------------------------------------------------------------------------


#: Dates outside these years are refused (their Seoul day bounds would overflow).
FIRST_YEAR, LAST_YEAR = 1900, 2999


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise errors.ValidationFailed.field(f"query.{name}", "invalid_date") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise errors.ValidationFailed.field(f"query.{name}", f"must lie between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def resolve(
    db: Session,
    principal: Principal,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    org_id: int | None = None,
    beach_id: int | None = None,
    type: ReportType | None = None,
) -> Filters:
    """Checks the filters against the caller's scope: an organisation or beach outside it → 404."""
    problems: list[dict[str, str]] = []
    start = end = None
    for name, value in (("from", date_from), ("to", date_to)):
        try:
            parsed = parse_day(value, name)
        except errors.ValidationFailed as exc:
            problems.extend(exc.details or [])
            continue
        if name == "from":
            start = parsed
        else:
            end = parsed
    if start is not None and end is not None and start > end:
        problems.append({"field": "query.from", "message": "from must not be after to"})
    if problems:
        raise errors.ValidationFailed(details=problems)
    if org_id is not None:
        chosen = db.get(Organization, org_id)
        if chosen is None or chosen.id not in principal.scope_org_ids(db):
            raise errors.NotFound()
    else:
        chosen = principal.org
    rows = db.execute(
        select(Organization.id, Organization.name, Organization.parent_id, Organization.path).where(
            Organization.path.startswith(chosen.path)
        )
    ).all()
    orgs = [OrgNode(id=r.id, name=r.name, parent_id=r.parent_id, path=r.path) for r in rows]
    if beach_id is not None:
        # the caller's scope is the chosen subtree unless an organisation was named
        scope = principal.scope_org_ids(db) if org_id is not None else [o.id for o in orgs]
        beach_org = db.execute(select(Beach.org_id).where(Beach.id == beach_id)).scalar_one_or_none()
        if beach_org is None or beach_org not in scope:
            raise errors.NotFound()
    node = next(o for o in orgs if o.id == chosen.id)
    return Filters(org=node, orgs=orgs, start=start, end=end, beach_id=beach_id, type=type)


# ---- the figures: rolled-up days + live days ------------------------------------------------------


def _bucket(db: Session, period: Period, column: Any) -> ColumnElement[Any]:
    """Days for day/week series (folded into ISO weeks in Python), months for month/year."""
    if period in (Period.MONTH, Period.YEAR):
        return sql.kst_month(db, column)
    return sql.kst_day(db, column)


def live_keys(db: Session, group_by: GroupBy, period: Period) -> agg.Keys:
    """The grouping expression of each source for one ``group_by`` (not ``trash_type``)."""
    depot = CollectionDepot
    if group_by == GroupBy.PERIOD:
        return agg.Keys(
            report=(_bucket(db, period, Report.event_at),),
            completed=(_bucket(db, period, depot.collection_completed_at),),
            waiting=(_bucket(db, period, depot.created_at),),
            contribution=(_bucket(db, period, Report.event_at),),
        )
    if group_by == GroupBy.ORG:
        return agg.Keys((Report.org_id,), (depot.org_id,), (depot.org_id,), (Report.org_id,))
    if group_by == GroupBy.BEACH:
        return agg.Keys((Report.beach_id,), (Report.beach_id,), (Report.beach_id,), (Report.beach_id,))
    if group_by == GroupBy.TEAM:
        return agg.Keys((Report.team_id,), (Report.team_id,), (Report.team_id,), (Report.team_id,))
    return agg.Keys(
        report=(Report.user_id,),
        completed=(depot.collector_id,),
        waiting=(Report.user_id,),
        contribution=(Contribution.user_id,),
        credit=(Credit.user_id,),
    )


def _normal(raw: Any, group_by: GroupBy, period: Period) -> Any:
    """One key as both sources give it: periods as the day (or month) ``date``."""
    if group_by != GroupBy.PERIOD or raw is None:
        return raw
    return sql.month_of(raw) if period in (Period.MONTH, Period.YEAR) else sql.day_of(raw)


def figures(db: Session, f: Filters, group_by: GroupBy, period: Period) -> dict[Any, list[Any]]:
    """Key → accumulator (``aggregates`` slots): the rolled-up clean days up to the roll-up's
    watermark (one statement) plus everything else computed live (at most six statements),
    after one statement reading the watermark and the marked days."""
    plan = rollup.plan(db, f.org_ids, f.start, f.end, f.lo, f.hi)
    acc: dict[Any, list[Any]] = defaultdict(agg.empty)
    if plan.live:
        window = f.window(plan.live)
        if group_by == GroupBy.TRASH_TYPE:
            live = agg.aggregate_by_trash_type(db, window)
        else:
            live = agg.aggregate(db, window, live_keys(db, group_by, period))
        for key, slots in live.items():
            agg.merge(acc[_normal(key[0], group_by, period)], slots)
    if plan.rolled:
        for key, slots in rollup.read(db, f.window([]), plan.rolled, group_by, period, plan.rolled_through).items():
            normal = _normal(key[0], group_by, period)
            if normal in acc:
                agg.merge(acc[normal], slots)
            else:
                acc[normal] = slots  # most keys: taken over as read
    return acc


# ---- rows ----------------------------------------------------------------------------------------


def _money(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _figure_values(slots: list[Any]) -> tuple[Any, ...]:
    """The figures of one row, in ``FIGURES`` order."""
    timed = slots[TIMED]
    return (
        slots[INV],
        slots[CLN],
        slots[REQ],
        _money(slots[LITRES]),
        _money(slots[KG_CLEANED]),
        _money(slots[KG_COLLECTED]),
        slots[WAITING],
        slots[COLLECTED],
        _money(slots[VOL_HOURS]),
        round(slots[SECONDS] / (3600 * timed), 2) if timed else None,
    )


def _trash_type_figure_values(slots: list[Any]) -> tuple[Any, ...]:
    """``_figure_values`` with the figures that cannot be split by litter type left empty."""
    return tuple(
        None if name in NOT_BY_TRASH_TYPE else value for name, value in zip(FIGURES, _figure_values(slots), strict=True)
    )


def period_start(day: date, period: Period) -> date:
    if period == Period.DAY:
        return day
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == Period.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_period(start: date, period: Period) -> date:
    if period == Period.DAY:
        return start + timedelta(days=1)
    if period == Period.WEEK:
        return start + timedelta(days=7)
    if period == Period.MONTH:
        return sql.add_months(start, 1)
    return start.replace(year=start.year + 1)


def period_series(first: date, last: date, period: Period) -> Iterator[date]:
    current = period_start(first, period)
    end = period_start(last, period)
    while current <= end:
        yield current
        current = next_period(current, period)


def count_periods(first: date, last: date, period: Period) -> int:
    a, b = period_start(first, period), period_start(last, period)
    if period == Period.DAY:
        return (b - a).days + 1
    if period == Period.WEEK:
        return (b - a).days // 7 + 1
    if period == Period.MONTH:
        return (b.year - a.year) * 12 + b.month - a.month + 1
    return b.year - a.year + 1


def check_period_range(f: Filters, period: Period) -> None:
    if f.start is not None and f.end is not None and count_periods(f.start, f.end, period) > MAX_PERIODS:
        raise errors.ValidationFailed.field(
            "query.period", f"at most {MAX_PERIODS} periods; choose a longer period or a shorter range"
        )


def _sort_key(value: Any) -> tuple[int, Any]:
    return (1, 0) if value is None else (0, value)


TRASH_ORDER = {t.value: i for i, t in enumerate(LitterType)}


@dataclass
class Table:
    """The statistics rows as value tuples in ``fields`` order, ordered by their key, with their
    number known before the first is built. Everything is read from the database when the table
    is made; iterating (once) only formats the accumulated figures (one tuple at a time, releasing each
    key's accumulator as it goes), so a caller can stream the rows after the session has ended."""

    fields: tuple[str, ...]
    count: int
    _rows: Iterator[tuple[Any, ...]]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self._rows


def table(db: Session, f: Filters, group_by: GroupBy, period: Period = Period.MONTH) -> Table:
    """The statistics rows, ordered by their key (periods ascending, ids ascending, no key last)."""
    if group_by == GroupBy.PERIOD:
        check_period_range(f, period)
    acc = figures(db, f, group_by, period)
    fields = columns_for(group_by)
    if group_by == GroupBy.PERIOD:
        folded = _fold_periods(acc, f, period)
        keys: list[Any] = sorted(folded)
        return Table(fields, len(keys), ((k.isoformat(), *_figure_values(folded.pop(k))) for k in keys))
    if group_by == GroupBy.ORG:
        by_org, names = _fold_orgs(acc, f)
        keys = sorted(by_org)
        return Table(fields, len(keys), ((k, names[k], *_figure_values(by_org.pop(k))) for k in keys))
    if group_by == GroupBy.TRASH_TYPE:
        keys = sorted(acc, key=lambda k: (1, 0) if k is None else (0, TRASH_ORDER.get(k, len(TRASH_ORDER))))
        return Table(fields, len(keys), ((k, *_trash_type_figure_values(acc.pop(k))) for k in keys))
    names = _names(db, f, group_by, [k for k in acc if k is not None])
    keys = sorted(acc, key=_sort_key)
    return Table(
        fields,
        len(keys),
        ((k, names.get(k) if k is not None else None, *_figure_values(acc.pop(k))) for k in keys),
    )


def rows(db: Session, f: Filters, group_by: GroupBy, period: Period = Period.MONTH) -> list[dict[str, Any]]:
    """The statistics rows as the API answers them: one dict a row, key fields then figures."""
    found = table(db, f, group_by, period)
    return [dict(zip(found.fields, values, strict=True)) for values in found]


def _fold_periods(acc: dict[Any, list[Any]], f: Filters, period: Period) -> dict[date, list[Any]]:
    """Days (or months) folded into the periods, every period of the range present."""
    folded: dict[date, list[Any]] = {}
    for day, slots in acc.items():
        if day is None:
            continue
        agg.merge(folded.setdefault(period_start(day, period), agg.empty()), slots)
    first = f.start or (min(folded) if folded else None)
    last = f.end or (max(folded) if folded else None)
    if first is not None and last is not None and count_periods(first, last, period) <= MAX_PERIODS:
        for start in period_series(first, last, period):
            folded.setdefault(start, agg.empty())
    return folded


def _fold_orgs(acc: dict[Any, list[Any]], f: Filters) -> tuple[dict[int, list[Any]], dict[int, str]]:
    """Groups by the children of the chosen organisation (itself when it has none); their names."""
    children = sorted((o for o in f.orgs if o.parent_id == f.org.id), key=lambda o: o.id)
    groups = children or [f.org]
    by_id = {o.id: o for o in f.orgs}
    folded: dict[int, list[Any]] = {g.id: agg.empty() for g in groups}
    for raw, slots in acc.items():
        node = by_id.get(int(raw)) if raw is not None else None
        if node is None:
            continue
        target = next((g for g in groups if node.path.startswith(g.path)), f.org)
        agg.merge(folded.setdefault(target.id, agg.empty()), slots)
    return folded, {i: by_id[i].name for i in folded}


NAME_BATCH = 500
NAME_SOURCES: dict[GroupBy, tuple[Any, Any, Any]] = {
    GroupBy.BEACH: (Beach.id, Beach.beach_name, Beach.org_id),
    GroupBy.TEAM: (Team.id, Team.name, Team.org_id),
    GroupBy.USER: (User.id, User.nickname, User.org_id),
}


def _names(db: Session, f: Filters, group_by: GroupBy, ids: list[Any]) -> dict[Any, str]:
    """Names of the keys in one statement: by id when there are few keys, else every name of
    the subtree (plus a chunked look-up for keys whose row lives elsewhere, e.g. a worker moved
    to another district)."""
    id_col, name_col, org_col = NAME_SOURCES[group_by]
    if not ids:
        return {}
    if len(ids) <= NAME_BATCH:
        return dict(db.execute(select(id_col, name_col).where(id_col.in_(ids))).tuples().all())
    # every name of the subtree (as many as the keys, or more): read as they come, not buffered
    found = db.execute(
        select(id_col, name_col).where(org_col.in_(f.org_ids)), execution_options={"stream_results": True}
    )
    names: dict[Any, str] = {key: name for key, name in found.tuples()}
    missing = [i for i in ids if i not in names]
    for start in range(0, len(missing), NAME_BATCH):
        chunk = missing[start : start + NAME_BATCH]
        names.update(db.execute(select(id_col, name_col).where(id_col.in_(chunk))).tuples().all())
    return names
