"""The figures of 07 §10 computed from the base tables, grouped by any tuple of key expressions.

``aggregate`` serves the live part of ``GET /api/statistics`` (one key: a period bucket, an
organisation, a beach, a team, a person); ``figure_rows`` gives the roll-up the same sources under
the same conditions (``report_conditions``, ``depot_conditions``) as rows to group in SQL
(several keys: Seoul day, organisation, beach, team or person), so the rolled-up rows are the
sums the live query would have given (``tests/statistics/test_rollup.py`` proves it). Every
statement carries ``ORDER BY NULL`` (MariaDB otherwise sorts the
groups); the time windows are OR'ed half-open ranges on each source's own date column.

Rules:
- reports count when ``SUBMITTED`` or ``APPROVED``, dated by ``event_at`` (investigation or
  cleaning time, else submission time). Only drafts can be deleted, so a live status implies
  a report that is not deleted;
- ``litres_estimated`` sums investigation areas' ``trash_amount_est_l``; ``kg_cleaned`` sums
  cleaning areas' ``trash_amount_kg`` (by person: each member's credited kg, or the whole
  report for its author when it has no credit rows);
- ``kg_collected``/``depots_collected``: depots of live requests completed in the window (by
  ``collection_completed_at``), attributed to the collector by person;
- ``depots_waiting``: depots of live requests created in the window and still ``WAITING``
  (attributed to the requester by person);
- ``volunteer_hours``: contribution hours of volunteer cleaners on live cleaning reports, dated
  by the report;
- ``avg_hours_to_collection``: whole seconds from the request's submission to each depot's
  completion (never negative), summed with the number of such depots;
- the ``type`` filter keeps the figures that come from reports of that type (depot figures
  come from collection requests, volunteer hours from cleaning reports).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, and_, case, exists, func, literal, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.core.enums import CleanerType, DepotStatus, ReportStatus, ReportType
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports.models import Contribution, Credit, Report, ReportArea
from beachsaver.statistics import sql
from beachsaver.users.models import User

LIVE = (ReportStatus.SUBMITTED, ReportStatus.APPROVED)
AREA_TYPES = (ReportType.INVESTIGATION, ReportType.CLEANING)

# Accumulator slots. PRESENT is a bit set of the report types whose sources produced the group
# (a group exists for a type filter only when that type's sources produced it).
INV, CLN, REQ, LITRES, KG_CLEANED, KG_COLLECTED, WAITING, COLLECTED, VOL_HOURS, SECONDS, TIMED, PRESENT = range(12)
SLOTS = 12
COUNT_SLOT = {ReportType.INVESTIGATION: INV, ReportType.CLEANING: CLN, ReportType.COLLECTION_REQUEST: REQ}
#: The slots each report type's sources fill.
TYPE_SLOTS: dict[ReportType, tuple[int, ...]] = {
    ReportType.INVESTIGATION: (INV, LITRES),
    ReportType.CLEANING: (CLN, KG_CLEANED, VOL_HOURS),
    ReportType.COLLECTION_REQUEST: (REQ, KG_COLLECTED, WAITING, COLLECTED, SECONDS, TIMED),
}
TYPE_BIT = {ReportType.INVESTIGATION: 1, ReportType.CLEANING: 2, ReportType.COLLECTION_REQUEST: 4}

#: A half-open time window ``[lo, hi)``; either side may be open.
Span = tuple[datetime | None, datetime | None]
Acc = dict[tuple[Any, ...], list[Any]]


def empty() -> list[Any]:
    return [0, 0, 0, Decimal(0), Decimal(0), Decimal(0), 0, 0, Decimal(0), 0, 0, 0]


def merge(into: list[Any], slots: list[Any]) -> None:
    for i in range(PRESENT):
        into[i] += slots[i]
    into[PRESENT] |= slots[PRESENT]


def dec(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


@dataclass
class Window:
    """What the aggregates read: organisations, optionally one beach and one report type, and
    the time windows (OR'ed; at least one)."""

    org_ids: list[int]
    spans: list[Span]
    beach_id: int | None = None
    type: ReportType | None = None

    def wants(self, report_type: ReportType) -> bool:
        return self.type is None or self.type == report_type


@dataclass
class Keys:
    """The grouping expressions of each source. ``credit`` set means "by person": a team
    cleaning's kg goes to its credited members (grouped by ``credit``), a solo cleaning's to its
    author."""

    report: tuple[Any, ...]
    completed: tuple[Any, ...]
    waiting: tuple[Any, ...]
    contribution: tuple[Any, ...]
    credit: tuple[Any, ...] | None = None


def within(column: Any, spans: list[Span]) -> ColumnElement[bool]:
    """``column`` inside one of the windows (never NULL: undated rows belong to no period)."""
    parts: list[ColumnElement[bool]] = []
    for lo, hi in spans:
        bounds: list[ColumnElement[bool]] = []
        if lo is not None:
            bounds.append(column >= lo)
        if hi is not None:
            bounds.append(column < hi)
        if not bounds:
            return column.is_not(None)
        parts.append(and_(*bounds))
    return parts[0] if len(parts) == 1 else or_(*parts)


def report_conditions(w: Window, types: list[ReportType]) -> list[ColumnElement[bool]]:
    """Live reports of these types (always named: with the status and organisation they make
    the prefix of the (org_id, type, status, event_at) index, read as a few ranges)."""
    conditions: list[ColumnElement[bool]] = [
        Report.status.in_(LIVE),
        Report.org_id.in_(w.org_ids),
        Report.type == types[0] if len(types) == 1 else Report.type.in_(types),
        within(Report.event_at, w.spans),
    ]
    if w.beach_id is not None:
        conditions.append(Report.beach_id == w.beach_id)
    return conditions


def depot_conditions(w: Window, dated_by: Any) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Report.status.in_(LIVE),
        Report.type == ReportType.COLLECTION_REQUEST,
        CollectionDepot.org_id.in_(w.org_ids),
        within(dated_by, w.spans),
    ]
    if w.beach_id is not None:
        conditions.append(Report.beach_id == w.beach_id)
    return conditions


