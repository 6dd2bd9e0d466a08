"""Sending sign-in codes and direct messages; the dev outbox records everything in dev."""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from beachsaver.config import Settings
from beachsaver.core.db import after_commit
from beachsaver.core.runtime import settings_of
from beachsaver.messaging.models import DevMessage
from beachsaver.messaging.providers import (
    AlimTalkProvider,
    OutgoingMessage,
    SmsProvider,
)

log = logging.getLogger("beachsaver.messaging")

CODE_TEXT = {
    "LOGIN": "[Beach-Saver] 로그인 인증번호 {code} (3분 이내 입력)",
    "ADMIN_LOGIN": "[Beach-Saver] 관리자 로그인 인증번호 {code} (3분 이내 입력)",
    "SIGNUP": "[Beach-Saver] 가입 인증번호 {code} (3분 이내 입력)",
    "PHONE_CHANGE": "[Beach-Saver] 전화번호 변경 인증번호 {code} (3분 이내 입력)",
}


def record_dev_message(
    db: Session,
    *,
    channel: str,
    to: str,
    body: str,
    phone: str | None = None,
    purpose: str | None = None,
    code: str | None = None,
    subject: str | None = None,
) -> None:
    if settings_of(db).dev_outbox_enabled:
        db.add(DevMessage(channel=channel, to=to, phone=phone, purpose=purpose, code=code, subject=subject, body=body))


def record_dev_messages(db: Session, messages: list[dict[str, Any]]) -> None:
    """``record_dev_message`` for each of ``messages`` (its keyword arguments), as one insert."""
    if not messages or not settings_of(db).dev_outbox_enabled:
        return
    rows = [{"phone": None, "purpose": None, "code": None, "subject": None, **message} for message in messages]
    db.execute(insert(cast(Table, DevMessage.__table__)), rows)


def deliver_code(
    settings: Settings, phone: str, body: str, code: str, *, idempotency_key: str | None = None
) -> str | None:
    """AlimTalk first, SMS when AlimTalk fails or is not configured. Returns the channel used.

    Both attempts carry the same ``Idempotency-Key`` (one code, one key), so a provider that
    receives a retry of the same message can drop it.
    """
    alimtalk = AlimTalkProvider(settings)
    if alimtalk.configured:
        try:
            alimtalk.send(
                OutgoingMessage(
                    channel="ALIMTALK",
                    to=phone,
                    body=body,
                    template_params={"code": code},
                    idempotency_key=idempotency_key,
                )
            )
            return "ALIMTALK"
        except Exception as exc:  # any failure of the first channel means: try the fallback
            log.warning("AlimTalk failed, falling back to SMS: %s", exc)
    sms = SmsProvider(settings)
    if sms.configured:
        try:
            sms.send(OutgoingMessage(channel="SMS", to=phone, body=body, idempotency_key=idempotency_key))
            return "SMS"
        except Exception as exc:
            log.error("SMS delivery of a sign-in code failed: %s", exc)
    elif alimtalk.configured:
        log.error("AlimTalk delivery of a sign-in code failed and no SMS fallback is configured")
    return None


def send_code(db: Session, *, phone: str, code: str, purpose: str, idempotency_key: str | None = None) -> None:
    """Record in the dev outbox now; hand to the providers once the transaction committed.

    Nothing leaves the process when the transaction rolls back: the dev outbox row goes with
    it and the delivery callback is discarded.
    """
    settings = settings_of(db)
    body = CODE_TEXT.get(purpose, CODE_TEXT["LOGIN"]).format(code=code)
    alimtalk_on = AlimTalkProvider(settings).configured
    sms_on = SmsProvider(settings).configured
    channel = "SMS" if sms_on and not alimtalk_on else "ALIMTALK"
    record_dev_message(db, channel=channel, to=phone, phone=phone, purpose=purpose, code=code, body=body)
    if alimtalk_on or sms_on:

        def _deliver() -> None:
            deliver_code(settings, phone, body, code, idempotency_key=idempotency_key)

        after_commit(db, _deliver)
