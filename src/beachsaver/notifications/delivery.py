"""The outbox worker: claims due deliveries, sends them, records the outcome.

States: ``PENDING`` → ``SENT`` | ``FAILED`` (retrying with exponential backoff) → ``DEAD``
after the last try; ``retry_dead`` (``beachsaver notifications retry``) re-queues dead rows.

Claiming: one short transaction selects due rows (``SELECT … FOR UPDATE SKIP LOCKED`` on
MySQL/MariaDB, a plain select on SQLite, whose writers are serialised by ``BEGIN IMMEDIATE``)
and takes each with a compare-and-set on ``attempts`` that also moves ``next_attempt_at`` one
lease ahead. The send happens outside any transaction; the outcome is written with the same
compare-and-set, so two workers never send one row, and a worker that dies mid-send leaves the
row to be retried once the lease ends (with the same ``Idempotency-Key``).

Settings (``BEACHSAVER_`` prefix; read with defaults until they join ``Settings``):
``NOTIFY_MAX_ATTEMPTS`` (6), ``NOTIFY_BACKOFF_BASE_S`` (30; the wait after the n-th failed try is
base · 2^(n-1)), ``NOTIFY_BACKOFF_MAX_S`` (3600), ``NOTIFY_LEASE_S`` (120, at least
3 × ``PROVIDER_TIMEOUT_S`` + 30), ``NOTIFY_BATCH_SIZE`` (50).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from beachsaver.audit import service as audit
from beachsaver.config import Settings
from beachsaver.core import errors
from beachsaver.core.crypto import PiiCipher
from beachsaver.core.db import rows_affected, session_scope
from beachsaver.core.metrics import DELIVERIES, QUEUE_DEPTH
from beachsaver.core.time import iso_z, to_utc, utcnow
from beachsaver.messaging.providers import DeliveryError, OutgoingMessage, SlackProvider, SmsProvider, SmtpProvider
from beachsaver.notifications.models import Delivery, UserDevice
from beachsaver.notifications.providers import NotificationMessage, PermanentDeliveryError, provider_for, setting
from beachsaver.notifications.service import DEAD, ENC_PREFIX, FAILED, PENDING, SENT, USER_CHANNELS

log = logging.getLogger("beachsaver.notifications.delivery")

SENDABLE = (PENDING, FAILED)
SENDABLE_CHANNELS = (*USER_CHANNELS, "SLACK")


def max_attempts(settings: Settings) -> int:
    return max(int(setting(settings, "notify_max_attempts", 6)), 1)


def backoff_s(settings: Settings, attempts: int) -> float:
    """Wait after the ``attempts``-th failed try: base · 2^(attempts-1), capped."""
    base = float(setting(settings, "notify_backoff_base_s", 30))
    cap = float(setting(settings, "notify_backoff_max_s", 3600))
    return float(min(base * (2 ** max(attempts - 1, 0)), cap))


def lease_s(settings: Settings) -> float:
    configured = float(setting(settings, "notify_lease_s", 120))
    return max(configured, 3 * float(settings.provider_timeout_s) + 30)


@dataclass
class Claimed:
    id: int
    channel: str
    address: str
    subject: str | None
    body: str
    payload: dict[str, Any]
    dedupe_key: str
    attempts: int
    user_id: int | None


def _cipher(db: Session, settings: Settings) -> PiiCipher:
    runtime = db.info.get("runtime")
    if runtime is not None:
        cipher: PiiCipher = runtime.cipher
        return cipher
    return PiiCipher(settings.pii_key_bytes, settings.phone_hash_key_bytes)


def decode_address(cipher: PiiCipher, stored: str) -> str:
    if stored.startswith(ENC_PREFIX):
        return cipher.decrypt(base64.b64decode(stored[len(ENC_PREFIX) :])) or ""
    return stored


def _claim(session_factory: sessionmaker[Session], settings: Settings, batch: int, now: datetime) -> list[Claimed]:
    claimed: list[Claimed] = []
    lease_until = now + timedelta(seconds=lease_s(settings))
    with session_scope(session_factory) as db:
        cipher = _cipher(db, settings)
        stmt = (
            select(Delivery)
            .where(
                Delivery.status.in_(SENDABLE),
                Delivery.next_attempt_at <= now,
                Delivery.channel.in_(SENDABLE_CHANNELS),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(batch)
        )
        if db.get_bind().dialect.name == "mysql":
            stmt = stmt.with_for_update(skip_locked=True)
        for row in db.execute(stmt).scalars().all():
            won = rows_affected(
                db,
                update(Delivery)
                .where(
                    Delivery.id == row.id,
                    Delivery.attempts == row.attempts,
                    Delivery.status.in_(SENDABLE),
                    Delivery.next_attempt_at <= now,
                )
                .values(attempts=row.attempts + 1, next_attempt_at=lease_until)
                .execution_options(synchronize_session=False),
            )
            if won != 1:
                continue
            try:
                address = decode_address(cipher, row.address)
            except Exception:  # unreadable (key changed): cannot ever be sent
                address = ""
            claimed.append(
                Claimed(
                    id=row.id,
                    channel=row.channel,
                    address=address,
                    subject=row.subject,
                    body=row.body,
                    payload=dict(row.payload or {}),
                    dedupe_key=row.dedupe_key,
                    attempts=row.attempts + 1,
                    user_id=row.user_id,
                )
            )
    return claimed


@dataclass
class Outcome:
    status: str
    error: str | None = None
    #: Drop the push token (FCM said it is no longer registered).
    forget_device: bool = False


def email_message_key(key: str) -> str:
    """The dedupe key as the left part of a ``Message-ID`` (a dot-atom: no ``:`` or ``@``)."""
    return re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+", ".", key).strip(".") or "beachsaver"


def _message(item: Claimed) -> NotificationMessage:
    data = {k: str(v) for k, v in item.payload.items() if k in ("event", "category", "link", "notification_id", "job")}
    params = item.payload.get("template_params")
    return NotificationMessage(
        channel=item.channel,
        to=item.address,
        body=item.body,
        subject=item.subject,
        template_params={k: str(v) for k, v in params.items()} if isinstance(params, dict) else None,
        idempotency_key=email_message_key(item.dedupe_key) if item.channel == "EMAIL" else item.dedupe_key,
        data=data,
    )


def _send(settings: Settings, item: Claimed) -> Outcome:
    if not item.address:
        return Outcome(DEAD, "no address (unreadable or empty)")
    provider = provider_for(item.channel, settings)
    if provider is None:
        if settings.dev_outbox_enabled:
            return Outcome(SENT)  # dev: captured by the dev outbox when it was queued
        return Outcome(DEAD, f"no provider configured for {item.channel}")
    try:
        provider.send(_message(item))
    except PermanentDeliveryError as exc:
        return Outcome(DEAD, str(exc) or "refused", forget_device=item.channel == "PUSH")
    except DeliveryError as exc:
        return Outcome(FAILED, str(exc) or "failed")
    except Exception as exc:
        log.exception("delivery %s raised", item.id)
        return Outcome(FAILED, type(exc).__name__)
    return Outcome(SENT)


def _finish(
    session_factory: sessionmaker[Session], settings: Settings, item: Claimed, outcome: Outcome, now: datetime
) -> None:
    values: dict[str, Any] = {"status": outcome.status, "last_error": (outcome.error or None)}
    if outcome.error:
        values["last_error"] = outcome.error[:500]
    if outcome.status == SENT:
        values.update(sent_at=now, next_attempt_at=now)
    elif outcome.status == FAILED:
        if item.attempts >= max_attempts(settings):
            values["status"] = DEAD
            values["next_attempt_at"] = now
        else:
            values["next_attempt_at"] = now + timedelta(seconds=backoff_s(settings, item.attempts))
    else:
        values["next_attempt_at"] = now
    with session_scope(session_factory) as db:
        won = rows_affected(
            db,
            update(Delivery)
            .where(Delivery.id == item.id, Delivery.attempts == item.attempts, Delivery.status.in_(SENDABLE))
            .values(**values)
            .execution_options(synchronize_session=False),
        )
        if won != 1:
            log.warning("delivery %s changed while it was being sent; outcome %s not recorded", item.id, outcome.status)
        if outcome.forget_device and item.user_id is not None:
            device = db.execute(
                select(UserDevice).where(UserDevice.user_id == item.user_id, UserDevice.fcm_token == item.address)
            ).scalar_one_or_none()
            if device is not None:
                db.delete(device)
    DELIVERIES.labels(channel=item.channel, outcome=str(values["status"]).lower()).inc()
    if values["status"] != SENT:
        log.warning(
            "delivery %s (%s) attempt %s: %s %s",
            item.id,
            item.channel,
            item.attempts,
            values["status"],
            outcome.error,
        )


def deliver_pending(
    session_factory: sessionmaker[Session], settings: Settings, batch: int = 50, *, now: datetime | None = None
) -> int:
    """Send up to ``batch`` due deliveries; returns how many were attempted.

    ``now`` fixes the clock (tests); by default each step uses the current time.
    """
    claimed = _claim(session_factory, settings, batch, now or utcnow())
    for item in claimed:
        outcome = _send(settings, item)
        _finish(session_factory, settings, item, outcome, now or utcnow())
    return len(claimed)


def deliver_all_due(session_factory: sessionmaker[Session], settings: Settings, *, limit: int = 10_000) -> int:
    """Run ``deliver_pending`` until nothing is due (the ``deliver-notifications`` job)."""
    batch = int(setting(settings, "notify_batch_size", 50))
    total = 0
    while total < limit:
        done = deliver_pending(session_factory, settings, batch)
        total += done
        if done < batch:
            break
    return total


def retry_dead(db: Session, delivery_id: int | None = None) -> int:
    """Re-queue DEAD deliveries (all, or one); they get the full number of tries again."""
    stmt = update(Delivery).where(Delivery.status == DEAD)
    if delivery_id is not None:
        if db.get(Delivery, delivery_id) is None:
            raise errors.NotFound()
        stmt = stmt.where(Delivery.id == delivery_id)
    count = rows_affected(
        db,
        stmt.values(status=PENDING, attempts=0, next_attempt_at=utcnow()).execution_options(synchronize_session=False),
    )
    if count:
        audit.record(
            db,
            "DELIVERY_RETRY",
            actor_id=None,
            target_type="DELIVERY",
            target_id=delivery_id,
            after={"delivery_id": delivery_id, "requeued": count},
        )
    return count


def queue_status(db: Session, *, now: datetime | None = None, max_age_s: int = 300) -> dict[str, Any]:
    """The readiness view of the queue: PENDING rows and the age of the oldest one."""
    now = now or utcnow()
    count, oldest = db.execute(
        select(func.count(), func.min(Delivery.next_attempt_at)).where(Delivery.status == PENDING)
    ).one()
    oldest_s = max(0, int((now - to_utc(oldest)).total_seconds())) if oldest is not None else 0
    depth = db.execute(select(func.count()).where(Delivery.status.in_(SENDABLE))).scalar_one()
    QUEUE_DEPTH.set(depth)
    return {"ok": oldest_s <= max_age_s, "pending": int(count), "oldest_s": oldest_s}


def queue_readiness(runtime: Any) -> dict[str, Any]:
    """A readiness check (``app.state.readiness_checks["queue"]``): fails when the oldest
    PENDING delivery has waited more than 5 minutes (07 §11)."""
    with session_scope(runtime.session_factory) as db:
        return queue_status(db)


# ---------------------------------------------------------------------------------------------
# Direct alerts (never through the database outbox): database and backup problems

_spool_lock = threading.Lock()
SPOOL_FILE = "alert-spool.jsonl"


def _direct_provider(channel: str, settings: Settings) -> Any:
    provider: Any
    if channel == "EMAIL":
        provider = SmtpProvider(settings)
    elif channel == "SMS":
        provider = SmsProvider(settings)
    elif channel == "SLACK":
        provider = SlackProvider(settings)
    else:
        return None
    return provider if provider.configured else None


def _spool(settings: Settings, entries: list[dict[str, Any]]) -> None:
    if not entries:
        return
    path = Path(settings.data_dir) / SPOOL_FILE
    with _spool_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            for entry in entries:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _send_entry(settings: Settings, entry: dict[str, Any]) -> bool:
    provider = _direct_provider(entry["channel"], settings)
    if provider is None:
        return False
    try:
        provider.send(
            OutgoingMessage(
                channel=entry["channel"],
                to=entry["to"],
                body=entry["body"],
                subject=entry.get("subject"),
                idempotency_key=entry.get("key"),
            )
        )
    except DeliveryError as exc:
        log.error("direct alert %s on %s failed: %s", entry.get("key"), entry["channel"], exc)
        return False
    return True


def send_direct_alert(
    settings: Settings,
    *,
    kind: str,
    subject: str,
    body: str,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    slack: bool = True,
) -> bool:
    """Send an alert now from this process (e-mail, SMS, Slack); what cannot be sent is spooled
    to ``$DATA_DIR/alert-spool.jsonl`` for ``flush_alert_spool``. True when everything went out."""
    from beachsaver.notifications.service import _split_list

    at = utcnow()
    key = f"alert:{kind}:{at.strftime('%Y%m%dT%H%M%S%f')}"
    targets = [("EMAIL", e) for e in (emails if emails is not None else _split_list(settings.ops_email))]
    targets += [("SMS", p) for p in (phones or [])]
    if slack and settings.slack_webhook_url:
        targets.append(("SLACK", "slack"))
    # A channel with no provider configured here cannot be retried into success: leave it out.
    targets = [(channel, to) for channel, to in targets if _direct_provider(channel, settings) is not None]
    failed: list[dict[str, Any]] = []
    for index, (channel, to) in enumerate(targets):
        entry = {
            "at": iso_z(at),
            "kind": kind,
            "channel": channel,
            "to": to,
            "subject": subject,
            "body": body,
            "key": f"{key}:{index}",
        }
        if not _send_entry(settings, entry):
            failed.append(entry)
    if not targets:
        failed.append({"at": iso_z(at), "kind": kind, "channel": "NONE", "to": "", "subject": subject, "body": body})
    _spool(settings, failed)
    return not failed


def flush_alert_spool(settings: Settings) -> int:
    """Re-send spooled direct alerts; keeps the ones that still fail. Returns how many went out."""
    path = Path(settings.data_dir) / SPOOL_FILE
    with _spool_lock:
        if not path.is_file():
            return 0
        lines = path.read_text(encoding="utf-8").splitlines()
        keep: list[str] = []
        sent = 0
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("channel") != "NONE" and _send_entry(settings, entry):
                sent += 1
            else:
                keep.append(line)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8")
        tmp.replace(path)
    return sent