def aggregate(db: Session, w: Window, keys: Keys) -> Acc:
    """Key tuple → accumulator (see the slot constants): at most five statements."""
    acc: Acc = defaultdict(empty)
    report_where = report_conditions(w, [w.type] if w.type is not None else list(ReportType))

    # 1. report counts (an index range of reports)
    n = len(keys.report)
    counts = (
        select(*keys.report, Report.type, func.count())
        .where(*report_where)
        .group_by(*keys.report, Report.type)
        .order_by(null())
    )
    for row in db.execute(counts):
        report_type = ReportType(row[n])
        slots = acc[tuple(row[:n])]
        slots[COUNT_SLOT[report_type]] += int(row[n + 1])
        slots[PRESENT] |= TYPE_BIT[report_type]

    # 2. litres estimated and kg cleaned from the areas (and the credits, by person)
    _add_areas(db, w, keys.report, keys.credit, acc)

    if w.wants(ReportType.COLLECTION_REQUEST):
        request_bit = TYPE_BIT[ReportType.COLLECTION_REQUEST]
        # 3. depots completed in the window
        completed_at = CollectionDepot.collection_completed_at
        m = len(keys.completed)
        completed = (
            select(
                *keys.completed,
                func.count(),
                func.sum(CollectionDepot.collected_amount),
                func.sum(sql.seconds_between(db, Report.submitted_at, completed_at)),
                func.count(Report.submitted_at),
            )
            .select_from(CollectionDepot)
            .join(Report, Report.id == CollectionDepot.report_id)
            .where(*depot_conditions(w, completed_at), CollectionDepot.status == DepotStatus.COMPLETED)
            .group_by(*keys.completed)
            .order_by(null())
        )
        for row in db.execute(completed):
            slots = acc[tuple(row[:m])]
            slots[COLLECTED] += int(row[m])
            slots[KG_COLLECTED] += dec(row[m + 1])
            slots[SECONDS] += int(row[m + 2] or 0)
            slots[TIMED] += int(row[m + 3])
            slots[PRESENT] |= request_bit
        # 4. depots created in the window and still waiting
        m = len(keys.waiting)
        waiting = (
            select(*keys.waiting, func.count())
            .select_from(CollectionDepot)
            .join(Report, Report.id == CollectionDepot.report_id)
            .where(*depot_conditions(w, CollectionDepot.created_at), CollectionDepot.status == DepotStatus.WAITING)
            .group_by(*keys.waiting)
            .order_by(null())
        )
        for row in db.execute(waiting):
            slots = acc[tuple(row[:m])]
            slots[WAITING] += int(row[m])
            slots[PRESENT] |= request_bit

    if w.wants(ReportType.CLEANING):
        # 5. volunteer hours
        m = len(keys.contribution)
        hours = (
            select(*keys.contribution, func.sum(Contribution.hours))
            .select_from(Contribution)
            .join(Report, Report.id == Contribution.report_id)
            .join(User, User.id == Contribution.user_id)
            .where(
                *report_conditions(w, [ReportType.CLEANING]),
                User.cleaner_type == CleanerType.VOLUNTEER,
                Contribution.hours.is_not(None),
            )
            .group_by(*keys.contribution)
            .order_by(null())
        )
        for row in db.execute(hours):
            slots = acc[tuple(row[:m])]
            slots[VOL_HOURS] += dec(row[m])
            slots[PRESENT] |= TYPE_BIT[ReportType.CLEANING]
    return acc


