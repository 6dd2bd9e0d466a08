from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow

Coord = Numeric(10, 7)
Amount = Numeric(12, 2)


class Report(Base):
    """One report resource for the three types; type-specific parts hang off it."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id"), nullable=True)
    beach_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("beaches.id"), nullable=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    job_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    investigation_report_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reports.id"), nullable=True)
    cleaning_report_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reports.id"), nullable=True)
    investigation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cleaning_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    weather: Mapped[str | None] = mapped_column(String(16), nullable=True)
    disaster_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gps_lat: Mapped[Decimal | None] = mapped_column(Coord, nullable=True)
    gps_lng: Mapped[Decimal | None] = mapped_column(Coord, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    coastline_m: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    claimed_by_team_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    payload_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    areas: Mapped[list[ReportArea]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ReportArea.position"
    )

    __table_args__ = (
        UniqueConstraint("user_id", "client_id", name="uq_reports_user_id_client_id"),
        Index("ix_reports_org_id_type_status_event_at", "org_id", "type", "status", "event_at"),
        Index("ix_reports_beach_id_type_status_event_at", "beach_id", "type", "status", "event_at"),
        Index("ix_reports_created_at_id", "created_at", "id"),
        Index("ix_reports_team_id", "team_id"),
        Index("ix_reports_user_id", "user_id"),
        Index("ix_reports_investigation_report_id", "investigation_report_id"),
        Index("ix_reports_cleaning_report_id", "cleaning_report_id"),
        Index("ix_reports_job_id", "job_id"),
    )


class ReportArea(Base):
    __tablename__ = "report_areas"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    area_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    start_latitude: Mapped[Decimal | None] = mapped_column(Coord, nullable=True)
    start_longitude: Mapped[Decimal | None] = mapped_column(Coord, nullable=True)
    end_latitude: Mapped[Decimal | None] = mapped_column(Coord, nullable=True)
    end_longitude: Mapped[Decimal | None] = mapped_column(Coord, nullable=True)
    trash_amount_est_l: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    trash_amount_kg: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    bag_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    main_trash_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    investigation_area_id: Mapped[int | None] = mapped_column(BigId, nullable=True)

    __table_args__ = (Index("ix_report_areas_report_id", "report_id"),)


class ReportImage(Base):
    """An image attached to a report (area_id set when it belongs to one area)."""

    __tablename__ = "report_images"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"))
    image_id: Mapped[int] = mapped_column(BigId, ForeignKey("images.id"))
    area_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("report_areas.id", ondelete="CASCADE"), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_report_images_report_id", "report_id"), Index("ix_report_images_image_id", "image_id"))


class ReportCoWorker(Base):
    __tablename__ = "report_co_workers"

    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True)

    __table_args__ = (Index("ix_report_co_workers_user_id", "user_id"),)


class Contribution(Base):
    """A team member's part of a cleaning report (photos, bags, kg, hours)."""

    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    bags: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kg: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    hours: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_contributions_report_id", "report_id"), Index("ix_contributions_user_id", "user_id"))


class ContributionImage(Base):
    __tablename__ = "contribution_images"

    contribution_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contributions.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int] = mapped_column(BigId, ForeignKey("images.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Credit(Base):
    """A member's share of a submitted cleaning report (weights: leader 1.5, member 1)."""

    __tablename__ = "credits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    share: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    kg: Mapped[Decimal] = mapped_column(Amount)

    __table_args__ = (UniqueConstraint("report_id", "user_id", name="uq_credits_report_id_user_id"),)


class Objection(Base):
    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="OPEN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_objections_report_id", "report_id"),)
