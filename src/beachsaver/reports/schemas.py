from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from beachsaver.core.enums import DisasterType, LitterType, ReportStatus, ReportType, Weather
from beachsaver.core.envelope import UtcDateTime
from beachsaver.core.fields import Amount, Latitude, Longitude, Note, PastInstant, PositiveId, Reason, ShortText

ImageIds = Annotated[list[PositiveId], Field(max_length=20)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AreaIn(Strict):
    area_name: ShortText | None = None
    start_latitude: Latitude | None = None
    start_longitude: Longitude | None = None
    end_latitude: Latitude | None = None
    end_longitude: Longitude | None = None
    trash_amount_est_l: Amount | None = None
    trash_amount_kg: Amount | None = None
    bag_count: Annotated[int, Field(ge=0, le=100000)] | None = None
    main_trash_type: LitterType | None = None
    note: Note | None = None
    image_ids: Annotated[list[PositiveId], Field(max_length=5)] | None = None
    investigation_area_id: PositiveId | None = None


class DepotIn(Strict):
    name: ShortText | None = None
    address: Annotated[str, Field(max_length=200)] | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    photo: PositiveId | None = None
    image_ids: Annotated[list[PositiveId], Field(max_length=10)] | None = None
    note: Note | None = None
    description: Note | None = None
    estimated_kg: Amount | None = None


class ReportContent(Strict):
    """Fields shared by create and edit."""

    beach_id: PositiveId | None = None
    team_id: PositiveId | None = None
    job_id: PositiveId | None = None
    investigation_report_id: PositiveId | None = None
    cleaning_report_id: PositiveId | None = None
    investigation_at: PastInstant | None = None
    cleaning_at: PastInstant | None = None
    weather: Weather | None = None
    disaster_type: DisasterType | None = None
    gps_lat: Latitude | None = None
    gps_lng: Longitude | None = None
    note: Note | None = None
    co_worker_ids: Annotated[list[PositiveId], Field(max_length=50)] | None = None
    images: ImageIds | None = None
    areas: Annotated[list[AreaIn], Field(max_length=100)] | None = None
    collection_depots: Annotated[list[DepotIn], Field(max_length=100)] | None = None


class ReportCreate(ReportContent):
    client_id: uuid.UUID | None = None
    type: ReportType
    is_draft: bool = False
    confirm_duplicate: bool = False

    @field_validator("client_id")
    @classmethod
    def _lower(cls, value: uuid.UUID | None) -> uuid.UUID | None:
        return value


class SyncItem(ReportCreate):
    client_id: uuid.UUID  # required in a sync batch


class SyncBody(Strict):
    reports: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=500)]


class ReportPatch(ReportContent):
    status: ReportStatus | None = None
    reason: Reason | None = None
    confirm_duplicate: bool = False


class ContributionIn(Strict):
    note: Note | None = None
    image_ids: ImageIds = Field(default_factory=list)
    bags: Annotated[int, Field(ge=0, le=100000)] | None = None
    kg: Amount | None = None
    hours: Annotated[Amount, Field(le=24)] | None = None


class ClaimIn(Strict):
    team_id: PositiveId | None = None


class ObjectionIn(Strict):
    reason: Reason


class CreditsIn(Strict):
    weights: dict[str, Annotated[float, Field(ge=0, le=10)]]


class ImageOut(BaseModel):
    id: int
    type: str
    file_url: str | None = None
    thumb_url: str | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    taken_at: UtcDateTime | None = None
    gps_lat: float | None = None
    gps_lng: float | None = None
    uploaded_by: int | None = None
    created_at: UtcDateTime | None = None


class AreaOut(BaseModel):
    id: int
    area_name: str | None
    start_latitude: float | None
    start_longitude: float | None
    end_latitude: float | None
    end_longitude: float | None
    trash_amount_est_l: float | None
    trash_amount_kg: float | None
    bag_count: int | None
    main_trash_type: LitterType | None
    note: str | None
    investigation_area_id: int | None
    images: list[ImageOut]


class DepotOut(BaseModel):
    id: int
    report_id: int
    org_id: int
    name: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    status: str | None
    collector_id: int | None
    photo_url: str | None
    image_ids: list[int]
    estimated_kg: float | None
    collected_amount: float | None
    collection_completed_at: UtcDateTime | None
    note: str | None
    created_at: UtcDateTime
    distance_m: float | None = None
    order: int | None = None
    leg_m: float | None = None


class ContributionOut(BaseModel):
    id: int
    user_id: int
    note: str | None
    bags: int | None
    kg: float | None
    hours: float | None
    image_ids: list[int]
    created_at: UtcDateTime


class CreditOut(BaseModel):
    user_id: int
    weight: float
    share: float
    kg: float


class LinksOut(BaseModel):
    investigation: int | None
    cleaning: int | None
    collection_requests: list[int]


class ReportOut(BaseModel):
    id: int
    client_id: str
    type: ReportType
    status: ReportStatus
    user_id: int
    team_id: int | None
    beach_id: int | None
    org_id: int
    job_id: int | None
    investigation_report_id: int | None
    cleaning_report_id: int | None
    investigation_at: UtcDateTime | None
    cleaning_at: UtcDateTime | None
    weather: Weather | None
    disaster_type: DisasterType | None
    gps_lat: float | None
    gps_lng: float | None
    note: str | None
    reject_reason: str | None
    coastline_m: float | None
    co_worker_ids: list[int]
    areas: list[AreaOut]
    images: list[ImageOut]
    collection_depots: list[DepotOut]
    contributions: list[ContributionOut]
    credits: list[CreditOut]
    links: LinksOut
    duplicate_of_id: int | None
    claimed_by_team_id: int | None
    claimed_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    submitted_at: UtcDateTime | None


class SyncResult(BaseModel):
    client_id: str | None
    status: str
    report_id: int | None = None
    error: dict[str, Any] | None = None
