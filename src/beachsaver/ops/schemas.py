from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from beachsaver.core.enums import CIEnum
from beachsaver.core.envelope import UtcDateTime
from beachsaver.core.fields import PastInstant

Text = Annotated[str, StringConstraints(max_length=4000)]


class Severity(CIEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class IncidentStatus(CIEnum):
    OPEN = "OPEN"
    MITIGATED = "MITIGATED"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    severity: Severity
    detected_at: PastInstant | None = None
    symptoms: Text | None = None
    scope: Text | None = None
    first_actions: Text | None = None
    owner: Annotated[str, StringConstraints(max_length=100)] | None = None
    contact: Annotated[str, StringConstraints(max_length=200)] | None = None


class IncidentPatch(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    severity: Severity | None = None
    status: IncidentStatus | None = None
    symptoms: Text | None = None
    scope: Text | None = None
    first_actions: Text | None = None
    owner: Annotated[str, StringConstraints(max_length=100)] | None = None
    contact: Annotated[str, StringConstraints(max_length=200)] | None = None
    cause: Text | None = None
    prevention: Text | None = None
    update: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)] | None = Field(
        None, description="a timeline entry to append"
    )


class TimelineEntry(BaseModel):
    at: UtcDateTime
    author_id: int | None
    status: str | None
    note: str


class IncidentOut(BaseModel):
    id: int
    title: str
    severity: str
    status: str
    detected_at: UtcDateTime
    symptoms: str | None
    scope: str | None
    first_actions: str | None
    owner: str | None
    contact: str | None
    cause: str | None
    prevention: str | None
    resolved_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    timeline: list[TimelineEntry]


class InspectionOut(BaseModel):
    id: int
    at: UtcDateTime
    ok: bool
    items: list[dict[str, Any]]
    markdown: str


class JobRunOut(BaseModel):
    id: int
    job: str
    started_at: UtcDateTime
    finished_at: UtcDateTime | None
    outcome: str
    rows: int
    error: str | None
    host: str | None


class BackupOut(BaseModel):
    id: str
    label: str
    status: str
    created_at: UtcDateTime
    size: int = Field(description="bytes stored (after compression and encryption)")
    seconds: float | None = None
    encrypted: bool = False
    error: str | None = None
