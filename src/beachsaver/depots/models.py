from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow


class CollectionDepot(Base):
    """A place where bagged litter waits for a collector; ``status`` is NULL while the request is a draft."""

    __tablename__ = "collection_depots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7), nullable=True)
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    estimated_kg: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    collector_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    collected_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    collection_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7), nullable=True)
    completed_longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 7), nullable=True)
    completion_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    completion_image_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("images.id"), nullable=True)
    issue_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    issue_image_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("images.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_collection_depots_org_id_status", "org_id", "status"),
        Index("ix_collection_depots_report_id", "report_id"),
        Index("ix_collection_depots_collector_id_status", "collector_id", "status"),
        Index("ix_collection_depots_collection_completed_at", "collection_completed_at"),
    )


class DepotImage(Base):
    __tablename__ = "depot_images"

    depot_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("collection_depots.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int] = mapped_column(BigId, ForeignKey("images.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
