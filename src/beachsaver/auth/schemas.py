from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from beachsaver.core.enums import OtpPurpose
from beachsaver.core.fields import PositiveId
from beachsaver.users.schemas import AccountChoice, Password, PhoneField, Strict, UserOut

Code = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class LoginIn(PhoneField, Strict):
    phone: str


class CodeSent(BaseModel):
    expires_in: int


class VerifyIn(PhoneField, Strict):
    phone: str
    code: Code


class SelectIn(Strict):
    selection_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]
    user_id: PositiveId


class AdminLoginIn(Strict):
    login_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AdminChallenge(BaseModel):
    challenge_id: str
    expires_in: int


class AdminVerifyIn(Strict):
    challenge_id: Annotated[str, StringConstraints(min_length=10, max_length=200)]
    code: Code


class PasswordChangeIn(Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Password


class OtpIn(PhoneField, Strict):
    phone: str
    purpose: OtpPurpose


class RefreshIn(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    password_expired: bool = False
    user: UserOut


class AccountSelection(BaseModel):
    accounts: list[AccountChoice]
    selection_token: str
