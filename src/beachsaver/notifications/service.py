"""Notifications: in-app rows written in the event's transaction, plus outbox deliveries.

Other domains call ``notify``; nothing here sends anything synchronously. Each recipient gets
one in-app ``Notification`` and one ``Delivery`` outbox row per channel in
``event channels ∩ channels the recipient accepts ∩ channels with an address``; the worker
(``beachsaver.notifications.delivery``) sends them after the commit.

Dedupe: every outbox row has a unique key ``{dedupe}:{user_id}:{channel}[:{device_id}]``; an
insert of a known key is skipped (never an error). The in-app notification itself is guarded
the same way by a marker row with channel ``INAPP`` (status ``SENT``, nothing to send), so
calling ``notify`` twice for one event creates nothing the second time.

Phone numbers in the outbox (SMS, AlimTalk) are stored encrypted (``enc:`` + base64 of the PII
cipher's output), like every other phone at rest.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Select, Table, delete, func, insert, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from beachsaver.audit import security
from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.db import rows_affected
from beachsaver.core.enums import ADMIN_ROLES, Role, UserStatus
from beachsaver.core.phone import normalise_phone
from beachsaver.core.runtime import cipher_of, settings_of
from beachsaver.core.time import utcnow
from beachsaver.messaging.service import record_dev_message, record_dev_messages
from beachsaver.notifications.models import Delivery, Notification, UserDevice
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.users.models import WITHOUT_PROFILES, User

if TYPE_CHECKING:
    from beachsaver.core.deps import Principal

log = logging.getLogger("beachsaver.notifications")

CATEGORIES = ("ACCOUNT", "ASSIGNMENT", "REPORT", "DEPOT", "TEAM", "NOTICE", "STATISTICS", "SECURITY")
CHANNELS = ("PUSH", "ALIMTALK", "SMS", "EMAIL", "SLACK")
#: Channels a user can receive on (and choose in the preferences); Slack is for operations only.
USER_CHANNELS = ("PUSH", "ALIMTALK", "SMS", "EMAIL")
#: Categories that cannot be switched off: their default channels stay on.
LOCKED_CATEGORIES = ("ASSIGNMENT", "SECURITY")
#: The in-app marker "channel" of the outbox (dedupe of the in-app notification; never sent).
INAPP = "INAPP"

#: Delivery states (01-product §4).
PENDING, SENT, FAILED, DEAD = "PENDING", "SENT", "FAILED", "DEAD"

#: The policy table (reference §6.1) as channels per category, for callers of ``notify``.
POLICY_CHANNELS: dict[str, tuple[str, ...]] = {
    "ACCOUNT": ("PUSH", "ALIMTALK", "EMAIL"),
    "ASSIGNMENT": ("PUSH", "ALIMTALK", "SMS"),
    "REPORT": ("PUSH", "EMAIL"),
    "DEPOT": ("PUSH", "EMAIL"),
    "TEAM": ("PUSH", "EMAIL"),
    "NOTICE": ("PUSH", "SMS"),
    "STATISTICS": ("PUSH", "EMAIL"),
    "SECURITY": ("PUSH", "SMS", "EMAIL"),
}
BROADCAST_CHANNELS = POLICY_CHANNELS["NOTICE"]

MAX_KEY = 160
MAX_DEVICES = 10
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._:@+=-]+$")
_CHUNK = 500
ENC_PREFIX = "enc:"
SLACK_ADDRESS = "slack"
BRAND = "[Beach-Saver]"


# ---------------------------------------------------------------------------------------------
# Preferences


def default_preference(category: str, channel: str, *, is_admin: bool) -> bool:
    """PUSH on; AlimTalk for assignment/account/security; e-mail for admins; SMS for security."""
    if channel == "PUSH":
        return True
    if channel == "ALIMTALK":
        return category in ("ASSIGNMENT", "ACCOUNT", "SECURITY")
    if channel == "EMAIL":
        return is_admin
    if channel == "SMS":
        return category == "SECURITY"
    return False


def _is_admin(user: User) -> bool:
    return Role(user.role) in ADMIN_ROLES


def _stored_overrides(user: User) -> dict[str, dict[str, bool]]:
    raw = (user.preferences or {}).get("notifications")
    out: dict[str, dict[str, bool]] = {}
    if not isinstance(raw, dict):
        return out
    for category, channels in raw.items():
        if category in CATEGORIES and isinstance(channels, dict):
            picked = {ch: v for ch, v in channels.items() if ch in USER_CHANNELS and isinstance(v, bool)}
            if picked:
                out[category] = picked
    return out


def effective_preferences(user: User) -> dict[str, dict[str, bool]]:
    """Every category and user channel: the defaults, the user's choices, the locked channels."""
    admin = _is_admin(user)
    stored = _stored_overrides(user)
    prefs: dict[str, dict[str, bool]] = {}
    for category in CATEGORIES:
        row: dict[str, bool] = {}
        for channel in USER_CHANNELS:
            default = default_preference(category, channel, is_admin=admin)
            value = stored.get(category, {}).get(channel, default)
            if category in LOCKED_CATEGORIES and default:
                value = True
            row[channel] = value
        prefs[category] = row
    return prefs


