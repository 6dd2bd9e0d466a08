"""Alerts the service sends itself (batch failures, database and backup trouble).

They go straight to the providers — never through the database outbox, which may be the
thing that is down — and are spooled to ``$DATA_DIR/alert-spool.jsonl`` when sending fails (the worker re-sends it).
"""

from __future__ import annotations

import logging
from pathlib import Path

from beachsaver.config import Settings

log = logging.getLogger("beachsaver.alerts")


def spool_path(settings: Settings) -> Path:
    """Where alerts that could not be sent wait for the worker's retry."""
    from beachsaver.notifications.delivery import SPOOL_FILE

    return Path(settings.data_dir) / SPOOL_FILE


def send_alert(
    settings: Settings,
    *,
    subject: str,
    body: str,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    slack: bool = True,
    key: str | None = None,
) -> bool:
    """Send now on every configured channel; what fails is spooled (and re-sent by the worker).
    True when everything went out."""
    from beachsaver.notifications.delivery import send_direct_alert

    return send_direct_alert(
        settings, kind=key or "alert", subject=subject, body=body, emails=emails or [], phones=phones, slack=slack
    )


def owner_emails(settings: Settings, job: str) -> list[str]:
    """``BEACHSAVER_JOB_OWNER_EMAILS`` = ``job=a@x|b@y,job2=c@z``; else ``BEACHSAVER_OPS_EMAIL``."""
    from beachsaver.notifications.service import job_owner_emails

    return job_owner_emails(settings, job)
