from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from beachsaver.core.enums import MembershipStatus, TeamRole, TeamStatus
from beachsaver.core.envelope import Schema, UtcDateTime
from beachsaver.users.schemas import Strict

#: Largest id the databases store (signed 64-bit); larger numbers are a 400, never a driver error.
MAX_ID = 2**63 - 1
MAX_MEMBERS = 20

DbId = Annotated[int, Field(gt=0, le=MAX_ID)]
TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TeamOut(Schema):
    id: int
    org_id: int
    name: str
    status: TeamStatus
    leader_id: int | None
    member_count: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
    disbanded_at: UtcDateTime | None = None


class TeamCreate(Strict):
    name: TeamName
    org_id: DbId
    leader_id: DbId
    member_ids: list[DbId] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="members besides the leader (the leader may be listed too); 1–20 members in all",
    )


class TeamUpdate(Strict):
    """Rename, change the leader, or disband (``status: DISBANDED``)."""

    name: TeamName | None = None
    leader_id: DbId | None = None
    status: TeamStatus | None = None

    @field_validator("name", "leader_id", "status", mode="after")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class TeamMemberAdd(Strict):
    user_id: DbId
    role_in_team: TeamRole = TeamRole.MEMBER


class TeamMemberOut(Schema):
    id: int
    user_id: int
    nickname: str
    role_in_team: TeamRole
    status: MembershipStatus
    joined_at: UtcDateTime
    left_at: UtcDateTime | None = None
