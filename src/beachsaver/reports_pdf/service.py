"""Summary figures for a period and organisation, the PDF, and its scheduled e-mailing.

Figures follow the statistics rules of 07 §10: SUBMITTED and APPROVED reports of the
organisation's subtree, investigations and cleanings dated by their event time and collection
requests by submission; depots completed in the period for the collected figures; days cut in
Asia/Seoul.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.beaches.models import Beach
from beachsaver.core import errors
from beachsaver.core.db import session_scope
from beachsaver.core.deps import Principal
from beachsaver.core.enums import DepotStatus, ReportStatus, ReportType
from beachsaver.core.runtime import Runtime, settings_of
from beachsaver.core.time import SEOUL, seoul_today, to_utc, utcnow
from beachsaver.depots.models import CollectionDepot
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.reports.models import Report, ReportArea
from beachsaver.reports_pdf import mailer, pdf
from beachsaver.reports_pdf.models import ReportSchedule
from beachsaver.reports_pdf.schemas import Frequency, ReportScheduleCreate

log = logging.getLogger("beachsaver.reports_pdf")

COUNTED = (ReportStatus.SUBMITTED.value, ReportStatus.APPROVED.value)
TOP_BEACHES = 5
SEND_HOUR = time(8, 0)
#: Periods longer than this are refused (the PDF is a summary, not an archive).
MAX_PERIOD_DAYS = 3660


# ---- figures ------------------------------------------------------------------------------------


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in Asia/Seoul, as UTC instants."""
    low = datetime.combine(start, time.min, SEOUL).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time.min, SEOUL).astimezone(UTC)
    return low, high


