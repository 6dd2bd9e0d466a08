from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from beachsaver.core.enums import CleanerType, OperatorType, RequestStatus, Role, UserStatus, VehicleType
from beachsaver.core.envelope import Schema, UtcDateTime
from beachsaver.core.fields import MAX_ID
from beachsaver.core.phone import normalise_phone

Nickname = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=64)]
Amount2 = Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=2)]
Capacity = Annotated[Decimal, Field(gt=0, max_digits=8, decimal_places=2)]
PlateNo = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20)]
CompanyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
BusinessNo = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{3}-?\d{2}-?\d{5}$")]
RealName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
OtpCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


def check_phone(value: str) -> str:
    normalised = normalise_phone(value)
    if normalised is None:
        raise ValueError("not a Korean mobile number (01X, 10–11 digits)")
    return normalised


class PhoneField(BaseModel):
    @field_validator("phone", "new_phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str) -> str:
        return check_phone(value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class VehicleIn(Strict):
    type: VehicleType
    capacity_t: Capacity
    plate_no: PlateNo
    operator_type: OperatorType
    company_name: CompanyName | None = None
    business_no: BusinessNo | None = None


class VehiclePatch(Strict):
    """A partial vehicle profile: given fields replace the stored ones."""

    type: VehicleType | None = None
    capacity_t: Capacity | None = None
    plate_no: PlateNo | None = None
    operator_type: OperatorType | None = None
    company_name: CompanyName | None = None
    business_no: BusinessNo | None = None


class VehicleOut(Schema):
    type: VehicleType
    capacity_t: float
    plate_no: str
    operator_type: OperatorType
    company_name: str | None = None
    business_no: str | None = None
    verified: bool = False
    verified_at: UtcDateTime | None = None
    verified_by: int | None = None


class UserOut(Schema):
    id: int
    system_id: str
    nickname: str
    phone: str = Field(description="masked (010-****-5678) except on /me and ?reveal=phone")
    role: Role
    org_id: int
    status: UserStatus
    status_reason: str | None = None
    cleaner_type: CleanerType | None = None
    email: str | None = None
    real_name: str | None = None
    birth: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    vehicle: VehicleOut | None = None
    preferences: dict[str, Any] = Field(default_factory=dict)
    created_at: UtcDateTime
    last_login_at: UtcDateTime | None = None


class AccountChoice(Schema):
    user_id: int
    system_id: str
    nickname: str
    role: Role
    org_id: int
    status: UserStatus


class UserCreate(PhoneField, Strict):
    nickname: Nickname
    phone: str
    role: Role
    org_id: int = Field(gt=0, le=MAX_ID)
    password: Password | None = None
    email: EmailStr | None = None
    real_name: RealName | None = None
    cleaner_type: CleanerType | None = None
    birth: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    vehicle: VehicleIn | None = None


class UserUpdate(Strict):
    nickname: Nickname | None = None
    org_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    email: EmailStr | None = None
    real_name: RealName | None = None
    birth: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    vehicle: VehiclePatch | None = None


class MeUpdate(Strict):
    nickname: Nickname | None = None
    email: EmailStr | None = None
    preferences: dict[str, Any] | None = None


class StatusChange(Strict):
    status: UserStatus
    reason: Reason | None = None


class RejectBody(Strict):
    reason: Reason


class VolunteerSignup(PhoneField, Strict):
    nickname: Nickname
    phone: str
    code: OtpCode
    org_id: int = Field(gt=0, le=MAX_ID)
    privacy_consent: bool
    email: EmailStr | None = None

    @field_validator("privacy_consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("privacy consent is required")
        return value


class PhoneChangeCreate(PhoneField, Strict):
    new_phone: str
    code_old: OtpCode
    code_new: OtpCode


class PhoneChangeOut(Schema):
    id: int
    user_id: int
    org_id: int
    new_phone: str
    status: RequestStatus
    reason: str | None = None
    decided_by: int | None = None
    decided_at: UtcDateTime | None = None
    created_at: UtcDateTime


class Colleague(Schema):
    id: int
    nickname: str
    role: Role
    cleaner_type: CleanerType | None = None