def area_totals(db: Session, w: Window, key: tuple[Any, ...]) -> Acc:
    """Key tuple → litres estimated and kg cleaned of the areas (no credits): one statement."""
    acc: Acc = defaultdict(empty)
    _add_areas(db, w, key, None, acc)
    return acc


def _add_areas(db: Session, w: Window, key: tuple[Any, ...], credit: tuple[Any, ...] | None, acc: Acc) -> None:
    area_types = [t for t in AREA_TYPES if w.wants(t)]
    if not area_types:
        return
    n = len(key)
    area_where = report_conditions(w, area_types)
    if credit is not None:
        # Cleaning kg goes to the members through their credits (below); a cleaning report
        # without credit rows (solo) counts for its author here.
        credited = exists().where(Credit.report_id == Report.id)
        alternatives: list[ColumnElement[bool]] = []
        if w.wants(ReportType.INVESTIGATION):
            alternatives.append(Report.type == ReportType.INVESTIGATION)
        if w.wants(ReportType.CLEANING):
            alternatives.append(and_(Report.type == ReportType.CLEANING, ~credited))
        area_where.append(or_(*alternatives))
    areas: Any = (
        select(
            *key,
            Report.type,
            func.sum(ReportArea.trash_amount_est_l),
            func.sum(ReportArea.trash_amount_kg),
        )
        .select_from(Report)
        .join(ReportArea, ReportArea.report_id == Report.id)
        .where(*area_where)
        .group_by(*key, Report.type)
    )
    if credit is not None and w.wants(ReportType.CLEANING):
        # the credited members' kg, in the same statement
        credits = (
            select(
                *credit,
                literal(str(ReportType.CLEANING)).label("type"),
                literal(None, Numeric(12, 2)),
                func.sum(Credit.kg),
            )
            .select_from(Credit)
            .join(Report, Report.id == Credit.report_id)
            .where(*report_conditions(w, [ReportType.CLEANING]))
            .group_by(*credit)
        )
        areas = union_all(areas, credits)
    else:
        areas = areas.order_by(null())
    for row in db.execute(areas):
        report_type = ReportType(row[n])
        slots = acc[tuple(row[:n])]
        slots[PRESENT] |= TYPE_BIT[report_type]
        if report_type == ReportType.INVESTIGATION:
            slots[LITRES] += dec(row[n + 1])
        else:
            slots[KG_CLEANED] += dec(row[n + 2])


def aggregate_by_trash_type(db: Session, w: Window, prefix: tuple[Any, ...] = ()) -> Acc:
    """(``prefix`` …, main litter type) → accumulator: one statement over the areas. A report
    counts once for each litter type it has an area of."""
    acc: Acc = defaultdict(empty)
    area_types = [t for t in AREA_TYPES if w.wants(t)]
    if not area_types:
        return acc
    where = report_conditions(w, area_types)
    n = len(prefix) + 1
    stmt = (
        select(
            *prefix,
            ReportArea.main_trash_type,
            Report.type,
            func.count(func.distinct(Report.id)),
            func.sum(ReportArea.trash_amount_est_l),
            func.sum(ReportArea.trash_amount_kg),
        )
        .select_from(Report)
        .join(ReportArea, ReportArea.report_id == Report.id)
        .where(*where)
        .group_by(*prefix, ReportArea.main_trash_type, Report.type)
        .order_by(null())
    )
    for row in db.execute(stmt):
        report_type = ReportType(row[n])
        slots = acc[tuple(row[:n])]
        slots[COUNT_SLOT[report_type]] += int(row[n + 1])
        slots[PRESENT] |= TYPE_BIT[report_type]
        if report_type == ReportType.INVESTIGATION:
            slots[LITRES] += dec(row[n + 2])
        else:
            slots[KG_CLEANED] += dec(row[n + 3])
    return acc


# ---- source rows for set-based roll-ups ---------------------------------------------------------

