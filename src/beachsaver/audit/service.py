"""The audit log: append-only, hash-chained, masked.

``record`` queues an entry on the session; just before the (root) transaction commits, the
queued entries are inserted, unsealed. ``seal`` (the worker every few seconds, the
``audit-seal`` job, the evidence package) chains the committed unsealed entries in id order
under a lock on the single ``audit_head`` row, numbering them ``seq`` without gaps, so writers
never wait on one another for the chain (docs/decisions.md D40). ``verify_chain`` walks the
sealed entries and reports how many are not sealed yet.

Savepoints: entries recorded inside a savepoint that rolls back are dropped with it; entries
recorded before it stay queued for the enclosing transaction. A savepoint's release does not
write anything: only the root transaction's commit does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from beachsaver.audit.models import AuditEntry, AuditHead
from beachsaver.core.context import client_ip
from beachsaver.core.db import session_scope
from beachsaver.core.time import iso_z, to_utc, utcnow
from beachsaver.core.trace import current_trace_id

GENESIS = "0" * 64
HEAD_ID = 1
PII_KEYS = {
    "phone",
    "new_phone",
    "old_phone",
    "phones",
    "real_name",
    "password",
    "new_password",
    "current_password",
    "password_hash",
    "code",
    "code_old",
    "code_new",
    "email",
    "birth",
    "token",
    "access_token",
    "refresh_token",
    "selection_token",
    "challenge_id",
    "fcm_token",
    "secret",
}
_PHONE_KEYS = {"phone", "new_phone", "old_phone"}
_SECRET_SUFFIXES = ("_password", "_token", "_secret", "_phone", "_email")


def _is_pii(key: str) -> bool:
    lowered = key.lower()
    return lowered in PII_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def mask_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    lowered = key.lower()
    if lowered in _PHONE_KEYS or lowered.endswith("_phone"):
        digits = "".join(ch for ch in str(value) if ch.isdigit())
        return f"010-****-{digits[-4:]}" if len(digits) >= 4 else "***"
    if lowered == "email" or lowered.endswith("_email"):
        name, _, domain = str(value).partition("@")
        return f"{name[:1]}***@{domain}" if domain else "***"
    return "***"


def _json_safe(value: Any) -> Any:
    """A JSON value that survives a database round trip unchanged (so hashes stay stable)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, Enum):
        return _json_safe(value.value)
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return masked(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    return str(value)


def masked(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe copy with PII replaced by masks (nested dicts and lists included)."""
    if data is None:
        return None
    out: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key.value if isinstance(raw_key, Enum) else raw_key)
        if _is_pii(key):
            if isinstance(value, (list, tuple)):
                out[key] = [mask_value(key, v) for v in value]
            else:
                out[key] = mask_value(key, value)
        else:
            out[key] = _json_safe(value)
    return out


@dataclass
class PendingEntry:
    action: str
    actor_id: int | None
    target_type: str | None
    target_id: int | None
    org_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    trace_id: str | None
    ip: str | None
    at: datetime
    #: The innermost savepoint open when the entry was recorded (None: the root transaction).
    savepoint: SessionTransaction | None = None


def record(
    db: Session,
    action: str,
    *,
    actor_id: int | None,
    target_type: str | None = None,
    target_id: int | None = None,
    org_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Queue an entry; it is chained and written when the transaction commits.

    ``org_id`` is the target's organisation; when None, the actor's organisation is used,
    else the root organisation.
    """
    if not db.in_transaction():
        db.begin()  # so that a rollback before any query still drops the entry
    db.info.setdefault("audit_pending", []).append(
        PendingEntry(
            action=action,
            actor_id=actor_id,
            target_type=target_type,
            target_id=target_id,
            org_id=org_id,
            before=masked(before),
            after=masked(after),
            trace_id=current_trace_id.get() or None,
            ip=client_ip.get(),
            at=utcnow(),
            savepoint=db.get_nested_transaction(),
        )
    )


def canonical(entry: AuditEntry) -> str:
    payload = {
        "id": entry.id,
        "at": to_utc(entry.at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "org_id": entry.org_id,
        "before": entry.before,
        "after": entry.after,
        "trace_id": entry.trace_id,
        "ip": entry.ip,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def _create_head_mysql(bind: Engine | Connection) -> None:
    """Create the head row in its own short transaction, ignoring a concurrent creator.

    Doing this inside the writer's transaction would let two first writers deadlock on
    InnoDB's duplicate-key locks; a separate INSERT IGNORE cannot.
    """
    from sqlalchemy.dialects.mysql import insert as mysql_insert

    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.begin() as conn:
        last = conn.execute(select(func.max(AuditEntry.seq))).scalar() or 0
        conn.execute(mysql_insert(AuditHead).prefix_with("IGNORE").values(id=HEAD_ID, last_id=last, last_hash=GENESIS))


def _head_for_update(db: Session) -> AuditHead:
    stmt = select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update().execution_options(populate_existing=True)
    head = db.execute(stmt).scalar_one_or_none()
    if head is not None:
        return head
    bind = db.get_bind()
    if bind.dialect.name == "mysql":
        _create_head_mysql(bind)
        return db.execute(stmt).scalar_one()
    # SQLite: writers are serialised by BEGIN IMMEDIATE, so nobody can race us here.
    last = db.execute(select(func.max(AuditEntry.seq))).scalar() or 0
    head = AuditHead(id=HEAD_ID, last_id=last, last_hash=GENESIS)
    db.add(head)
    db.flush()
    return head


def _resolve_org_ids(db: Session, pending: list[PendingEntry]) -> None:
    """An entry belongs to its target's organisation, else its actor's, else the root's."""
    from beachsaver.orgs.models import Organization
    from beachsaver.users.models import User

    actor_ids = {p.actor_id for p in pending if p.org_id is None and p.actor_id is not None}
    actor_orgs: dict[int, int] = {}
    if actor_ids:
        actor_orgs = {
            row[0]: row[1] for row in db.execute(select(User.id, User.org_id).where(User.id.in_(actor_ids))).all()
        }
    root_id: int | None = None
    root_looked_up = False
    for item in pending:
        if item.org_id is not None:
            continue
        if item.actor_id is not None and item.actor_id in actor_orgs:
            item.org_id = actor_orgs[item.actor_id]
            continue
        if not root_looked_up:
            root_id = db.execute(
                select(Organization.id).where(Organization.parent_id.is_(None)).order_by(Organization.id).limit(1)
            ).scalar()
            root_looked_up = True
        item.org_id = root_id


@event.listens_for(Session, "before_commit")
def _append_pending(db: Session) -> None:
    if db.get_nested_transaction() is not None:
        return  # a savepoint is being released: entries wait for the root commit
    pending: list[PendingEntry] = db.info.pop("audit_pending", [])
    if not pending:
        return
    _resolve_org_ids(db, pending)
    # One executemany, no ids read back: the entries' ids are the table's own.
    db.execute(
        insert(AuditEntry),
        [
            {
                "at": item.at.replace(microsecond=(item.at.microsecond // 1000) * 1000),
                "actor_id": item.actor_id,
                "action": item.action,
                "target_type": item.target_type,
                "target_id": item.target_id,
                "org_id": item.org_id,
                "before": item.before,
                "after": item.after,
                "trace_id": item.trace_id,
                "ip": item.ip,
            }
            for item in pending
        ],
    )


#: Entries sealed per transaction of ``seal``.
SEAL_BATCH = 2000


def seal(db: Session, limit: int = SEAL_BATCH) -> int:
    """Chain up to ``limit`` committed unsealed entries, in id order, in the caller's
    transaction (the head stays locked until it commits); returns how many."""
    head = _head_for_update(db)
    entries = (
        db.execute(select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id).limit(limit))
        .scalars()
        .all()
    )
    for entry in entries:
        entry.seq = head.last_id + 1
        entry.prev_hash = head.last_hash
        entry.hash = chain_hash(head.last_hash, entry)
        head.last_id = entry.seq
        head.last_hash = entry.hash
    db.flush()
    return len(entries)


def seal_all(factory: sessionmaker[Session]) -> int:
    """Seal everything committed so far, one transaction per batch; returns how many."""
    total = 0
    while True:
        with session_scope(factory) as db:
            done = seal(db)
        total += done
        if done < SEAL_BATCH:
            return total


def _inside(savepoint: SessionTransaction | None, ended: SessionTransaction) -> bool:
    current = savepoint
    while current is not None:
        if current is ended:
            return True
        current = current.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(db: Session, previous: SessionTransaction) -> None:
    pending: list[PendingEntry] | None = db.info.get("audit_pending")
    if not pending:
        return
    if previous.nested:
        db.info["audit_pending"] = [p for p in pending if not _inside(p.savepoint, previous)]
    elif previous.parent is None:
        db.info.pop("audit_pending", None)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(db: Session, transaction: SessionTransaction) -> None:
    # A root transaction that ended without committing (closed) takes its entries with it.
    if transaction.parent is None and not transaction.nested:
        db.info.pop("audit_pending", None)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]
    #: Entries committed but not sealed yet (not a problem: the sealer chains them shortly).
    unsealed: int = 0


def verify_chain(db: Session, batch: int = 5000) -> VerifyResult:
    """Walk the sealed entries in chain order; report edited entries, gaps and a head that does
    not match, and count the entries not sealed yet."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected: int | None = None
    checked = 0
    last = 0
    while True:
        rows = (
            db.execute(select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch))
            .scalars()
            .all()
        )
        if not rows:
            break
        for entry in rows:
            seq = int(entry.seq or 0)
            if expected is not None and seq != expected:
                problems.append(f"entries {expected}..{seq - 1} are missing")
            if expected is None and entry.action == "AUDIT_CHECKPOINT":
                prev_hash = entry.prev_hash or GENESIS  # verification starts at the pruning checkpoint
            if entry.prev_hash != prev_hash:
                problems.append(f"entry {entry.id}: link to the previous entry is broken")
            if entry.prev_hash is None or chain_hash(entry.prev_hash, entry) != entry.hash:
                problems.append(f"entry {entry.id}: content does not match its hash (edited)")
            prev_hash = entry.hash or ""
            expected = seq + 1
            last = seq
            checked += 1
        db.expunge_all()
    unsealed = int(db.execute(select(func.count()).where(AuditEntry.seq.is_(None))).scalar_one())
    head = db.get(AuditHead, HEAD_ID)
    if head is None:
        if checked:
            problems.append("the chain head is missing")
    elif head.last_id != last:
        problems.append(f"the chain head expects entry {head.last_id} but the last entry is {last} (removed)")
    elif checked and head.last_hash != prev_hash:
        problems.append("the chain head does not match the last entry")
    return VerifyResult(ok=not problems, checked=checked, problems=problems, unsealed=unsealed)