def update_preferences(db: Session, user: User, changes: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Merge ``changes`` into the user's choices; the locked categories' defaults stay on (400)."""
    admin = _is_admin(user)
    problems: list[dict[str, str]] = []
    normalised: dict[str, dict[str, bool]] = {}
    for raw_category, channels in changes.items():
        category = str(raw_category).strip().upper()
        if category not in CATEGORIES:
            problems.append(
                {"field": str(raw_category), "message": f"unknown category; one of {', '.join(CATEGORIES)}"}
            )
            continue
        for raw_channel, value in channels.items():
            channel = str(raw_channel).strip().upper()
            path = f"{raw_category}.{raw_channel}"
            if channel not in USER_CHANNELS:
                problems.append({"field": path, "message": f"unknown channel; one of {', '.join(USER_CHANNELS)}"})
                continue
            if (
                category in LOCKED_CATEGORIES
                and value is False
                and default_preference(category, channel, is_admin=admin)
            ):
                problems.append({"field": path, "message": f"{category} notifications cannot be switched off"})
                continue
            normalised.setdefault(category, {})[channel] = value
    if problems:
        raise errors.ValidationFailed(details=problems)
    before = effective_preferences(user)
    stored = _stored_overrides(user)
    for category, channels in normalised.items():
        stored[category] = {**stored.get(category, {}), **channels}
    user.preferences = {**(user.preferences or {}), "notifications": stored}
    db.flush()
    after = effective_preferences(user)
    if after != before:
        audit.record(
            db,
            "NOTIFICATION_PREFERENCES_UPDATE",
            actor_id=user.id,
            target_type="USER",
            target_id=user.id,
            org_id=user.org_id,
            before=before,
            after=after,
        )
    return after


# ---------------------------------------------------------------------------------------------
# Outbox helpers


def dedupe_key(base: str, *parts: object) -> str:
    """``base:part:part…`` within 160 header-safe characters (an unsafe or long base is hashed)."""
    suffix = ":".join(str(p) for p in parts)
    if not base or not _SAFE_KEY.match(base) or len(base) + len(suffix) + 1 > MAX_KEY:
        base = "sha256-" + hashlib.sha256(base.encode("utf-8")).hexdigest()[:40]
    return f"{base}:{suffix}" if suffix else base


def encode_address(db: Session, channel: str, address: str) -> str:
    if channel in ("SMS", "ALIMTALK"):
        return ENC_PREFIX + base64.b64encode(cipher_of(db).encrypt(address)).decode("ascii")
    return address


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_ignore(db: Session, values: dict[str, Any]) -> bool:
    """Insert an outbox row unless its dedupe key exists; True when inserted. Never raises on a
    duplicate key: ``INSERT IGNORE`` on MySQL/MariaDB, ``ON CONFLICT DO NOTHING`` on SQLite."""
    now = utcnow()
    row = {"status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now, **values}
    dialect = db.get_bind().dialect.name
    if dialect == "mysql":
        return rows_affected(db, mysql_insert(Delivery).prefix_with("IGNORE").values(**row)) == 1
    if dialect == "sqlite":
        stmt = sqlite_insert(Delivery).values(**row).on_conflict_do_nothing(index_elements=["dedupe_key"])
        return rows_affected(db, stmt) == 1
    try:  # pragma: no cover - other databases are not supported, kept for safety
        with db.begin_nested():
            db.execute(insert(Delivery).values(**row))
        return True
    except IntegrityError:  # pragma: no cover
        return False


def _existing_keys(db: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(keys)):
        found.update(db.execute(select(Delivery.dedupe_key).where(Delivery.dedupe_key.in_(chunk))).scalars())
    return found


def _channel_text(channel: str, title: str, message: str, link: str | None) -> tuple[str | None, str]:
    """(subject, body) as each channel shows them."""
    if channel in ("SMS", "ALIMTALK"):
        return (title if channel == "ALIMTALK" else None), f"{BRAND} {title}\n{message}"
    if channel == "EMAIL":
        return f"{BRAND} {title}", message + (f"\n\n{link}" if link else "")
    return title, message


@dataclass
class Outgoing:
    """One outbox row to insert (without its state columns) and its dev-outbox record."""

    row: dict[str, Any]
    dev: dict[str, Any]

    def attach(self, notification_id: int) -> None:
        """Belong to an in-app notification (planned before the notification had its id)."""
        self.row["notification_id"] = notification_id
        self.row["payload"] = {**(self.row["payload"] or {}), "notification_id": notification_id}


def outgoing(
    db: Session,
    *,
    channel: str,
    address: str,
    key: str,
    title: str,
    message: str,
    link: str | None = None,
    user_id: int | None = None,
    notification_id: int | None = None,
    data: dict[str, Any] | None = None,
    dev_to: str | None = None,
    dev_phone: str | None = None,
) -> Outgoing:
    subject, body = _channel_text(channel, title, message, link)
    payload: dict[str, Any] = {k: v for k, v in (data or {}).items() if v is not None}
    if link:
        payload["link"] = link
    if notification_id is not None:
        payload["notification_id"] = notification_id
    if channel == "ALIMTALK":
        payload["template_params"] = {"title": title, "message": message, "link": link or ""}
    subject = subject[:200] if subject else None
    return Outgoing(
        row={
            "notification_id": notification_id,
            "user_id": user_id,
            "channel": channel,
            "address": encode_address(db, channel, address),
            "subject": subject,
            "body": body,
            "payload": payload or None,
            "dedupe_key": key,
        },
        dev={"channel": channel, "to": (dev_to or address)[:254], "phone": dev_phone, "subject": subject, "body": body},
    )


def queue_delivery(db: Session, out: Outgoing) -> bool:
    """One outbox row (skipped when its key exists); recorded in the dev outbox when queued."""
    inserted = insert_ignore(db, out.row)
    if inserted:
        record_dev_message(db, **out.dev)
    return inserted


def _phone_of(db: Session, user: User) -> str | None:
    try:
        return cipher_of(db).decrypt(user.phone_enc)
    except Exception:  # ValueError, cryptography's InvalidTag: a key mix-up must not stop the event
        log.warning("phone of user %s cannot be decrypted", user.id)
        return None


def _devices_by_user(db: Session, user_ids: Sequence[int]) -> dict[int, list[UserDevice]]:
    out: dict[int, list[UserDevice]] = {}
    for chunk in _chunks(list(user_ids)):
        stmt = select(UserDevice).where(UserDevice.user_id.in_(chunk)).order_by(UserDevice.id)
        for device in db.execute(stmt).scalars():
            out.setdefault(device.user_id, []).append(device)
    return out


def _user_outgoing(
    db: Session,
    *,
    user: User,
    category: str,
    channels: Iterable[str],
    title: str,
    message: str,
    link: str | None,
    dedupe: str,
    notification_id: int | None,
    event: str,
    devices: Callable[[], list[UserDevice]],
    phone: Callable[[], str | None],
) -> list[Outgoing]:
    """The outbox rows of one user, in order: the channels ∩ the user's choices ∩ the user's
    addresses. ``devices`` and ``phone`` are asked only when a channel needs them."""
    if user.status == UserStatus.WITHDRAWN:
        return []
    accepted = effective_preferences(user)[category]
    picked = [c for c in channels if c in USER_CHANNELS and accepted.get(c)]
    if not picked:
        return []
    number: str | None = None
    if settings_of(db).dev_outbox_enabled or "SMS" in picked or "ALIMTALK" in picked:
        number = phone()  # the dev outbox files every message under the user's phone
    data = {"event": event, "category": category}
    common: dict[str, Any] = {
        "title": title,
        "message": message,
        "link": link,
        "user_id": user.id,
        "notification_id": notification_id,
        "data": data,
    }
    out: list[Outgoing] = []
    for channel in picked:
        if channel == "PUSH":
            for device in devices():
                out.append(
                    outgoing(
                        db,
                        channel=channel,
                        address=device.fcm_token,
                        key=dedupe_key(dedupe, user.id, channel, device.id),
                        dev_to=f"device:{device.id}",
                        dev_phone=number,
                        **common,
                    )
                )
        elif channel in ("SMS", "ALIMTALK"):
            if not number:
                continue
            out.append(
                outgoing(
                    db,
                    channel=channel,
                    address=number,
                    key=dedupe_key(dedupe, user.id, channel),
                    dev_phone=number,
                    **common,
                )
            )
        elif channel == "EMAIL" and user.email:
            out.append(
                outgoing(
                    db,
                    channel=channel,
                    address=user.email,
                    key=dedupe_key(dedupe, user.id, channel),
                    dev_phone=number,
                    **common,
                )
            )
    return out


def queue_user_channels(
    db: Session,
    *,
    user: User,
    category: str,
    channels: Iterable[str],
    title: str,
    message: str,
    link: str | None,
    dedupe: str,
    notification_id: int | None,
    event: str,
    devices: list[UserDevice] | None = None,
    phone: str | None = None,
) -> int:
    """Outbox rows for one user: the channels ∩ the user's choices ∩ the user's addresses."""

    def user_devices() -> list[UserDevice]:
        return devices if devices is not None else _devices_by_user(db, [user.id]).get(user.id, [])

    def user_phone() -> str | None:
        return phone if phone is not None else _phone_of(db, user)

    queued = 0
    for out in _user_outgoing(
        db,
        user=user,
        category=category,
        channels=channels,
        title=title,
        message=message,
        link=link,
        dedupe=dedupe,
        notification_id=notification_id,
        event=event,
        devices=user_devices,
        phone=user_phone,
    ):
        if insert_ignore(db, out.row):
            record_dev_message(db, **out.dev)
            queued += 1
    return queued


def _check_channels(channels: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(str(c).strip().upper() for c in channels))
    unknown = [c for c in wanted if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown notification channel(s): {unknown}")
    return wanted


# ---------------------------------------------------------------------------------------------
# notify


def notify(
    db: Session,
    *,
    event: str,
    category: str,
    user_ids: Iterable[int],
    title: str,
    message: str,
    link: str | None = None,
    channels: Iterable[str] = ("PUSH",),
    dedupe: str,
) -> list[Notification]:
    """Create one in-app notification per recipient and queue its channel deliveries.

    ``dedupe`` identifies the event (e.g. ``report:12:submitted``); each (event, recipient,
    channel) is delivered at most once, and a repeated call creates no second in-app row.
    Returns the notifications created by this call.
    """
    spec = NotifyEvent(
        event=event,
        category=category,
        user_ids=tuple(user_ids),
        title=title,
        message=message,
        link=link,
        channels=tuple(channels),
        dedupe=dedupe,
    )
    return notify_many(db, [spec])[0]


@dataclass(frozen=True)
class NotifyEvent:
    """The arguments of one ``notify`` call."""

    event: str
    category: str
    user_ids: tuple[int, ...]
    title: str
    message: str
    dedupe: str
    link: str | None = None
    channels: tuple[str, ...] = ("PUSH",)


@dataclass
class _Planned:
    """One in-app notification of a batch and the outbox rows that go with it."""

    spec: NotifyEvent
    wanted: list[str]
    user: User
    marker: str
    row: Notification
    title: str
    link: str | None
    outgoing: list[Outgoing] = field(default_factory=list)
    won: bool = True


def notify_many(db: Session, events: Sequence[NotifyEvent]) -> list[list[Notification]]:
    """``notify`` for several events at once: the same rows as one ``notify`` call per event, in
    that order (a key repeated within the batch counts once, for its first event), written with
    a bounded number of statements: the recipients, their devices and the known dedupe keys are
    loaded once, the in-app rows and the outbox rows are inserted in batches.

    Returns, per event, the notifications it created.
    """
    checked: list[tuple[NotifyEvent, list[str], list[int]]] = []
    for spec in events:
        if spec.category not in CATEGORIES:
            raise ValueError(f"unknown notification category: {spec.category}")
        checked.append((spec, _check_channels(spec.channels), sorted({int(u) for u in spec.user_ids})))
    created: list[list[Notification]] = [[] for _ in checked]
    everyone = sorted({uid for _, _, ids in checked for uid in ids})
    if not everyone:
        return created
    users: dict[int, User] = {}
    for chunk in _chunks(everyone):
        found = db.execute(select(User).where(User.id.in_(chunk)).options(*WITHOUT_PROFILES)).scalars()
        users.update({u.id: u for u in found})
    candidates: list[tuple[int, _Planned]] = []
    for index, (spec, wanted, ids) in enumerate(checked):
        title = spec.title[:200]
        link = spec.link[:300] if spec.link else None
        for uid in ids:
            if uid in users:
                row = Notification(
                    user_id=uid,
                    category=spec.category,
                    event=spec.event[:48],
                    title=title,
                    message=spec.message,
                    link=link,
                )
                marker = dedupe_key(spec.dedupe, uid, INAPP)
                candidates.append((index, _Planned(spec, wanted, users[uid], marker, row, title, link)))
    _plan_outgoing(db, [plan for _, plan in candidates])
    # one look-up for every key of the batch: the in-app markers and the outbox rows
    known = _existing_keys(
        db, [key for _, plan in candidates for key in (plan.marker, *(o.row["dedupe_key"] for o in plan.outgoing))]
    )
    plans: list[tuple[int, _Planned]] = []
    for index, plan in candidates:
        if plan.marker in known:
            continue
        known.add(plan.marker)  # a later event of the batch with this key finds it, as a later call would
        kept: list[Outgoing] = []
        for out in plan.outgoing:
            if out.row["dedupe_key"] not in known:
                known.add(out.row["dedupe_key"])
                kept.append(out)
        plan.outgoing = kept
        plans.append((index, plan))
    if not plans:
        return created
    _number_on_sqlite(db, [plan.row for _, plan in plans])
    db.add_all(plan.row for _, plan in plans)
    db.flush()
    for _, plan in plans:
        for out in plan.outgoing:
            out.attach(plan.row.id)
    _insert_planned(db, [plan for _, plan in plans])
    for index, plan in plans:
        if plan.won:
            created[index].append(plan.row)
    return created


def _plan_outgoing(db: Session, plans: list[_Planned]) -> None:
    """Each notification's outbox rows, before the notification has its id, with the devices of
    every recipient loaded once and each phone decrypted once."""
    push_users = sorted({p.user.id for p in plans if "PUSH" in p.wanted})
    devices = _devices_by_user(db, push_users) if push_users else {}
    phones: dict[int, str | None] = {}

    def devices_of(user_id: int) -> list[UserDevice]:
        return devices.get(user_id, [])

    def phone_of(user: User) -> str | None:
        if user.id not in phones:
            phones[user.id] = _phone_of(db, user)
        return phones[user.id]

    for plan in plans:
        external = [c for c in plan.wanted if c in USER_CHANNELS]
        if not external:
            continue
        user = plan.user
        plan.outgoing = _user_outgoing(
            db,
            user=user,
            category=plan.spec.category,
            channels=external,
            title=plan.title,
            message=plan.spec.message,
            link=plan.link,
            dedupe=plan.spec.dedupe,
            notification_id=None,
            event=plan.spec.event,
            devices=partial(devices_of, user.id),
            phone=partial(phone_of, user),
        )


def _insert_planned(db: Session, plans: list[_Planned]) -> None:
    """Insert every plan's in-app marker, then every plan's outbox rows, skipping known keys
    (one ``executemany`` each). When a concurrent transaction wrote one of the keys first (only
    then are fewer rows inserted than given), the rows that are ours are found by key: a
    notification whose marker lost is removed with its outbox rows, as ``notify`` would not have
    written them, and only our outbox rows go to the dev outbox."""
    now = utcnow()
    markers = [
        {
            "notification_id": plan.row.id,
            "user_id": plan.user.id,
            "channel": INAPP,
            "address": f"user:{plan.user.id}",
            "subject": plan.title,
            "body": "",
            "dedupe_key": plan.marker,
            "status": SENT,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "sent_at": now,
        }
        for plan in plans
    ]
    state = {"status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
    delivery_rows = [{**out.row, **state} for plan in plans for out in plan.outgoing]
    inserted = _insert_ignore_many(db, markers) + _insert_ignore_many(db, delivery_rows)
    if inserted != len(markers) + len(delivery_rows):
        owner = {row["dedupe_key"]: row["notification_id"] for row in markers + delivery_rows}
        ours: set[str] = set()
        for chunk in _chunks(list(owner)):
            found = db.execute(
                select(Delivery.dedupe_key, Delivery.notification_id).where(Delivery.dedupe_key.in_(chunk))
            )
            ours.update(key for key, notification_id in found if owner[key] == notification_id)
        lost = [plan for plan in plans if plan.marker not in ours]
        for plan in lost:  # a concurrent transaction notified this recipient of this event first
            plan.won = False
            db.delete(plan.row)
        for chunk in _chunks([plan.row.id for plan in lost]):
            db.execute(delete(Delivery).where(Delivery.notification_id.in_(chunk)))
        for plan in plans:
            plan.outgoing = [out for out in plan.outgoing if plan.won and out.row["dedupe_key"] in ours]
    record_dev_messages(db, [out.dev for plan in plans for out in plan.outgoing])
    db.flush()


def _number_on_sqlite(db: Session, rows: list[Notification]) -> None:
    """Number new notifications on SQLite, where SQLAlchemy inserts rows whose generated ids it
    must read back one by one. Writers there are serialised from ``BEGIN IMMEDIATE`` on, so ids
    after the current maximum, read inside the transaction, cannot collide. MariaDB returns a
    batch's ids itself."""
    if len(rows) < 2 or db.get_bind().dialect.name != "sqlite":
        return
    last = db.execute(select(func.max(Notification.id))).scalar() or 0
    for offset, row in enumerate(rows, start=1):
        row.id = last + offset


def _insert_ignore_many(db: Session, rows: list[dict[str, Any]]) -> int:
    """``insert_ignore`` for complete rows (the same keys each) as one ``executemany`` (which the
    driver sends as multi-row inserts); returns how many were inserted."""
    if not rows:
        return 0
    table = cast(Table, Delivery.__table__)
    dialect = db.get_bind().dialect.name
    if dialect == "mysql":
        return _rows_affected_many(db, mysql_insert(table).prefix_with("IGNORE"), rows)
    if dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
        return _rows_affected_many(db, stmt, rows)
    return sum(insert_ignore(db, dict(row)) for row in rows)  # pragma: no cover - not supported


def _rows_affected_many(db: Session, statement: Any, rows: list[dict[str, Any]]) -> int:
    result = db.execute(statement, rows)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


# ---------------------------------------------------------------------------------------------
# Operations alerts (security events, batch failures)


def _split_list(raw: Any) -> list[str]:
    if not raw:
        return []
    items = raw if isinstance(raw, (list, tuple)) else str(raw).replace(";", ",").split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _window_bucket(db: Session) -> str:
    window = int(getattr(settings_of(db), "security_alert_window_s", 300) or 0)
    return str(int(time.time() // window)) if window > 0 else uuid.uuid4().hex[:16]


def _describe(details: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in details.items() if k != "kind"]
    return ", ".join(parts)


def platform_admin_ids(db: Session) -> list[int]:
    stmt = select(User.id).where(User.role == Role.PLATFORM_ADMIN, User.status == UserStatus.ACTIVE)
    return list(db.execute(stmt).scalars())


def alert_security_officers(db: Session, kind: str, details: dict[str, Any]) -> None:
    """Tell the security officers: platform admins in-app (and on their chosen channels), SMS to
    ``security_alert_phones``, e-mail to ``security_alert_emails`` and the Slack webhook.

    Runs inside the event's transaction (only writes rows). The in-app notification is one per
    event; the outside channels are sent at most once per kind and ``security_alert_window_s``
    (default 300 s; 0 = every event), so a burst of events cannot flood phones.
    """
    if "runtime" not in db.info:  # a bare session (no settings, no cipher): nothing can be queued
        log.error("security event %s not alerted: the session carries no runtime", kind)
        return
    settings = settings_of(db)
    title = f"보안 이벤트: {kind}"
    text = _describe(details) or kind
    message = f"보안 이벤트 '{kind}'가 발생했습니다. {text}".strip()
    link = "/admin/logs"
    event = f"SECURITY_{kind.upper()}"[:48]
    admins = platform_admin_ids(db)
    notify(
        db,
        event=event,
        category="SECURITY",
        user_ids=admins,
        title=title,
        message=message,
        link=link,
        channels=(),
        dedupe=f"security:{kind}:{uuid.uuid4().hex[:16]}",
    )
    outside = f"security:{kind}:w{_window_bucket(db)}"
    covered: set[str] = set()
    for admin in db.execute(select(User).where(User.id.in_(admins))).scalars() if admins else []:
        phone = _phone_of(db, admin)
        queue_user_channels(
            db,
            user=admin,
            category="SECURITY",
            channels=POLICY_CHANNELS["SECURITY"],
            title=title,
            message=message,
            link=link,
            dedupe=outside,
            notification_id=None,
            event=event,
            phone=phone,
        )
        if phone and effective_preferences(admin)["SECURITY"]["SMS"]:
            covered.add(phone)
    data = {"event": event, "category": "SECURITY"}
    for raw in _split_list(settings.security_alert_phones):
        phone = normalise_phone(raw)
        if phone is None or phone in covered:
            continue
        covered.add(phone)
        queue_delivery(
            db,
            outgoing(
                db,
                channel="SMS",
                address=phone,
                key=dedupe_key(outside, "officer", "SMS", cipher_of(db).lookup_hash(phone)[:16]),
                title=title,
                message=message,
                data=data,
                dev_phone=phone,
            ),
        )
    _queue_emails_and_slack(
        db,
        dict.fromkeys(_split_list(settings.security_alert_emails)),
        base=outside,
        who="officer",
        title=title,
        message=message,
        link=link,
        data=data,
    )


def _queue_emails_and_slack(
    db: Session,
    emails: Iterable[str],
    *,
    base: str,
    who: str,
    title: str,
    message: str,
    data: dict[str, Any],
    link: str | None = None,
) -> int:
    """An alert to each e-mail address and, when configured, to Slack. Returns the rows queued."""
    queued = 0
    for email in emails:
        email_hash = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
        queued += queue_delivery(
            db,
            outgoing(
                db,
                channel="EMAIL",
                address=email,
                key=dedupe_key(base, who, "EMAIL", email_hash),
                title=title,
                message=message,
                link=link,
                data=data,
            ),
        )
    if settings_of(db).slack_webhook_url:
        queued += queue_delivery(
            db,
            outgoing(
                db,
                channel="SLACK",
                address=SLACK_ADDRESS,
                key=dedupe_key(base, who, "SLACK"),
                title=title,
                message=message,
                data=data,
            ),
        )
    return queued


def job_owner_emails(settings: Any, job: str) -> list[str]:
    """``BEACHSAVER_JOB_OWNER_EMAILS`` = ``job=a@x|b@x,other=c@x`` (or a JSON object); else
    ``BEACHSAVER_OPS_EMAIL``."""
    raw = getattr(settings, "job_owner_emails", None)
    owners: dict[str, list[str]] = {}
    if isinstance(raw, dict):
        owners = {str(k): _split_list(str(v).replace("|", ",")) for k, v in raw.items()}
    elif raw:
        text = str(raw).strip()
        if text.startswith("{"):
            import json

            try:
                parsed = json.loads(text)
                owners = {str(k): _split_list(v if isinstance(v, list) else str(v)) for k, v in parsed.items()}
            except ValueError:
                owners = {}
        else:
            for part in text.split(","):
                name, sep, emails = part.partition("=")
                if sep:
                    owners[name.strip()] = _split_list(emails.replace("|", ","))
    found = owners.get(job) or owners.get("*") or _split_list(getattr(settings, "ops_email", None))
    return list(dict.fromkeys(found))


def alert_batch_failure(db: Session, job: str, error: str, *, run_id: int | str | None = None) -> int:
    """Queue the batch-failure alert (e-mail to the job owner, Slack) in the caller's transaction.

    Alerts about the database itself and about backups must not use the outbox: see
    ``beachsaver.notifications.delivery.send_direct_alert``. Returns the rows queued.
    """
    settings = settings_of(db)
    title = f"배치 작업 실패: {job}"
    message = f"배치 작업 '{job}'이(가) 실패했습니다: {error}"[:2000]
    base = f"job-failure:{job}:{run_id if run_id is not None else uuid.uuid4().hex[:16]}"
    data = {"event": "JOB_FAILED", "category": "STATISTICS", "job": job}
    return _queue_emails_and_slack(
        db, job_owner_emails(settings, job), base=base, who="owner", title=title, message=message, data=data
    )


if alert_security_officers not in security.HANDLERS:
    security.HANDLERS.append(alert_security_officers)


# ---------------------------------------------------------------------------------------------
# The API's operations


def list_query(principal: Principal, status: str | None = None, category: str | None = None) -> Select[Any]:
    stmt = select(Notification).where(Notification.user_id == principal.id)
    if status:
        stmt = stmt.where(Notification.status == status)
    if category:
        stmt = stmt.where(Notification.category == category)
    return stmt


def unread_count(db: Session, principal: Principal) -> int:
    stmt = select(func.count()).where(Notification.user_id == principal.id, Notification.status == "UNREAD")
    return int(db.execute(stmt).scalar_one())


def mark_read(db: Session, principal: Principal, *, ids: list[int] | None, all_: bool) -> int:
    """Mark my notifications read; an id that is not mine answers 404. Returns rows changed."""
    mine = Notification.user_id == principal.id
    stmt = update(Notification).where(mine, Notification.status == "UNREAD")
    if not all_:
        wanted = sorted(set(ids or []))
        found = set(db.execute(select(Notification.id).where(mine, Notification.id.in_(wanted))).scalars())
        if found != set(wanted):
            raise errors.NotFound()
        stmt = stmt.where(Notification.id.in_(wanted))
    updated = rows_affected(
        db, stmt.values(status="READ", read_at=utcnow()).execution_options(synchronize_session=False)
    )
    if updated:
        audit.record(
            db,
            "NOTIFICATION_READ",
            actor_id=principal.id,
            target_type="USER",
            target_id=principal.id,
            org_id=principal.user.org_id,
            after={"all": all_, "ids": None if all_ else sorted(set(ids or [])), "updated": updated},
        )
    return updated


def token_hash_of(fcm_token: str) -> str:
    return hashlib.sha256(fcm_token.encode("utf-8")).hexdigest()


def register_device(db: Session, user: User, *, fcm_token: str, platform: str) -> tuple[UserDevice, bool]:
    """Register a push token for ``user``; a token known for another account moves to this one.

    Returns the device and whether it is new for this user.
    """
    digest = token_hash_of(fcm_token)
    now = utcnow()
    device = db.execute(select(UserDevice).where(UserDevice.token_hash == digest)).scalar_one_or_none()
    created = False
    if device is None:
        device = UserDevice(
            user_id=user.id, fcm_token=fcm_token, token_hash=digest, platform=platform, created_at=now, last_seen_at=now
        )
        try:
            with db.begin_nested():
                db.add(device)
                db.flush()
            created = True
        except IntegrityError:  # registered concurrently: use that row
            device = db.execute(select(UserDevice).where(UserDevice.token_hash == digest)).scalar_one()
    if not created:
        created = device.user_id != user.id
        device.user_id = user.id
        device.platform = platform
        device.last_seen_at = now
        db.flush()
    if created:
        audit.record(
            db,
            "USER_DEVICE_REGISTER",
            actor_id=user.id,
            target_type="USER",
            target_id=user.id,
            org_id=user.org_id,
            after={"device_id": device.id, "platform": platform},
        )
        stale = list(
            db.execute(
                select(UserDevice)
                .where(UserDevice.user_id == user.id)
                .order_by(UserDevice.last_seen_at.desc(), UserDevice.id.desc())
                .offset(MAX_DEVICES)
            ).scalars()
        )
        for old in stale:
            db.delete(old)
        db.flush()
    return device, created


def broadcast(
    db: Session,
    principal: Principal,
    *,
    title: str,
    message: str,
    roles: list[Role] | None,
    org_ids: list[int] | None,
    channels: list[str] | None,
) -> dict[str, int]:
    """An emergency notice (category NOTICE) to the active users of the caller's scope."""
    scope = set(principal.scope_org_ids(db))
    if org_ids:
        targets: set[int] = set()
        for org_id in dict.fromkeys(org_ids):
            org = db.get(Organization, org_id) if org_id in scope else None
            if org is None:
                raise errors.NotFound()
            targets.update(org_service.subtree_ids(db, org))
        targets &= scope
    else:
        targets = scope
    stmt = select(User.id).where(User.org_id.in_(sorted(targets)), User.status == UserStatus.ACTIVE)
    if roles:
        stmt = stmt.where(User.role.in_([str(r) for r in dict.fromkeys(roles)]))
    recipients = list(db.execute(stmt).scalars())
    picked = list(dict.fromkeys(channels)) if channels else list(BROADCAST_CHANNELS)
    created = notify(
        db,
        event="NOTICE_BROADCAST",
        category="NOTICE",
        user_ids=recipients,
        title=title,
        message=message,
        channels=picked,
        dedupe=f"broadcast:{uuid.uuid4().hex}",
    )
    audit.record(
        db,
        "NOTIFICATION_BROADCAST",
        actor_id=principal.id,
        target_type="ORGANIZATION",
        target_id=principal.org.id,
        org_id=principal.org.id,
        after={
            "title": title,
            "roles": [str(r) for r in roles] if roles else None,
            "org_ids": list(org_ids) if org_ids else None,
            "channels": picked,
            "recipients": len(created),
        },
    )
    return {"recipients": len(created)}
