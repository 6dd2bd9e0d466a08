from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from beachsaver.core.fields import Amount, Latitude, Longitude, Note, PastInstant, PositiveId
from beachsaver.reports.schemas import DepotIn, DepotOut


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepotAdd(DepotIn):
    report_id: PositiveId


class CompleteIn(Strict):
    collected_amount: Amount
    photo: PositiveId
    collection_completed_at: PastInstant | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    note: Note | None = None


class IssueIn(Strict):
    note: Note
    photo: PositiveId | None = None


class RouteMeta(BaseModel):
    total_m: float


__all__ = ["CompleteIn", "DepotAdd", "DepotOut", "IssueIn", "RouteMeta"]
