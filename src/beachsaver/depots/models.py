from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.enums import ReportStatus
from beachsaver.core.time import utcnow

#: A collection request whose depots are on the field (07 §8): submitted or approved, not deleted.
LIVE_REQUEST = (ReportStatus.SUBMITTED, ReportStatus.APPROVED)


def request_is_live(status: str | None, deleted_at: datetime | None) -> bool:
    return status in LIVE_REQUEST and deleted_at is None


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
    #: Whether the depot's request is live (``request_is_live``), kept with the depot so that
    #: depot lists and counts need not look up every depot's request (D46). Written by the
    #: request's transitions (``reports.service``: submission, review) and, for a new depot,
    #: from its request (``_fill_request_live``).
    request_live: Mapped[bool] = mapped_column(Boolean, nullable=False)
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
        # a district's live depots of one status nearest a point, and their count, read from
        # the index alone (GET /api/collection-depots?near=, D46)
        Index(
            "ix_collection_depots_org_id_status_near",
            "org_id",
            "status",
            "request_live",
            "latitude",
            "longitude",
            "collector_id",
        ),
        Index("ix_collection_depots_report_id", "report_id"),
        Index("ix_collection_depots_collector_id_status", "collector_id", "status"),
        Index("ix_collection_depots_collection_completed_at", "collection_completed_at"),
    )


@event.listens_for(CollectionDepot, "before_insert")
def _fill_request_live(mapper: Mapper[Any], connection: Connection, target: CollectionDepot) -> None:
    """A new depot not told its request's liveness reads it from the request."""
    if target.request_live is None:
        reports = CollectionDepot.__table__.metadata.tables["reports"]
        request = connection.execute(
            select(reports.c.status, reports.c.deleted_at).where(reports.c.id == target.report_id)
        ).first()
        target.request_live = request is not None and request_is_live(request.status, request.deleted_at)


class DepotImage(Base):
    __tablename__ = "depot_images"

    depot_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("collection_depots.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int] = mapped_column(BigId, ForeignKey("images.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
