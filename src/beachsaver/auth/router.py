from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from beachsaver.auth import service
from beachsaver.auth.schemas import (
    AccountSelection,
    AdminChallenge,
    AdminLoginIn,
    AdminVerifyIn,
    CodeSent,
    LoginIn,
    OtpIn,
    PasswordChangeIn,
    RefreshIn,
    SelectIn,
    Tokens,
    VerifyIn,
)
from beachsaver.core import errors
from beachsaver.core.deps import CurrentUserOrPending, DbSession, Principal, get_principal_or_pending
from beachsaver.core.envelope import Envelope, ok
from beachsaver.core.http import ApiRoute

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=ApiRoute)


def client_info(request: Request) -> service.ClientInfo:
    return service.ClientInfo(
        ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent")
    )


@router.post("/login", response_model=Envelope[CodeSent], summary="Send a sign-in code to a phone")
def login(body: LoginIn, db: DbSession) -> dict[str, Any]:
    return ok(service.phone_login(db, body.phone))


@router.post("/verify", response_model=Envelope[Tokens | AccountSelection], summary="Check the code")
def verify(body: VerifyIn, db: DbSession, request: Request) -> dict[str, Any]:
    return ok(service.phone_verify(db, body.phone, body.code, client_info(request)))


@router.post("/select", response_model=Envelope[Tokens], summary="Choose one of the phone's accounts")
def select_account(body: SelectIn, db: DbSession, request: Request) -> dict[str, Any]:
    return ok(service.select_account(db, body.selection_token, body.user_id, client_info(request)))


@router.post("/admin/login", response_model=Envelope[AdminChallenge], summary="Admin password step")
def admin_login(body: AdminLoginIn, db: DbSession) -> dict[str, Any]:
    return ok(service.admin_login(db, body.login_id, body.password))


@router.post("/admin/verify", response_model=Envelope[Tokens], summary="Admin code step")
def admin_verify(body: AdminVerifyIn, db: DbSession, request: Request) -> dict[str, Any]:
    return ok(service.admin_verify(db, body.challenge_id, body.code, client_info(request)))


@router.post("/password", response_model=Envelope[Tokens], summary="Change an admin's password")
def change_password(
    body: PasswordChangeIn, db: DbSession, principal: CurrentUserOrPending, request: Request
) -> dict[str, Any]:
    return ok(
        service.change_password(db, principal.user, body.current_password, body.new_password, client_info(request))
    )


def _optional_principal(request: Request, db: DbSession) -> Principal | None:
    """The caller when it presents a valid token, else None (a sign-up code needs no account;
    a phone-change code without one answers 401 in the service)."""
    if not request.headers.get("authorization") and not request.cookies.get("bs_access"):
        return None
    try:
        return get_principal_or_pending(request, db)
    except errors.Unauthenticated:
        return None


@router.post("/otp", response_model=Envelope[CodeSent], summary="Send a code for sign-up or a phone change")
def send_otp(body: OtpIn, db: DbSession, principal: Principal | None = Depends(_optional_principal)) -> dict[str, Any]:
    return ok(service.send_purpose_code(db, body.phone, body.purpose, principal.user if principal else None))


@router.post("/refresh", response_model=Envelope[Tokens], summary="Rotate the refresh token")
def refresh(body: RefreshIn, db: DbSession) -> dict[str, Any]:
    return ok(service.refresh(db, body.refresh_token))


@router.post("/logout", response_model=Envelope[None], summary="Revoke the current session")
def logout(db: DbSession, principal: CurrentUserOrPending) -> dict[str, Any]:
    service.logout(db, principal.user, principal.session_id)
    return ok(None)
