"""A small SMTP sender for messages with attachments (the messaging providers send text only)."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from beachsaver.config import Settings


class MailError(RuntimeError):
    pass


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def build_message(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.smtp_from
    email["To"] = ", ".join(to)
    email["Subject"] = subject
    email["Date"] = formatdate(localtime=False)
    if message_id:
        email["Message-ID"] = f"<{message_id}@beachsaver>"
    email.set_content(body)
    for item in attachments:
        email.add_attachment(item.data, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return email


def send_mail(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
) -> None:
    """Send one message to every recipient; ``MailError`` when the server did not take it."""
    if not settings.smtp_host:
        raise MailError("SMTP is not configured (BEACHSAVER_SMTP_HOST)")
    if not to:
        raise MailError("no recipients")
    email = build_message(settings, to=to, subject=subject, body=body, attachments=attachments, message_id=message_id)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.provider_timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(type(exc).__name__) from exc
    if refused:
        raise MailError(f"{len(refused)} recipient(s) refused")
