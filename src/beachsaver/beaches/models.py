from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from beachsaver.core.db import Base, BigId, UTCDateTime
from beachsaver.core.time import utcnow


class Beach(Base):
    __tablename__ = "beaches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    beach_name: Mapped[str] = mapped_column(String(100))
    si: Mapped[str] = mapped_column(String(50))
    gu_gun: Mapped[str] = mapped_column(String(50))
    dong_eub: Mapped[str] = mapped_column(String(50))
    workplace: Mapped[str] = mapped_column(String(100))
    latitude: Mapped[Decimal] = mapped_column(Numeric(10, 7))
    longitude: Mapped[Decimal] = mapped_column(Numeric(10, 7))
    coastline_m: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("org_id", "beach_name", name="uq_beaches_org_id_beach_name"),)
