"""Notification channel adapters: FCM HTTP v1 and a generic JSON webhook, plus the channel map.

AlimTalk, SMS, Slack and SMTP reuse ``beachsaver.messaging.providers``. Every adapter sends the
delivery's dedupe key as ``Idempotency-Key`` (SMTP: as the ``Message-ID``) and raises
``DeliveryError`` when the provider did not accept the message; ``PermanentDeliveryError``
marks an answer that no retry can change (an unregistered push token, say).

Settings read here (``BEACHSAVER_`` prefix; read with defaults until they join ``Settings``):
``FCM_CREDENTIALS_FILE`` (service-account key JSON), ``FCM_PROJECT_ID`` (default: the key's
``project_id``), ``FCM_BASE_URL`` (default ``https://fcm.googleapis.com``), ``FCM_TOKEN_URI``
(default: the key's ``token_uri``), ``NOTIFY_WEBHOOK_URL``, ``NOTIFY_WEBHOOK_TOKEN``,
``NOTIFY_WEBHOOK_CHANNELS`` (channels sent to the webhook instead of their own adapter) and
``ALIMTALK_NOTICE_TEMPLATE_CODE`` (the AlimTalk template of notifications; the sign-in code has
its own).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

from beachsaver.config import Settings
from beachsaver.messaging.providers import (
    AlimTalkProvider,
    DeliveryError,
    OutgoingMessage,
    SlackProvider,
    SmsProvider,
    SmtpProvider,
)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_DEFAULT_BASE_URL = "https://fcm.googleapis.com"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class PermanentDeliveryError(DeliveryError):
    """The provider refused the message for good; retrying cannot help."""


@dataclass
class NotificationMessage(OutgoingMessage):
    """An outgoing message plus the key/value data a push or webhook carries."""

    data: dict[str, str] = field(default_factory=dict)


class Provider(Protocol):
    @property
    def configured(self) -> bool: ...

    def send(self, msg: OutgoingMessage) -> None: ...


def setting(settings: Settings, name: str, default: Any) -> Any:
    """A setting that may not exist on ``Settings`` yet (proposed names, read with a default)."""
    value = getattr(settings, name, None)
    return default if value is None or value == "" else value


def _headers(msg: OutgoingMessage, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    if msg.idempotency_key:
        headers["Idempotency-Key"] = msg.idempotency_key
    headers.update(extra or {})
    return headers


def _post(url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float) -> httpx.Response:
    try:
        return httpx.post(url, json=payload, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(type(exc).__name__) from exc


# ---------------------------------------------------------------------------------------------
# FCM HTTP v1


@dataclass
class _CachedToken:
    value: str
    expires_at: float


_token_cache: dict[tuple[str, str], _CachedToken] = {}
_token_lock = threading.Lock()


def clear_token_cache() -> None:
    with _token_lock:
        _token_cache.clear()


class FcmProvider:
    """Firebase Cloud Messaging HTTP v1 with an OAuth2 token from the service-account key.

    The access token comes from the key's token URI by the JWT bearer grant (RFC 7523, RS256)
    and is cached, per key and token URI, until a minute before it expires.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key: dict[str, Any] | None = None

    @property
    def credentials_file(self) -> str | None:
        value = setting(self.settings, "fcm_credentials_file", None)
        return str(value) if value else None

    @property
    def configured(self) -> bool:
        path = self.credentials_file
        return bool(path) and Path(path or "").is_file()

    def key(self) -> dict[str, Any]:
        if self._key is None:
            path = self.credentials_file
            if not path:
                raise DeliveryError("FCM is not configured")
            try:
                loaded = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DeliveryError("FCM credentials file unreadable") from exc
            if not isinstance(loaded, dict) or not loaded.get("private_key") or not loaded.get("client_email"):
                raise DeliveryError("FCM credentials file lacks private_key/client_email")
            self._key = loaded
        return self._key

    @property
    def project_id(self) -> str:
        return str(setting(self.settings, "fcm_project_id", None) or self.key().get("project_id") or "")

    @property
    def token_uri(self) -> str:
        return str(
            setting(self.settings, "fcm_token_uri", None)
            or self.key().get("token_uri")
            or "https://oauth2.googleapis.com/token"
        )

    @property
    def base_url(self) -> str:
        return str(setting(self.settings, "fcm_base_url", FCM_DEFAULT_BASE_URL)).rstrip("/")

    def _assertion(self, now: float) -> str:
        key = self.key()
        claims = {
            "iss": key["client_email"],
            "sub": key["client_email"],
            "scope": FCM_SCOPE,
            "aud": self.token_uri,
            "iat": int(now),
            "exp": int(now) + 3600,
        }
        headers = {"kid": key["private_key_id"]} if key.get("private_key_id") else None
        try:
            return jwt.encode(claims, key["private_key"], algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise DeliveryError("FCM private key unusable") from exc

    def access_token(self) -> str:
        cache_key = (str(self.key()["client_email"]), self.token_uri)
        now = time.time()
        with _token_lock:
            cached = _token_cache.get(cache_key)
            if cached is not None and cached.expires_at > now:
                return cached.value
        try:
            response = httpx.post(
                self.token_uri,
                data={"grant_type": JWT_BEARER_GRANT, "assertion": self._assertion(now)},
                timeout=self.settings.provider_timeout_s,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"token: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"token: HTTP {response.status_code}")
        try:
            body = response.json()
            token = str(body["access_token"])
            expires_in = int(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError("token: unreadable answer") from exc
        with _token_lock:
            _token_cache[cache_key] = _CachedToken(token, now + max(expires_in - 60, 0))
        return token

    def invalidate_token(self) -> None:
        with _token_lock:
            _token_cache.pop((str(self.key()["client_email"]), self.token_uri), None)

    def payload(self, msg: OutgoingMessage) -> dict[str, Any]:
        data = dict(getattr(msg, "data", {}) or {})
        if msg.idempotency_key:
            data.setdefault("dedupe_key", msg.idempotency_key)
        message: dict[str, Any] = {
            "token": msg.to,
            "notification": {"title": msg.subject or "Beach-Saver", "body": msg.body},
            "data": {k: str(v) for k, v in data.items()},
            "android": {"priority": "high"},
        }
        return {"message": message}

    def send(self, msg: OutgoingMessage) -> None:
        project = self.project_id
        if not project:
            raise DeliveryError("FCM project id unknown")
        url = f"{self.base_url}/v1/projects/{project}/messages:send"
        token = self.access_token()
        response = _post(
            url,
            self.payload(msg),
            _headers(msg, {"Authorization": f"Bearer {token}"}),
            self.settings.provider_timeout_s,
        )
        if response.status_code < 300:
            return
        status = _fcm_error_status(response)
        if response.status_code == 401:
            self.invalidate_token()
        if response.status_code == 404 or status in ("UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"):
            raise PermanentDeliveryError(f"HTTP {response.status_code} {status or ''}".strip())
        raise DeliveryError(f"HTTP {response.status_code} {status or ''}".strip())


def _fcm_error_status(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return None
    if not isinstance(error, dict):
        return None
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None


# ---------------------------------------------------------------------------------------------
# Generic JSON webhook


class WebhookProvider:
    """POSTs ``{channel, to, subject, body, data, idempotency_key}`` to any gateway."""

    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self.settings = settings
        self.url = url or setting(settings, "notify_webhook_url", None)

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def payload(self, msg: OutgoingMessage) -> dict[str, Any]:
        return {
            "channel": msg.channel,
            "to": msg.to,
            "subject": msg.subject,
            "body": msg.body,
            "data": dict(getattr(msg, "data", {}) or {}),
            "idempotency_key": msg.idempotency_key,
        }

    def send(self, msg: OutgoingMessage) -> None:
        token = setting(self.settings, "notify_webhook_token", None)
        extra = {"Authorization": f"Bearer {token}"} if token else {}
        response = _post(str(self.url), self.payload(msg), _headers(msg, extra), self.settings.provider_timeout_s)
        if response.status_code >= 300:
            if response.status_code in (400, 404, 410, 422):
                raise PermanentDeliveryError(f"HTTP {response.status_code}")
            raise DeliveryError(f"HTTP {response.status_code}")


# ---------------------------------------------------------------------------------------------
# Channel → adapter


def webhook_channels(settings: Settings) -> set[str]:
    raw = setting(settings, "notify_webhook_channels", "")
    items = raw if isinstance(raw, (list, tuple, set)) else str(raw).split(",")
    return {str(c).strip().upper() for c in items if str(c).strip()}


def _alimtalk_settings(settings: Settings) -> Settings:
    code = setting(settings, "alimtalk_notice_template_code", "BEACHSAVER_NOTICE")
    return settings.model_copy(update={"alimtalk_template_code": code})


def provider_for(channel: str, settings: Settings) -> Provider | None:
    """The configured adapter of a channel, or None when the channel has none."""
    if channel in webhook_channels(settings):
        webhook = WebhookProvider(settings)
        if webhook.configured:
            return webhook
    provider: Provider
    if channel == "PUSH":
        provider = FcmProvider(settings)
    elif channel == "ALIMTALK":
        provider = AlimTalkProvider(_alimtalk_settings(settings))
    elif channel == "SMS":
        provider = SmsProvider(settings)
    elif channel == "EMAIL":
        provider = SmtpProvider(settings)
    elif channel == "SLACK":
        provider = SlackProvider(settings)
    else:
        return None
    return provider if provider.configured else None


__all__ = [
    "DeliveryError",
    "FcmProvider",
    "NotificationMessage",
    "PermanentDeliveryError",
    "Provider",
    "WebhookProvider",
    "clear_token_cache",
    "provider_for",
    "setting",
    "webhook_channels",
]
