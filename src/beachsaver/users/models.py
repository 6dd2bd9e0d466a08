from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, lazyload, mapped_column, relationship

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow


class User(Base):
    """One account: a phone holds at most one live account per role.

    ``live`` is True while the account is not REJECTED/WITHDRAWN and NULL afterwards, so the
    unique index over (phone_hash, role, live) only binds live accounts on MySQL and SQLite.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system_id: Mapped[str] = mapped_column(String(120), unique=True)
    nickname: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(24))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(24))
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cleaner_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary(256))
    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_last4: Mapped[str] = mapped_column(String(4))
    real_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary(512), nullable=True)
    live: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=True)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    admin_profile: Mapped[AdminProfile | None] = relationship(
        back_populates="user", uselist=False, lazy="selectin", cascade="all, delete-orphan"
    )
    worker_profile: Mapped[WorkerProfile | None] = relationship(
        back_populates="user", uselist=False, lazy="selectin", cascade="all, delete-orphan"
    )
    vehicle: Mapped[VehicleProfile | None] = relationship(
        back_populates="user",
        uselist=False,
        lazy="selectin",
        cascade="all, delete-orphan",
        foreign_keys="VehicleProfile.user_id",
    )

    __table_args__ = (
        UniqueConstraint("phone_hash", "role", "live", name="uq_users_phone_role_live"),
        Index("ix_users_org_id_role", "org_id", "role"),
        Index("ix_users_phone_hash", "phone_hash"),
        Index("ix_users_created_at", "created_at"),
    )


class AdminProfile(Base):
    __tablename__ = "admin_profiles"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="admin_profile")


class WorkerProfile(Base):
    __tablename__ = "worker_profiles"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)

    user: Mapped[User] = relationship(back_populates="worker_profile")


class VehicleProfile(Base):
    __tablename__ = "vehicle_profiles"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    capacity_t: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    plate_no: Mapped[str] = mapped_column(String(20))
    operator_type: Mapped[str] = mapped_column(String(16))
    company_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    business_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_by: Mapped[int | None] = mapped_column(BigId, nullable=True)

    user: Mapped[User] = relationship(back_populates="vehicle", foreign_keys=[user_id])


class SystemIdSerial(Base):
    """A global sequence for system ids: one row inserted per account."""

    __tablename__ = "system_id_serials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhoneChangeRequest(Base):
    __tablename__ = "phone_change_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    old_phone_hash: Mapped[str] = mapped_column(String(64))
    new_phone_enc: Mapped[bytes] = mapped_column(LargeBinary(256))
    new_phone_hash: Mapped[str] = mapped_column(String(64))
    new_phone_last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    decided_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_phone_change_requests_org_id_status", "org_id", "status"),)


#: Loader options for accounts read for their own columns only: the three profiles, otherwise
#: selectin-loaded (three more statements), load only if touched.
WITHOUT_PROFILES = (lazyload(User.admin_profile), lazyload(User.worker_profile), lazyload(User.vehicle))
