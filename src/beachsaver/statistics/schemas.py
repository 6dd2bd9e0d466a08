"""Wire shapes of the statistics endpoints (02-api §9, 07 §10)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from beachsaver.core.envelope import Schema


class LowerEnum(StrEnum):
    """Lower-case wire values, accepted in any letter case (07 §3)."""

    @classmethod
    def _missing_(cls, value: Any) -> Any:
        if isinstance(value, str):
            lower = value.strip().lower()
            for member in cls:
                if member.value == lower:
                    return member
        return None


class GroupBy(LowerEnum):
    PERIOD = "period"
    ORG = "org"
    BEACH = "beach"
    TEAM = "team"
    USER = "user"
    TRASH_TYPE = "trash_type"


class Period(LowerEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class Layer(LowerEnum):
    LITTER = "litter"
    DEPOTS = "depots"
    FORECAST = "forecast"


class StatisticsRow(Schema):
    """One row; only the key fields of the chosen ``group_by`` are present.

    Figures that cannot be split by litter type (collection requests, depots, volunteer hours,
    time to collection) are ``null`` in ``group_by=trash_type`` rows.
    """

    period: str | None = Field(None, description="period start YYYY-MM-DD (group_by=period)")
    org_id: int | None = None
    org_name: str | None = None
    beach_id: int | None = None
    beach_name: str | None = None
    team_id: int | None = None
    team_name: str | None = None
    user_id: int | None = None
    nickname: str | None = None
    trash_type: str | None = None
    investigation_reports: int | None
    cleaning_reports: int | None
    collection_requests: int | None
    litres_estimated: float | None
    kg_cleaned: float | None
    kg_collected: float | None
    depots_waiting: int | None
    depots_collected: int | None
    volunteer_hours: float | None
    avg_hours_to_collection: float | None


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: list[float] = Field(description="[longitude, latitude]")


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: dict[str, Any] = Field(
        description="litter and forecast: {beach_id, beach_name, value, unit, band, ...}; "
        "depots: {depot_id, status, ...}"
    )


class FeatureCollection(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    layer: str
    backtest_mape: float | None = Field(
        None, description="forecast: mean absolute percentage error (%) of the last 12 months' back-test"
    )


class ReportCounts(BaseModel):
    INVESTIGATION: int = 0
    CLEANING: int = 0
    COLLECTION_REQUEST: int = 0


class PerformanceFigures(BaseModel):
    reports_submitted: ReportCounts = Field(description="SUBMITTED or APPROVED reports I authored, by type")
    reports_approved: ReportCounts
    kg_cleaned: float = Field(description="my credited share of cleaning reports (whole report when solo)")
    kg_collected: float
    depots_collected: int
    hours: float = Field(description="my contribution hours on cleaning reports")
    volunteer_hours: float = Field(description="the same hours when I am a volunteer cleaner, else 0")


class PerformanceOut(BaseModel):
    user_id: int
    role: str
    cleaner_type: str | None
    month: str = Field(description="the current month in Asia/Seoul, YYYY-MM")
    this_month: PerformanceFigures
    all_time: PerformanceFigures


class WorkDone(BaseModel):
    reports_submitted: int
    depots_completed: int
    total: int


class Alert(BaseModel):
    code: str
    severity: Literal["HIGH", "MEDIUM", "LOW"]
    count: int
    message: str
    link: str


class DashboardOut(BaseModel):
    date: str = Field(description="today in Asia/Seoul")
    workers_total: int
    workers_active_today: int
    work_done_today: WorkDone
    reports: dict[str, dict[str, int]] = Field(description="{type: {status: count}} of reports in scope")
    depots: dict[str, int] = Field(description="{status: count} of depots of live requests in scope")
    alerts: list[Alert]
