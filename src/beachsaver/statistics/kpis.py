"""The console dashboard's KPIs (07 §10) and a worker's own performance figures.

Both run a fixed number of statements. "Today" and "this month" are Seoul calendar periods.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, null, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.core.deps import Principal
from beachsaver.core.enums import (
    WORKER_ROLES,
    CleanerType,
    DepotStatus,
    ReportStatus,
    ReportType,
    Role,
    UserStatus,
)
from beachsaver.core.i18n import DEFAULT_LANGUAGE
from beachsaver.core.time import SEOUL, utcnow
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports.models import Contribution, Credit, Objection, Report, ReportArea
from beachsaver.statistics import sql
from beachsaver.statistics.service import LIVE
from beachsaver.users.models import User

REVIEW_OVERDUE_H = 48
CENT = Decimal("0.01")

ALERT_TEXT: dict[str, dict[str, str]] = {
    "DEPOT_ISSUE": {"ko": "문제가 보고된 집하장이 있습니다.", "en": "Depots with a reported problem."},
    "REVIEW_OVERDUE": {
        "ko": "48시간 넘게 검토를 기다리는 보고서가 있습니다.",
        "en": "Reports waiting for review for more than 48 hours.",
    },
    "VOLUNTEERS_PENDING": {"ko": "승인을 기다리는 자원봉사자가 있습니다.", "en": "Volunteers waiting for approval."},
    "OBJECTIONS_OPEN": {"ko": "처리되지 않은 기여도 이의가 있습니다.", "en": "Open objections to credit shares."},
}
ALERT_META: dict[str, tuple[str, str]] = {
    "DEPOT_ISSUE": ("HIGH", "/admin/depots?status=ISSUE"),
    "REVIEW_OVERDUE": ("MEDIUM", "/admin/reports?status=SUBMITTED"),
    "VOLUNTEERS_PENDING": ("MEDIUM", "/admin/users?status=PENDING_APPROVAL"),
    "OBJECTIONS_OPEN": ("LOW", "/admin/reports?objections=open"),
}


def _money(value: Any) -> float:
    if value is None:
        return 0.0
    return float(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP))


def today_bounds(now: datetime | None = None) -> tuple[datetime, datetime, str]:
    day = (now or utcnow()).astimezone(SEOUL).date()
    return sql.kst_start(day), sql.kst_start(day + timedelta(days=1)), day.isoformat()


def _between(column: Any, lo: datetime, hi: datetime) -> ColumnElement[bool]:
    return and_(column >= lo, column < hi)


def dashboard(db: Session, org_ids: list[int], lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Eight statements whatever the data; each either uses an index range or returns today's
    few rows (see the notes on each)."""
    now = utcnow()
    lo, hi, day = today_bounds(now)
    every_type = [str(t) for t in ReportType]
    # 1. reports submitted today: their ids and authors (small; the (org_id, submitted_at) index)
    submitted = db.execute(
        select(Report.id, Report.user_id).where(
            Report.org_id.in_(org_ids), Report.deleted_at.is_(None), _between(Report.submitted_at, lo, hi)
        )
    ).all()
    submitted_ids = [row.id for row in submitted]
    active_ids = {row.user_id for row in submitted}
    # 2. depots completed today (the completion-time index)
    collectors = list(
        db.execute(
            select(CollectionDepot.collector_id)
            .join(Report, Report.id == CollectionDepot.report_id)
            .where(
                _between(CollectionDepot.collection_completed_at, lo, hi),
                CollectionDepot.status == DepotStatus.COMPLETED,
                CollectionDepot.org_id.in_(org_ids),
                Report.status.in_(LIVE),
            )
        ).scalars()
    )
    completed_today = len(collectors)
    active_ids.update(c for c in collectors if c is not None)
    # 3. contributions added today: only drafts take contributions, so they belong to a draft
    #    or to a report submitted since (today)
    active_ids.update(
        db.execute(
            select(Contribution.user_id)
            .distinct()
            .join(Report, Report.id == Contribution.report_id)
            .where(
                Report.org_id.in_(org_ids),
                Report.type == ReportType.CLEANING,
                or_(Report.status == ReportStatus.DRAFT, Report.id.in_(submitted_ids)),
                _between(Contribution.created_at, lo, hi),
            )
        ).scalars()
    )
    # 4. people, overdue reviews, pending volunteers, open objections: one statement
    in_scope = User.org_id.in_(org_ids)
    workers = and_(in_scope, User.role.in_([str(r) for r in WORKER_ROLES]), User.status == UserStatus.ACTIVE)
    active = or_(_between(User.last_login_at, lo, hi), User.id.in_(sorted(active_ids)))
    scalars = db.execute(
        select(
            select(func.count()).select_from(User).where(workers).scalar_subquery(),
            select(func.count()).select_from(User).where(workers, active).scalar_subquery(),
            select(func.count())
            .select_from(Report)
            .where(
                Report.org_id.in_(org_ids),
                Report.type.in_(every_type),
                Report.status == ReportStatus.SUBMITTED,
                Report.submitted_at < now - timedelta(hours=REVIEW_OVERDUE_H),
            )
            .scalar_subquery(),
            select(func.count())
            .select_from(User)
            .where(in_scope, User.role == Role.CITIZEN, User.status == UserStatus.PENDING_APPROVAL)
            .scalar_subquery(),
            select(func.count())
            .select_from(Objection)
            .join(Report, Report.id == Objection.report_id)
            .where(Report.org_id.in_(org_ids), Objection.status == "OPEN")
            .scalar_subquery(),
        )
    ).one()
    workers_total, workers_active, review_overdue, volunteers_pending, objections_open = (int(v or 0) for v in scalars)
    submitted_today = len(submitted_ids)
    # 5. reports by type and status (index-only), less the deleted drafts (only drafts are
    #    ever deleted; an index range over the drafts)
    reports = {t: {str(s): 0 for s in ReportStatus} for t in every_type}
    for report_type, status, count in db.execute(
        select(Report.type, Report.status, func.count())
        .where(Report.org_id.in_(org_ids))
        .group_by(Report.type, Report.status)
        .order_by(null())
    ):
        reports.setdefault(report_type, {})[status] = int(count)
    for report_type, count in db.execute(
        select(Report.type, func.count())
        .where(
            Report.org_id.in_(org_ids),
            Report.type.in_(every_type),
            Report.status == ReportStatus.DRAFT,
            Report.deleted_at.is_not(None),
        )
        .group_by(Report.type)
        .order_by(null())
    ):
        reports[report_type][ReportStatus.DRAFT] -= int(count)
    # 7. depots by status (index-only), 8. less those of requests that are not live (a
    #    rejected or re-opened request keeps its depots' states; only drafts are ever deleted)
    depots = {str(s): 0 for s in DepotStatus}
    for status, count in db.execute(
        select(CollectionDepot.status, func.count())
        .where(CollectionDepot.org_id.in_(org_ids), CollectionDepot.status.is_not(None))
        .group_by(CollectionDepot.status)
        .order_by(null())
    ):
        depots[status] = depots.get(status, 0) + int(count)
    for status, count in db.execute(
        select(CollectionDepot.status, func.count())
        .select_from(Report)
        .join(CollectionDepot, CollectionDepot.report_id == Report.id)
        .where(
            Report.org_id.in_(org_ids),
            Report.type == ReportType.COLLECTION_REQUEST,
            Report.status.not_in(LIVE),
            CollectionDepot.org_id.in_(org_ids),
            CollectionDepot.status.is_not(None),
        )
        .group_by(CollectionDepot.status)
        .order_by(null())
    ):
        depots[status] -= int(count)
    counts = {
        "DEPOT_ISSUE": depots.get(DepotStatus.ISSUE, 0),
        "REVIEW_OVERDUE": review_overdue,
        "VOLUNTEERS_PENDING": volunteers_pending,
        "OBJECTIONS_OPEN": objections_open,
    }
    alerts = [
        {
            "code": code,
            "severity": ALERT_META[code][0],
            "count": count,
            "message": ALERT_TEXT[code].get(lang, ALERT_TEXT[code][DEFAULT_LANGUAGE]),
            "link": ALERT_META[code][1],
        }
        for code, count in counts.items()
        if count > 0
    ]
    return {
        "date": day,
        "workers_total": workers_total,
        "workers_active_today": workers_active,
        "work_done_today": {
            "reports_submitted": submitted_today,
            "depots_completed": completed_today,
            "total": submitted_today + completed_today,
        },
        "reports": reports,
        "depots": depots,
        "alerts": alerts,
    }


