from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow


class Job(Base):
    """Work an admin creates and assigns: OPEN → ASSIGNED → IN_PROGRESS → DONE | CANCELLED."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(24))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    beach_id: Mapped[int] = mapped_column(BigId, ForeignKey("beaches.id"))
    area_names: Mapped[list[Any]] = mapped_column(JSON, default=list)
    date: Mapped[date] = mapped_column(Date)
    headcount: Mapped[int] = mapped_column(Integer)
    volunteer_slots: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="OPEN")
    investigation_report_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id"), nullable=True)
    created_by: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_jobs_org_id_date", "org_id", "date"), Index("ix_jobs_status", "status"))


class JobAssignee(Base):
    __tablename__ = "job_assignees"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(BigId, ForeignKey("jobs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("job_id", "user_id", name="uq_job_assignees_job_id_user_id"),
        Index("ix_job_assignees_user_id_status", "user_id", "status"),
    )
