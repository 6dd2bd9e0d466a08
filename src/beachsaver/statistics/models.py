"""The statistics roll-up (migration 0005): daily figures, the days whose sources changed since
they were rolled up, and how far the roll-up has got. See ``rollup.py`` and docs/architecture.md.

The roll-up tables hold derived data only: they can be emptied at any time (``rollup.reset``) and
are rebuilt by the ``rollup`` job. They carry no foreign keys for that reason.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports.models import Report


class FigureColumns:
    """The additive figures of the roll-up's tables (``rollup.FIGURE_COLUMNS``)."""

    investigation_reports: Mapped[int] = mapped_column(Integer, default=0)
    cleaning_reports: Mapped[int] = mapped_column(Integer, default=0)
    collection_requests: Mapped[int] = mapped_column(Integer, default=0)
    litres_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    kg_cleaned_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    kg_collected_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    depots_waiting: Mapped[int] = mapped_column(Integer, default=0)
    depots_collected: Mapped[int] = mapped_column(Integer, default=0)
    collection_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    collections_timed: Mapped[int] = mapped_column(Integer, default=0)
    volunteer_hours_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class StatisticsDaily(FigureColumns, Base):
    """Additive figures of one Seoul day at one grain (``grain``):

    - ``org``: per organisation (period and org breakdowns without a beach filter);
    - ``team``: per organisation, beach and team (team and beach breakdowns, beach filters);
    - ``user``: per organisation, beach and the person each figure is attributed to (the author
      for report counts, litres and waiting depots; the collector for collections; the
      contributor for volunteer hours; credited members for the kg of team cleanings);
    - ``trash``: per organisation, beach and main litter type of the areas (reports counted
      once per type they have an area of);
    - ``org_m``, ``team_m``, ``trash_m``: the same, summed over a calendar month (``day`` is its
      first day), for the whole months of a range (the ``user`` grain is read by day: a person's
      monthly sums would be nearly as many rows as the days).

    A row holds the figures of one report type (``report_type``: counts, litres and areas of
    investigations; counts, kg and volunteer hours of cleanings; counts and depots of collection
    requests), so a ``type`` filter is a ``WHERE`` and a group exists exactly when the live
    query would produce it. Amounts are integer hundredths (exact on every backend), durations
    integer seconds. Depot figures sit under the depot's organisation and day (completion or
    creation), the others under the report's. ``seq`` only makes the primary key unique within
    (grain, day, organisation).
    """

    __tablename__ = "statistics_daily"

    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    report_type: Mapped[str] = mapped_column(String(24))
    beach_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    team_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    user_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    trash_type: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (
        Index("ix_statistics_daily_grain_beach_id_day", "grain", "beach_id", "day"),
        {"sqlite_with_rowid": False},
    )


class StatisticsPersonTotal(FigureColumns, Base):
    """The ``user`` grain's rows of every rolled-up day summed per organisation, person and report
    type (no day, no beach): what an all-time breakdown by person reads instead of millions of
    daily rows. Kept equal to those sums in the transaction that replaces daily rows
    (``rollup.roll_days``: the old rows subtracted, the new ones added); ``day_rows`` counts
    the daily rows summed, so a total whose rows are all gone (0) stands for no group.
    ``user_id`` 0 stands for a figure attributed to no one (a primary key holds no NULL)."""

    __tablename__ = "statistics_person_totals"

    org_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    report_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    day_rows: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = ({"sqlite_with_rowid": False},)


class StatisticsDirtyDay(Base):
    """A (Seoul day, organisation) whose source rows changed: written in the transaction of the
    change, deleted by the roll-up once it has recomputed that day. Append-only (no unique key),
    so concurrent writers never wait on each other."""

    __tablename__ = "statistics_dirty_days"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    org_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_statistics_dirty_days_day_org_id", "day", "org_id"),)


class StatisticsRollupState(Base):
    """One row (id 1): every Seoul day up to ``rolled_through`` has been rolled up (those with a
    dirty mark are recomputed live until the next roll-up). ``report_id_seen``/``depot_id_seen``
    are the highest ids the roll-up has looked at: rows above them that no mark announced (bulk
    loads without the ORM) get their days marked by the next run."""

    __tablename__ = "statistics_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rolled_through: Mapped[date | None] = mapped_column(Date, nullable=True)
    rolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    report_id_seen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    depot_id_seen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# Indexes of the base tables that serve the statistics, declared here because the statistics
# own them (migration 0005):
#: the dashboard's "submitted today" (kpis.dashboard), by organisation and submission time;
REPORTS_ORG_SUBMITTED = Index("ix_reports_org_id_submitted_at", Report.org_id, Report.submitted_at)
#: depots completed in a time window (kg collected, depots collected, time to collection) and
#: depots created in one and still waiting, without reading every depot of the organisations.
DEPOTS_STATUS_COMPLETED = Index(
    "ix_collection_depots_status_collection_completed_at",
    CollectionDepot.status,
    CollectionDepot.collection_completed_at,
)
DEPOTS_STATUS_CREATED = Index(
    "ix_collection_depots_status_created_at", CollectionDepot.status, CollectionDepot.created_at
)
#: the map's depots layer (maps.depots_json, migration 0006): the live requests of a scope from a
#: date on, with their beach, and their depots' mapped columns, read from the indexes alone.
REPORTS_ORG_TYPE_STATUS_EVENT_BEACH = Index(
    "ix_reports_org_id_type_status_event_at_beach_id",
    Report.org_id,
    Report.type,
    Report.status,
    Report.event_at,
    Report.beach_id,
)
DEPOTS_MAP_COVER = Index(
    "ix_collection_depots_report_id_map_cover",
    CollectionDepot.report_id,
    CollectionDepot.status,
    CollectionDepot.latitude,
    CollectionDepot.longitude,
    CollectionDepot.collected_amount,
    CollectionDepot.name,
)
