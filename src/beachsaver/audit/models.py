from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow


class AuditEntry(Base):
    """Append-only, hash-chained: ``hash = sha256(prev_hash + canonical(entry))``.

    An entry is inserted unsealed (``seq``, ``prev_hash`` and ``hash`` NULL) in the transaction
    of the change it records; the sealer (``service.seal``: the worker every few seconds, the
    ``audit-seal`` job) chains the committed unsealed entries in id order, numbering them
    ``seq`` 1, 2, 3… with no gap. See docs/decisions.md D40."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    target_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    org_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_audit_entries_org_id_id", "org_id", "id"),
        Index("ix_audit_entries_actor_id", "actor_id"),
        Index("ix_audit_entries_action", "action"),
        Index("ix_audit_entries_at", "at"),
    )


class AuditHead(Base):
    """The end of the chain, one row, locked by the sealer while it seals: ``last_id`` is the
    ``seq`` of the last sealed entry (its id, for entries sealed before migration 0008, when
    every writer sealed its own entries), ``last_hash`` its hash."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigId, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
