from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow


class OtpCode(Base):
    """A one-time code sent to a phone; only its keyed hash is stored."""

    __tablename__ = "otp_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    challenge_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    sent: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_otp_codes_phone_hash_purpose_created_at", "phone_hash", "purpose", "created_at"),)


class AuthFailure(Base):
    """One failed code or password attempt against a subject (``phone:<hash>`` / ``user:<id>``)."""

    __tablename__ = "auth_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_auth_failures_subject_at", "subject", "at"),)


class AuthLock(Base):
    __tablename__ = "auth_locks"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime)


class AuthSession(Base):
    """A signed-in session; access tokens carry its id and die with it."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (Index("ix_auth_sessions_user_id_revoked_at", "user_id", "revoked_at"),)


class RefreshToken(Base):
    """One link of a session's refresh-token chain; a used link presented again revokes all."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("auth_sessions.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)


class SelectionToken(Base):
    """Lets a verified phone pick one of its accounts (single use, 5 minutes)."""

    __tablename__ = "selection_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    user_ids: Mapped[list[Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