def _sum(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal("0")


def summarise(db: Session, org: Organization, start: date, end: date) -> pdf.Summary:
    org_ids = org_service.subtree_ids(db, org)
    low, high = bounds(start, end)
    live = (Report.org_id.in_(org_ids), Report.status.in_(COUNTED), Report.deleted_at.is_(None))
    in_period = (Report.event_at >= low, Report.event_at < high)
    summary = pdf.Summary(
        org_id=org.id, org_name=org.name, org_code=org.code, start=start, end=end, generated_at=utcnow()
    )
    by_type: dict[str, int] = {
        row[0]: int(row[1])
        for row in db.execute(
            select(Report.type, func.count())
            .where(*live, *in_period, Report.type.in_([ReportType.INVESTIGATION.value, ReportType.CLEANING.value]))
            .group_by(Report.type)
        ).all()
    }
    summary.investigation_reports = int(by_type.get(ReportType.INVESTIGATION.value, 0))
    summary.cleaning_reports = int(by_type.get(ReportType.CLEANING.value, 0))
    summary.collection_requests = int(
        db.execute(
            select(func.count())
            .select_from(Report)
            .where(
                *live,
                Report.type == ReportType.COLLECTION_REQUEST.value,
                Report.submitted_at >= low,
                Report.submitted_at < high,
            )
        ).scalar_one()
    )
    amounts = db.execute(
        select(Report.type, func.sum(ReportArea.trash_amount_est_l), func.sum(ReportArea.trash_amount_kg))
        .join(ReportArea, ReportArea.report_id == Report.id)
        .where(*live, *in_period, Report.type.in_([ReportType.INVESTIGATION.value, ReportType.CLEANING.value]))
        .group_by(Report.type)
    ).all()
    for report_type, litres, kg in amounts:
        if report_type == ReportType.INVESTIGATION.value:
            summary.litres_estimated = _sum(litres)
        else:
            summary.kg_cleaned = _sum(kg)
    collected = db.execute(
        select(func.count(), func.sum(CollectionDepot.collected_amount)).where(
            CollectionDepot.org_id.in_(org_ids),
            CollectionDepot.status == DepotStatus.COMPLETED.value,
            CollectionDepot.collection_completed_at >= low,
            CollectionDepot.collection_completed_at < high,
        )
    ).one()
    summary.depots_collected = int(collected[0] or 0)
    summary.kg_collected = _sum(collected[1])
    summary.depots_waiting = int(
        db.execute(
            select(func.count())
            .select_from(CollectionDepot)
            .where(
                CollectionDepot.org_id.in_(org_ids),
                CollectionDepot.status == DepotStatus.WAITING.value,
                CollectionDepot.created_at >= low,
                CollectionDepot.created_at < high,
            )
        ).scalar_one()
    )
    kg = func.coalesce(func.sum(ReportArea.trash_amount_kg), 0)
    top = db.execute(
        select(Beach.id, Beach.beach_name, func.count(func.distinct(Report.id)), kg)
        .select_from(Report)
        .join(Beach, Beach.id == Report.beach_id)
        .join(ReportArea, ReportArea.report_id == Report.id)
        .where(*live, *in_period, Report.type == ReportType.CLEANING.value)
        .group_by(Beach.id, Beach.beach_name)
        .order_by(kg.desc(), Beach.id)
        .limit(TOP_BEACHES)
    ).all()
    summary.top_beaches = [
        pdf.BeachFigure(beach_id=b[0], beach_name=b[1], reports=int(b[2]), kg_cleaned=_sum(b[3])) for b in top
    ]
    return summary


def resolve_period(start: date | None, end: date | None) -> tuple[date, date]:
    """Defaults: ``to`` today, ``from`` the first day of ``to``'s month (Asia/Seoul)."""
    end = end or seoul_today()
    start = start or end.replace(day=1)
    problems: list[dict[str, str]] = []
    if start > end:
        problems.append({"field": "query.to", "message": "to is before from"})
    elif (end - start).days > MAX_PERIOD_DAYS:
        problems.append({"field": "query.from", "message": f"the period is longer than {MAX_PERIOD_DAYS} days"})
    if problems:
        raise errors.ValidationFailed(details=problems)
    return start, end


def org_in_scope(db: Session, principal: Principal, org_id: int | None) -> Organization:
    if org_id is None:
        return principal.org
    org = org_service.get(db, org_id)
    if org is None or org.id not in principal.scope_org_ids(db):
        raise errors.NotFound()
    return org


def report_pdf(db: Session, org: Organization, start: date, end: date, lang: str) -> bytes:
    try:
        return pdf.render(summarise(db, org, start, end), lang)
    except pdf.FontMissing:
        log.error("the PDF font is missing: install fonts-noto-cjk")
        raise errors.AppError() from None


def pdf_filename(org: Organization, start: date, end: date) -> str:
    return f"beachsaver-summary-{org.code}-{start.isoformat()}-{end.isoformat()}.pdf"


# ---- schedules ----------------------------------------------------------------------------------


def _local(value: datetime) -> datetime:
    return to_utc(value).astimezone(SEOUL)


def add_months(value: datetime, months: int) -> datetime:
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def first_run(frequency: Frequency, now: datetime) -> datetime:
    """The next Monday (WEEKLY) or 1st of the month (MONTHLY) at 08:00 Asia/Seoul after ``now``."""
    local = _local(now)
    if frequency == Frequency.WEEKLY:
        days = (7 - local.weekday()) % 7
        candidate = datetime.combine(local.date() + timedelta(days=days), SEND_HOUR, SEOUL)
        if candidate <= local:
            candidate += timedelta(days=7)
    else:
        candidate = datetime.combine(local.date().replace(day=1), SEND_HOUR, SEOUL)
        if candidate <= local:
            candidate = add_months(candidate, 1)
    return candidate.astimezone(UTC)


def advance(frequency: Frequency, slot: datetime, now: datetime) -> datetime:
    """The run after ``slot``, skipping runs already past (a stopped worker sends once)."""
    local = _local(slot)
    while True:
        local = local + timedelta(days=7) if frequency == Frequency.WEEKLY else add_months(local, 1)
        if local.astimezone(UTC) > now:
            return local.astimezone(UTC)


def run_period(frequency: Frequency, slot: datetime) -> tuple[date, date]:
    """What a run reports on: the 7 days before the run day (WEEKLY) or the previous calendar
    month (MONTHLY), in Asia/Seoul."""
    day = _local(slot).date()
    if frequency == Frequency.WEEKLY:
        return day - timedelta(days=7), day - timedelta(days=1)
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def present_schedule(schedule: ReportSchedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "org_id": schedule.org_id,
        "frequency": schedule.frequency,
        "recipients": list(schedule.recipients or []),
        "language": schedule.language,
        "next_run_at": schedule.next_run_at,
        "last_run_at": schedule.last_run_at,
        "last_error": schedule.last_error,
        "created_by": schedule.created_by,
        "created_at": schedule.created_at,
    }


def _snapshot(schedule: ReportSchedule) -> dict[str, Any]:
    return {
        "org_id": schedule.org_id,
        "frequency": schedule.frequency,
        "recipients": len(schedule.recipients or []),
        "language": schedule.language,
        "next_run_at": schedule.next_run_at,
    }


def schedules_query(db: Session, principal: Principal) -> Select[tuple[ReportSchedule]]:
    return select(ReportSchedule).where(ReportSchedule.org_id.in_(principal.scope_org_ids(db)))


def create_schedule(db: Session, principal: Principal, body: ReportScheduleCreate) -> ReportSchedule:
    org = org_in_scope(db, principal, body.org_id)
    now = utcnow()
    if body.next_run_at is not None and to_utc(body.next_run_at) < now - timedelta(minutes=5):
        raise errors.ValidationFailed.field("next_run_at", "must not be in the past")
    recipients = list(dict.fromkeys(str(r).lower() for r in body.recipients))
    schedule = ReportSchedule(
        org_id=org.id,
        frequency=body.frequency.value,
        recipients=recipients,
        language=body.language.value,
        next_run_at=to_utc(body.next_run_at) if body.next_run_at else first_run(body.frequency, now),
        created_by=principal.id,
    )
    db.add(schedule)
    db.flush()
    audit.record(
        db,
        "REPORT_SCHEDULE_CREATE",
        actor_id=principal.id,
        target_type="REPORT_SCHEDULE",
        target_id=schedule.id,
        org_id=schedule.org_id,
        after=_snapshot(schedule),
    )
    return schedule


def get_schedule(db: Session, principal: Principal, schedule_id: int) -> ReportSchedule:
    schedule = db.get(ReportSchedule, schedule_id)
    if schedule is None or schedule.org_id not in principal.scope_org_ids(db):
        raise errors.NotFound()
    return schedule


def delete_schedule(db: Session, principal: Principal, schedule: ReportSchedule) -> None:
    before = _snapshot(schedule)
    target_id, org_id = schedule.id, schedule.org_id
    db.delete(schedule)
    db.flush()
    audit.record(
        db,
        "REPORT_SCHEDULE_DELETE",
        actor_id=principal.id,
        target_type="REPORT_SCHEDULE",
        target_id=target_id,
        org_id=org_id,
        before=before,
    )


MAIL_TEXT = {
    "ko": (
        "[Beach-Saver] {org} 요약 보고서 ({start} ~ {end})",
        "{org}의 {start} ~ {end} 해양쓰레기 정화 요약 보고서를 첨부합니다.\n\nBeach-Saver",
    ),
    "en": (
        "[Beach-Saver] {org} summary ({start} – {end})",
        "Attached is the clean-up summary of {org} for {start} – {end}.\n\nBeach-Saver",
    ),
}


@dataclass
class SendResult:
    sent: int
    failed: list[int]


def _send_one(db: Session, schedule: ReportSchedule, now: datetime) -> None:
    """Build and send one schedule's PDF, then move it to its next run (``MailError`` leaves
    it due, so the next run of the job tries again)."""
    from beachsaver.messaging.service import record_dev_message

    settings = settings_of(db)
    frequency = Frequency(schedule.frequency)
    slot = schedule.next_run_at
    start, end = run_period(frequency, slot)
    org = db.get(Organization, schedule.org_id)
    if org is None:  # organisations are never deleted; kept for safety
        raise mailer.MailError("organisation missing")
    lang = schedule.language if schedule.language in pdf.LABELS else "ko"
    document = pdf.render(summarise(db, org, start, end), lang)
    subject_t, body_t = MAIL_TEXT[lang]
    params = {"org": org.name, "start": start.isoformat(), "end": end.isoformat()}
    subject, body = subject_t.format(**params), body_t.format(**params)
    recipients = list(schedule.recipients or [])
    if mailer.smtp_configured(settings) or not settings.dev_outbox_enabled:
        mailer.send_mail(
            settings,
            to=recipients,
            subject=subject,
            body=body,
            attachments=[mailer.Attachment(pdf_filename(org, start, end), document)],
            message_id=f"report-schedule-{schedule.id}-{to_utc(slot).strftime('%Y%m%d%H%M')}",
        )
    for recipient in recipients:
        record_dev_message(db, channel="EMAIL", to=recipient, subject=subject, body=body)
    schedule.last_run_at = now
    schedule.last_error = None
    schedule.next_run_at = advance(frequency, slot, now)
    audit.record(
        db,
        "REPORT_SCHEDULE_RUN",
        actor_id=None,
        target_type="REPORT_SCHEDULE",
        target_id=schedule.id,
        org_id=schedule.org_id,
        after={"start": start, "end": end, "recipients": len(recipients), "bytes": len(document)},
    )


def send_due_schedules(runtime: Runtime, now: datetime | None = None) -> SendResult:
    now = now or utcnow()
    with session_scope(runtime.session_factory) as db:
        due = list(
            db.execute(
                select(ReportSchedule.id)
                .where(ReportSchedule.next_run_at <= now)
                .order_by(ReportSchedule.next_run_at, ReportSchedule.id)
            ).scalars()
        )
    result = SendResult(sent=0, failed=[])
    for schedule_id in due:
        error: str | None = None
        with session_scope(runtime.session_factory) as db:
            schedule = db.execute(
                select(ReportSchedule)
                .where(ReportSchedule.id == schedule_id, ReportSchedule.next_run_at <= now)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if schedule is None:
                continue  # deleted, or another worker has it
            try:
                with db.begin_nested():
                    _send_one(db, schedule, now)
                result.sent += 1
            except (mailer.MailError, pdf.FontMissing) as exc:
                error = str(exc)[:500] or type(exc).__name__
                schedule.last_error = error
        if error is not None:
            log.warning("scheduled report %s not sent: %s", schedule_id, error)
            result.failed.append(schedule_id)
    return result


def send_due_reports(runtime: Runtime) -> int:
    """The ``scheduled-pdf`` job: e-mail every due schedule's PDF; returns how many were sent.

    A schedule whose mail could not be sent stays due (tried again at the next run) and the run
    fails, so that the job owner is alerted.
    """
    result = send_due_schedules(runtime)
    if result.failed:
        raise RuntimeError(
            f"{len(result.failed)} scheduled report(s) not sent (ids {', '.join(map(str, result.failed))}); "
            f"{result.sent} sent"
        )
    return result.sent
