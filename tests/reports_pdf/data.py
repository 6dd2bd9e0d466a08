"""Reports, areas and depots written straight into the tables the summary reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from beachsaver.core.time import SEOUL
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports.models import Report, ReportArea


def kst(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SEOUL)


def report(
    db: Session,
    *,
    type: str,
    user_id: int,
    org_id: int,
    at: datetime,
    beach_id: int | None = None,
    status: str = "SUBMITTED",
    kg: list[str] | None = None,
    litres: list[str] | None = None,
    deleted: bool = False,
) -> Report:
    row = Report(
        client_id=str(uuid.uuid4()),
        type=type,
        status=status,
        user_id=user_id,
        org_id=org_id,
        beach_id=beach_id,
        investigation_at=at if type == "INVESTIGATION" else None,
        cleaning_at=at if type == "CLEANING" else None,
        event_at=at,
        submitted_at=at if status != "DRAFT" else None,
        deleted_at=at if deleted else None,
    )
    db.add(row)
    db.flush()
    for position, value in enumerate(kg or []):
        db.add(ReportArea(report_id=row.id, position=position, trash_amount_kg=Decimal(value)))
    for position, value in enumerate(litres or []):
        db.add(ReportArea(report_id=row.id, position=position, trash_amount_est_l=Decimal(value)))
    db.flush()
    return row


def depot(db: Session, *, request: Report, status: str, created: datetime, **extra: Any) -> CollectionDepot:
    row = CollectionDepot(report_id=request.id, org_id=request.org_id, status=status, created_at=created, **extra)
    db.add(row)
    db.flush()
    return row
