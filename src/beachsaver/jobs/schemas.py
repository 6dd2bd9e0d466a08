"""Wire types of jobs and volunteer slots (02-api §8, 07 §8)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from beachsaver.core.enums import CIEnum
from beachsaver.core.envelope import Schema, UtcDateTime
from beachsaver.core.fields import PositiveId, Reason

MAX_HEADCOUNT = 1000
MAX_AREAS = 50
MAX_ASSIGNEES = 100


class JobType(CIEnum):
    INVESTIGATION = "INVESTIGATION"
    CLEANING = "CLEANING"
    COLLECTION = "COLLECTION"


class JobStatus(CIEnum):
    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class AssigneeKind(CIEnum):
    REGULAR = "REGULAR"
    VOLUNTEER = "VOLUNTEER"


class AssigneeStatus(CIEnum):
    ASSIGNED = "ASSIGNED"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    NO_SHOW = "NO_SHOW"
    WAITING = "WAITING"


class JobPatchStatus(CIEnum):
    """``status`` of ``PATCH /api/jobs/{id}``: ``CANCELLED`` cancels the job, ``NO_SHOW`` marks an
    assignee; the other job states are reached only by the workflow (409 ``INVALID_STATE``)."""

    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"


class ApplicationStatus(CIEnum):
    APPROVED = "APPROVED"
    WAITING = "WAITING"


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _calendar_date(value: Any) -> Any:
    if isinstance(value, str) and not _DATE.match(value.strip()):
        raise ValueError("must be a date YYYY-MM-DD")
    if not isinstance(value, (str, dt.date)):
        raise ValueError("must be a date YYYY-MM-DD")
    return value.strip() if isinstance(value, str) else value


CalendarDate = Annotated[dt.date, BeforeValidator(_calendar_date)]
AreaName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobCreate(Strict):
    type: JobType
    beach_id: PositiveId
    area_names: list[AreaName] = Field(default_factory=list, max_length=MAX_AREAS)
    date: CalendarDate = Field(description="YYYY-MM-DD (Asia/Seoul), today or later")
    headcount: int = Field(ge=1, le=MAX_HEADCOUNT)
    investigation_report_id: PositiveId | None = None
    volunteer_slots: int | None = Field(
        None, ge=0, le=MAX_HEADCOUNT, description="at most this many volunteer places (default: every free place)"
    )
    team_id: PositiveId | None = Field(None, description="required for CLEANING jobs: the team doing the work")


class JobUpdate(Strict):
    """One operation per request: assign (``assignee_ids`` or ``team_id``), cancel (``status:
    CANCELLED`` with ``reason``) or mark a no-show (``assignee_id`` with ``status: NO_SHOW``)."""

    assignee_ids: list[PositiveId] | None = Field(None, min_length=1, max_length=MAX_ASSIGNEES)
    team_id: PositiveId | None = None
    status: JobPatchStatus | None = None
    reason: Reason | None = None
    assignee_id: PositiveId | None = Field(None, description="user id of the assignee marked NO_SHOW")


class DeclineBody(Strict):
    reason: Reason


class AssigneeOut(Schema):
    user_id: int
    nickname: str
    kind: AssigneeKind
    status: AssigneeStatus
    position: int
    reason: str | None = None


class JobOut(Schema):
    id: int
    type: JobType
    org_id: int
    beach_id: int
    area_names: list[str]
    date: dt.date
    headcount: int
    volunteer_slots: int = Field(description="volunteer places now: min(cap, headcount − regular assignees)")
    status: JobStatus
    investigation_report_id: int | None
    team_id: int | None
    assignees: list[AssigneeOut]
    cancel_reason: str | None = None
    created_by: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MyApplication(Schema):
    status: AssigneeStatus
    position: int


class SlotOut(Schema):
    id: int = Field(description="the job's id")
    job_id: int
    org_id: int
    beach_id: int
    beach_name: str
    area_names: list[str]
    date: dt.date
    team_id: int | None
    job_status: JobStatus
    volunteer_slots: int
    taken: int
    remaining: int
    waiting: int
    my_application: MyApplication | None = None
    created_at: UtcDateTime


class ApplicationOut(Schema):
    slot_id: int
    job_id: int
    status: ApplicationStatus
    position: int