#: The figures of a source row (``figure_rows``), named as ``statistics_daily`` names them: counts,
#: amounts in integer hundredths, durations in whole seconds.
ROW_FIGURES = (
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


def hundredths(value: Any) -> ColumnElement[Any]:
    """An amount (two decimals) as whole hundredths, 0 when NULL: sums of these are exact on
    every backend and equal the hundredths of the summed amounts."""
    return func.coalesce(func.round(value * 100), 0)


def _row(keys: tuple[Any, ...], report_type: Any, **figures: Any) -> list[Any]:
    columns: list[Any] = [key.label(f"k{i}") for i, key in enumerate(keys)]
    columns.append(report_type.label("report_type"))
    columns.extend((figures.get(name, literal_column("0"))).label(name) for name in ROW_FIGURES)
    return columns


def figure_rows(db: Session, w: Window, keys: Keys) -> list[Select[Any]]:
    """The figures ``aggregate`` sums, one row per source row (report, area, credit, depot,
    contribution) under the same conditions: key columns ``k0``…, ``report_type`` and
    ``ROW_FIGURES``. Their ``UNION ALL`` grouped by keys and report type gives, in one
    statement, every group ``aggregate`` gives (with the report type in the key) — what the
    roll-up writes with ``INSERT … SELECT``. With ``keys.credit`` the kg cleaned goes to the
    credited members, as in ``aggregate``."""
    rows: list[Select[Any]] = []
    types = [w.type] if w.type is not None else list(ReportType)
    is_type = {t: case((Report.type == t, 1), else_=0) for t in ReportType}
    rows.append(
        select(
            *_row(
                keys.report,
                Report.type,
                investigation_reports=is_type[ReportType.INVESTIGATION],
                cleaning_reports=is_type[ReportType.CLEANING],
                collection_requests=is_type[ReportType.COLLECTION_REQUEST],
            )
        ).where(*report_conditions(w, types))
    )
    area_types = [t for t in AREA_TYPES if w.wants(t)]
    if area_types:
        area_where = report_conditions(w, area_types)
        if keys.credit is not None and w.wants(ReportType.CLEANING):
            credited = exists().where(Credit.report_id == Report.id)
            area_where.append(or_(Report.type == ReportType.INVESTIGATION, ~credited))
        rows.append(
            select(
                *_row(
                    keys.report,
                    Report.type,
                    litres_cents=case(
                        (Report.type == ReportType.INVESTIGATION, hundredths(ReportArea.trash_amount_est_l)), else_=0
                    ),
                    kg_cleaned_cents=case(
                        (Report.type == ReportType.CLEANING, hundredths(ReportArea.trash_amount_kg)), else_=0
                    ),
                )
            )
            .select_from(Report)
            .join(ReportArea, ReportArea.report_id == Report.id)
            .where(*area_where)
        )
    cleaning: ColumnElement[str] = literal_column(f"'{ReportType.CLEANING}'")
    if keys.credit is not None and w.wants(ReportType.CLEANING):
        rows.append(
            select(*_row(keys.credit, cleaning, kg_cleaned_cents=hundredths(Credit.kg)))
            .select_from(Credit)
            .join(Report, Report.id == Credit.report_id)
            .where(*report_conditions(w, [ReportType.CLEANING]))
        )
    if w.wants(ReportType.COLLECTION_REQUEST):
        request: ColumnElement[str] = literal_column(f"'{ReportType.COLLECTION_REQUEST}'")
        completed_at = CollectionDepot.collection_completed_at
        rows.append(
            select(
                *_row(
                    keys.completed,
                    request,
                    depots_collected=literal_column("1"),
                    kg_collected_cents=hundredths(CollectionDepot.collected_amount),
                    collection_seconds=func.coalesce(sql.seconds_between(db, Report.submitted_at, completed_at), 0),
                    collections_timed=case((Report.submitted_at.is_not(None), 1), else_=0),
                )
            )
            .select_from(CollectionDepot)
            .join(Report, Report.id == CollectionDepot.report_id)
            .where(*depot_conditions(w, completed_at), CollectionDepot.status == DepotStatus.COMPLETED)
        )
        rows.append(
            select(*_row(keys.waiting, request, depots_waiting=literal_column("1")))
            .select_from(CollectionDepot)
            .join(Report, Report.id == CollectionDepot.report_id)
            .where(*depot_conditions(w, CollectionDepot.created_at), CollectionDepot.status == DepotStatus.WAITING)
        )
    if w.wants(ReportType.CLEANING):
        rows.append(
            select(*_row(keys.contribution, cleaning, volunteer_hours_cents=hundredths(Contribution.hours)))
            .select_from(Contribution)
            .join(Report, Report.id == Contribution.report_id)
            .join(User, User.id == Contribution.user_id)
            .where(
                *report_conditions(w, [ReportType.CLEANING]),
                User.cleaner_type == CleanerType.VOLUNTEER,
                Contribution.hours.is_not(None),
            )
        )
    return rows