# ---- my performance ------------------------------------------------------------------------------


def _zero_counts() -> dict[str, int]:
    return {str(t): 0 for t in ReportType}


def performance(db: Session, principal: Principal, now: datetime | None = None) -> dict[str, Any]:
    """The caller's own figures this Seoul month and all time (live reports only)."""
    me = principal.id
    today = (now or utcnow()).astimezone(SEOUL).date()
    first = today.replace(day=1)
    lo, hi = sql.kst_start(first), sql.kst_start(sql.add_months(first, 1))

    def this_month(column: Any) -> Any:
        return case((_between(column, lo, hi), 1), else_=0)

    def this_month_sum(column: Any, amount: Any) -> Any:
        return func.sum(case((_between(column, lo, hi), amount), else_=0))

    figures: dict[str, dict[str, Any]] = {
        key: {
            "reports_submitted": _zero_counts(),
            "reports_approved": _zero_counts(),
            "kg_cleaned": Decimal(0),
            "kg_collected": Decimal(0),
            "depots_collected": 0,
            "hours": Decimal(0),
        }
        for key in ("all_time", "this_month")
    }
    everything, month = figures["all_time"], figures["this_month"]

    # 1. my reports by type and status
    for report_type, status, count, in_month in db.execute(
        select(Report.type, Report.status, func.count(), func.sum(this_month(Report.event_at)))
        .where(Report.user_id == me, Report.status.in_(LIVE))
        .group_by(Report.type, Report.status)
    ):
        for target, n in ((everything, int(count)), (month, int(in_month or 0))):
            target["reports_submitted"][report_type] += n
            if status == ReportStatus.APPROVED:
                target["reports_approved"][report_type] += n
    # 2. kg cleaned: my credits, plus my solo cleaning reports (no credit rows)
    credited = db.execute(
        select(func.sum(Credit.kg), this_month_sum(Report.event_at, Credit.kg))
        .select_from(Credit)
        .join(Report, Report.id == Credit.report_id)
        .where(Credit.user_id == me, Report.type == ReportType.CLEANING, Report.status.in_(LIVE))
    ).one()
    solo = db.execute(
        select(func.sum(ReportArea.trash_amount_kg), this_month_sum(Report.event_at, ReportArea.trash_amount_kg))
        .select_from(Report)
        .join(ReportArea, ReportArea.report_id == Report.id)
        .where(
            Report.user_id == me,
            Report.type == ReportType.CLEANING,
            Report.status.in_(LIVE),
            ~exists().where(Credit.report_id == Report.id),
        )
    ).one()
    for target, index in ((everything, 0), (month, 1)):
        target["kg_cleaned"] = Decimal(str(credited[index] or 0)) + Decimal(str(solo[index] or 0))
    # 3. depots I collected
    completed_at = CollectionDepot.collection_completed_at
    count, kg, count_month, kg_month = db.execute(
        select(
            func.count(),
            func.sum(CollectionDepot.collected_amount),
            func.sum(this_month(completed_at)),
            this_month_sum(completed_at, CollectionDepot.collected_amount),
        ).where(CollectionDepot.collector_id == me, CollectionDepot.status == DepotStatus.COMPLETED)
    ).one()
    everything["depots_collected"], everything["kg_collected"] = int(count or 0), kg
    month["depots_collected"], month["kg_collected"] = int(count_month or 0), kg_month
    # 4. my contribution hours on live cleaning reports
    hours, hours_month = db.execute(
        select(func.sum(Contribution.hours), this_month_sum(Report.event_at, Contribution.hours))
        .select_from(Contribution)
        .join(Report, Report.id == Contribution.report_id)
        .where(Contribution.user_id == me, Report.type == ReportType.CLEANING, Report.status.in_(LIVE))
    ).one()
    everything["hours"], month["hours"] = hours, hours_month

    volunteer = principal.user.cleaner_type == CleanerType.VOLUNTEER

    def finish(raw: dict[str, Any]) -> dict[str, Any]:
        hours_value = _money(raw["hours"])
        return {
            "reports_submitted": raw["reports_submitted"],
            "reports_approved": raw["reports_approved"],
            "kg_cleaned": _money(raw["kg_cleaned"]),
            "kg_collected": _money(raw["kg_collected"]),
            "depots_collected": raw["depots_collected"],
            "hours": hours_value,
            "volunteer_hours": hours_value if volunteer else 0.0,
        }

    return {
        "user_id": me,
        "role": principal.user.role,
        "cleaner_type": principal.user.cleaner_type,
        "month": first.strftime("%Y-%m"),
        "this_month": finish(month),
        "all_time": finish(everything),
    }
