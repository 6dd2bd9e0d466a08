"""Provider adapters: small HTTP/SMTP clients configured by URL and key.

AlimTalk and SMS speak NHN Cloud's Notification APIs; Slack is an incoming webhook; e-mail
is SMTP. Each ``send`` raises ``DeliveryError`` when the provider did not accept the message.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from beachsaver.config import Settings


class DeliveryError(RuntimeError):
    pass


@dataclass
class OutgoingMessage:
    channel: str
    to: str
    body: str
    subject: str | None = None
    template_params: dict[str, str] | None = None
    idempotency_key: str | None = None


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float) -> httpx.Response:
    try:
        response = httpx.post(url, json=payload, headers=headers, timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise DeliveryError(f"{type(exc).__name__}") from exc
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}")
    return response


def _nhn_ok(response: httpx.Response, *, results_path: tuple[str, ...] = ()) -> None:
    """NHN Cloud answers ``{"header": {"isSuccessful", "resultCode", "resultMessage"}, ...}``.

    ``results_path`` leads to the per-recipient results (each with ``resultCode``, 0 = accepted)
    when the provider reports them; a refused recipient is a failed delivery.
    """
    try:
        answer = response.json()
    except ValueError as exc:
        raise DeliveryError("unreadable provider answer") from exc
    header = answer.get("header") if isinstance(answer, dict) else None
    if not isinstance(header, dict):
        raise DeliveryError("provider answer without a header")
    if header.get("isSuccessful") is not True:
        raise DeliveryError(f"provider refused: {header.get('resultCode')} {header.get('resultMessage')}")
    node: Any = answer
    for key in results_path:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, list):
        for result in node:
            code = result.get("resultCode", 0) if isinstance(result, dict) else 0
            if code not in (0, "0", None):
                raise DeliveryError(f"recipient refused: {code} {result.get('resultMessage')}")


def _headers(secret: str | None, msg: OutgoingMessage) -> dict[str, str]:
    headers = {"Content-Type": "application/json;charset=UTF-8"}
    if secret:
        headers["X-Secret-Key"] = secret
    if msg.idempotency_key:
        headers["Idempotency-Key"] = msg.idempotency_key
    return headers


class AlimTalkProvider:
    """NHN Cloud KakaoTalk Bizmessage AlimTalk (v2.3)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.alimtalk_base_url and self.settings.alimtalk_app_key)

    def send(self, msg: OutgoingMessage) -> None:
        s = self.settings
        url = f"{s.alimtalk_base_url.rstrip('/')}/alimtalk/v2.3/appkeys/{s.alimtalk_app_key}/messages"  # type: ignore[union-attr]
        payload = {
            "senderKey": s.alimtalk_sender_key or "",
            "templateCode": s.alimtalk_template_code,
            "recipientList": [
                {"recipientNo": msg.to, "templateParameter": msg.template_params or {"message": msg.body}}
            ],
        }
        _nhn_ok(
            _post_json(url, payload, _headers(s.alimtalk_secret_key, msg), s.provider_timeout_s),
            results_path=("message", "sendResults"),
        )


class SmsProvider:
    """NHN Cloud SMS (v3.0)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.sms_base_url and self.settings.sms_app_key)

    def send(self, msg: OutgoingMessage) -> None:
        s = self.settings
        url = f"{s.sms_base_url.rstrip('/')}/sms/v3.0/appKeys/{s.sms_app_key}/sender/sms"  # type: ignore[union-attr]
        payload = {"body": msg.body, "sendNo": s.sms_sender_no, "recipientList": [{"recipientNo": msg.to}]}
        _nhn_ok(
            _post_json(url, payload, _headers(s.sms_secret_key, msg), s.provider_timeout_s),
            results_path=("body", "data", "sendResultList"),
        )


class SlackProvider:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.slack_webhook_url)

    def send(self, msg: OutgoingMessage) -> None:
        url = msg.to if msg.to.startswith("http") else self.settings.slack_webhook_url
        text = f"*{msg.subject}*\n{msg.body}" if msg.subject else msg.body
        _post_json(url or "", {"text": text}, _headers(None, msg), self.settings.provider_timeout_s)


class SmtpProvider:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    def send(self, msg: OutgoingMessage) -> None:
        s = self.settings
        email = EmailMessage()
        email["From"] = s.smtp_from
        email["To"] = msg.to
        email["Subject"] = msg.subject or "Beach-Saver"
        if msg.idempotency_key:
            email["Message-ID"] = f"<{msg.idempotency_key}@beachsaver>"
        email.set_content(msg.body)
        try:
            with smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=s.provider_timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user and s.smtp_password:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(type(exc).__name__) from exc
