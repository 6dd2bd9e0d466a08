"""The scheduled jobs of 07 §11, registered with the job framework."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, delete, func, or_, select

from beachsaver.audit import service as audit
from beachsaver.auth.models import AuthFailure, OtpCode, RefreshToken, SelectionToken
from beachsaver.core.db import rows_affected, session_scope
from beachsaver.core.enums import ADMIN_ROLES, UserStatus
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import to_utc, utcnow
from beachsaver.messaging.models import DevMessage
from beachsaver.notifications import service as notification_service
from beachsaver.ops.jobs import job
from beachsaver.ops.models import JobRun
from beachsaver.users.models import AdminProfile, User

HOUR = 3600
DAY = 24 * HOUR


@job(
    "deliver-notifications",
    every_s=0,
    description="deliver the notification outbox (the worker loop does it continuously)",
)
def deliver_notifications(runtime: Runtime) -> int:
    from beachsaver.worker.loop import tick

    return int(tick(runtime))


@job("orphan-images", every_s=HOUR, description="remove uploads no report references after 24 h")
def orphan_images(runtime: Runtime) -> int:
    from beachsaver.images.service import remove_orphans

    with session_scope(runtime.session_factory) as db:
        return int(remove_orphans(db, older_than_hours=24))


@job("deactivate-inactive", every_s=30 * DAY, description="suspend accounts unused for INACTIVE_DAYS")
def deactivate_inactive(runtime: Runtime) -> int:
    cutoff = utcnow() - timedelta(days=runtime.settings.inactive_days)
    changed = 0
    with session_scope(runtime.session_factory) as db:
        stale = list(
            db.execute(
                select(User).where(
                    User.status == UserStatus.ACTIVE,
                    or_(User.last_login_at < cutoff, and_(User.last_login_at.is_(None), User.created_at < cutoff)),
                )
            ).scalars()
        )
        for user in stale:
            if user.role in ADMIN_ROLES and _active_admins(db, user.org_id) <= 1:
                continue  # never lock an organisation out of its last admin
            user.status = UserStatus.SUSPENDED
            user.status_reason = "INACTIVE"
            audit.record(
                db,
                "USER_STATUS_CHANGE",
                actor_id=None,
                target_type="USER",
                target_id=user.id,
                org_id=user.org_id,
                after={"status": "SUSPENDED", "reason": "INACTIVE"},
            )
            admins = list(
                db.execute(
                    select(User.id).where(
                        User.org_id == user.org_id,
                        User.role.in_([r.value for r in ADMIN_ROLES]),
                        User.status == UserStatus.ACTIVE,
                        User.id != user.id,
                    )
                ).scalars()
            )
            notification_service.notify(
                db,
                event="ACCOUNT_DEACTIVATED",
                category="ACCOUNT",
                user_ids=[user.id, *admins],
                title="장기 미사용 계정 정지",
                message=f"{user.nickname} 계정이 {runtime.settings.inactive_days}일 동안 사용되지 않아 정지되었습니다.",
                channels=("EMAIL", "ALIMTALK"),
                dedupe=f"inactive:{user.id}:{utcnow():%Y%m}",
            )
            changed += 1
    return changed


def _active_admins(db: object, org_id: int) -> int:
    from sqlalchemy.orm import Session

    assert isinstance(db, Session)
    return int(
        db.execute(
            select(func.count())
            .select_from(User)
            .where(
                User.org_id == org_id, User.role.in_([r.value for r in ADMIN_ROLES]), User.status == UserStatus.ACTIVE
            )
        ).scalar_one()
    )


@job("password-reminders", every_s=DAY, description="remind admins whose password expires within 14 days")
def password_reminders(runtime: Runtime) -> int:
    now = utcnow()
    max_age = timedelta(days=runtime.settings.password_max_age_days)
    sent = 0
    with session_scope(runtime.session_factory) as db:
        rows = db.execute(
            select(User, AdminProfile)
            .join(AdminProfile, AdminProfile.user_id == User.id)
            .where(
                User.status == UserStatus.ACTIVE,
                AdminProfile.password_changed_at < now - max_age + timedelta(days=14),
                or_(
                    AdminProfile.password_reminded_at.is_(None),
                    AdminProfile.password_reminded_at < now - timedelta(days=7),
                ),
            )
        ).all()
        for user, profile in rows:
            expires = to_utc(profile.password_changed_at) + max_age
            notification_service.notify(
                db,
                event="PASSWORD_EXPIRING",
                category="ACCOUNT",
                user_ids=[user.id],
                title="비밀번호 만료 예정",
                message=f"비밀번호가 {expires:%Y-%m-%d}에 만료됩니다. 미리 변경해 주세요.",
                channels=("EMAIL",),
                dedupe=f"password-expiring:{user.id}:{expires:%Y%m%d}",
            )
            profile.password_reminded_at = now
            sent += 1
    return sent


@job("retention", every_s=DAY, description="purge expired sign-in data, old dev messages and year-old logs")
def retention(runtime: Runtime) -> int:
    now = utcnow()
    removed = 0
    with session_scope(runtime.session_factory) as db:
        removed += rows_affected(db, delete(OtpCode).where(OtpCode.expires_at < now - timedelta(days=1)))
        removed += rows_affected(db, delete(AuthFailure).where(AuthFailure.at < now - timedelta(days=1)))
        removed += rows_affected(db, delete(SelectionToken).where(SelectionToken.expires_at < now - timedelta(days=1)))
        removed += rows_affected(db, delete(RefreshToken).where(RefreshToken.expires_at < now - timedelta(days=30)))
        removed += rows_affected(db, delete(DevMessage).where(DevMessage.created_at < now - timedelta(days=30)))
        removed += rows_affected(db, delete(JobRun).where(JobRun.started_at < now - timedelta(days=365)))
    removed += purge_old_logs(runtime)
    return removed


def purge_old_logs(runtime: Runtime, keep_days: int = 365) -> int:
    """Application log files are kept one year (03-operations §8)."""
    log_file = runtime.settings.log_file
    if not log_file:
        return 0
    directory = Path(log_file).parent
    cutoff = time.time() - keep_days * DAY
    removed = 0
    for path in directory.glob(Path(log_file).name + "*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink()
            removed += 1
    return removed


@job("audit-seal", every_s=DAY, description="seal the audit entries, verify the chain and alert on tampering")
def audit_seal(runtime: Runtime) -> int:
    audit.seal_all(runtime.session_factory)  # the worker seals every few seconds; this catches up
    with session_scope(runtime.session_factory) as db:
        result = audit.verify_chain(db)
    if not result.ok:
        raise RuntimeError("audit chain broken: " + "; ".join(result.problems[:5]))
    return 0


@job("backup", every_s=DAY, description="scheduled backup (label auto) of the database and images")
def scheduled_backup(runtime: Runtime) -> int:
    from beachsaver.ops import alerts, backup

    try:
        info = backup.create(runtime.settings, label="auto")
    except Exception as exc:
        alerts.send_alert(
            runtime.settings,
            subject="Beach-Saver backup failed",
            body=f"The scheduled backup failed: {exc}",
            emails=alerts.owner_emails(runtime.settings, "backup"),
            phones=[p for p in runtime.settings.security_alert_phones.split(",") if p.strip()],
        )
        raise
    return 1 if info.status == "OK" else 0


@job("prune-backups", every_s=DAY, description="delete backups past their retention")
def prune_backups(runtime: Runtime) -> int:
    from beachsaver.core.db import is_sqlite
    from beachsaver.ops import backup, pitr

    removed = len(backup.prune(runtime.settings))
    if not is_sqlite(runtime.settings.resolved_database_url):
        removed += len(pitr.prune_binlogs(runtime.settings))
    return removed


@job("binlog-archive", every_s=30, description="archive MariaDB/MySQL binary logs (point-in-time recovery)")
def binlog_archive(runtime: Runtime) -> int:
    from beachsaver.core.db import is_sqlite
    from beachsaver.ops import pitr

    if is_sqlite(runtime.settings.resolved_database_url):
        return 0
    return int(pitr.archive_binlogs(runtime.settings))


@job("scheduled-pdf", every_s=900, description="e-mail due PDF summary reports")
def scheduled_pdf(runtime: Runtime) -> int:
    from beachsaver.reports_pdf.service import send_due_reports

    return int(send_due_reports(runtime))


@job("rollup", every_s=HOUR, description="roll closed days' statistics up and recompute the days that changed")
def statistics_rollup(runtime: Runtime) -> int:
    """Batches of one transaction each until caught up (or 10 minutes): the days rolled up."""
    from beachsaver.statistics import rollup

    return rollup.run(runtime.session_factory)
