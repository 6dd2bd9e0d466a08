from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, ConfigDict, EmailStr, Field

from beachsaver.core.enums import CIEnum
from beachsaver.core.envelope import Schema, UtcDateTime


class Frequency(CIEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class Language(StrEnum):
    KO = "ko"
    EN = "en"


Recipients = Annotated[list[EmailStr], Field(min_length=1, max_length=20)]


class ReportScheduleCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    org_id: int | None = Field(default=None, gt=0, le=2**53, description="default: my organisation")
    frequency: Frequency
    recipients: Recipients
    language: Language = Language.KO
    next_run_at: AwareDatetime | None = Field(
        default=None,
        description="first sending (with offset); default the next Monday (WEEKLY) or the 1st of next "
        "month (MONTHLY) at 08:00 Asia/Seoul",
    )


class ReportScheduleOut(Schema):
    id: int
    org_id: int
    frequency: Frequency
    recipients: list[str]
    language: str
    next_run_at: UtcDateTime
    last_run_at: UtcDateTime | None = None
    last_error: str | None = None
    created_by: int | None = None
    created_at: UtcDateTime
