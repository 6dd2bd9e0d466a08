"""Wire shapes of the notifications API (07-precise-rules §9)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints, model_validator

from beachsaver.core.enums import CIEnum, Role
from beachsaver.core.envelope import Schema, UtcDateTime
from beachsaver.users.schemas import Strict

MAX_ID = 2**63 - 1
DbId = Annotated[int, Field(gt=0, le=MAX_ID)]


class NotificationStatus(CIEnum):
    UNREAD = "UNREAD"
    READ = "READ"


class Category(CIEnum):
    ACCOUNT = "ACCOUNT"
    ASSIGNMENT = "ASSIGNMENT"
    REPORT = "REPORT"
    DEPOT = "DEPOT"
    TEAM = "TEAM"
    NOTICE = "NOTICE"
    STATISTICS = "STATISTICS"
    SECURITY = "SECURITY"


class UserChannel(CIEnum):
    PUSH = "PUSH"
    ALIMTALK = "ALIMTALK"
    SMS = "SMS"
    EMAIL = "EMAIL"


class Platform(CIEnum):
    ANDROID = "ANDROID"
    IOS = "IOS"
    WEB = "WEB"


class NotificationOut(Schema):
    id: int
    category: str
    title: str
    message: str
    link: str | None
    status: NotificationStatus
    created_at: UtcDateTime
    read_at: UtcDateTime | None


class ReadBody(Strict):
    """``{ids}`` or ``{all: true}``."""

    ids: list[DbId] | None = Field(None, min_length=1, max_length=500)
    all: StrictBool | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReadBody:
        if self.ids is None and self.all is None:
            raise ValueError("give ids or all: true")
        if self.ids is not None and self.all is not None:
            raise ValueError("give either ids or all, not both")
        if self.all is False:
            raise ValueError("all must be true")
        return self


class ReadOut(Schema):
    updated: int


#: ``{CATEGORY: {CHANNEL: bool}}``; keys are checked by the service (400 naming ``CATEGORY.CHANNEL``).
Preferences = dict[str, dict[str, StrictBool]]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
FcmToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400, pattern=r"^\S+$")]


class BroadcastIn(Strict):
    title: Title
    message: Message
    roles: list[Role] | None = Field(None, min_length=1, max_length=7, description="default: every role")
    org_ids: list[DbId] | None = Field(
        None, min_length=1, max_length=200, description="organisations (with their subtrees); default: my scope"
    )
    channels: list[UserChannel] | None = Field(
        None, min_length=1, max_length=4, description="default: PUSH and SMS (each recipient's choices apply)"
    )


class BroadcastOut(Schema):
    recipients: int


class DeviceIn(Strict):
    fcm_token: FcmToken
    platform: Platform


class DeviceOut(Schema):
    id: int
    platform: Platform
    created_at: UtcDateTime
    last_seen_at: UtcDateTime
