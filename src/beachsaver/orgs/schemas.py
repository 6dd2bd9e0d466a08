from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from beachsaver.core.enums import OrgType
from beachsaver.core.envelope import Schema, UtcDateTime
from beachsaver.core.fields import MAX_ID
from beachsaver.users.schemas import Strict

OrgName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class OrganizationOut(Schema):
    id: int
    name: str
    code: str
    type: OrgType
    parent_id: int | None
    created_at: UtcDateTime


class OrganizationCreate(Strict):
    name: OrgName
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40)]
    type: OrgType
    parent_id: int = Field(gt=0, le=MAX_ID)


class OrganizationUpdate(Strict):
    name: OrgName
