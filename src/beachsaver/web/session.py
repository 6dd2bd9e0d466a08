"""Routes shared by both clients under /web: token rotation, sign-out, language and display
preferences. Static files are mounted at /web/static by ``install``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from beachsaver.auth import service as auth_service
from beachsaver.core import errors
from beachsaver.core.deps import DbSession, get_principal_or_pending
from beachsaver.core.i18n import LANGUAGES
from beachsaver.web import common
from beachsaver.web.common import WebRoute

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

ONE_YEAR = 365 * 24 * 3600


@router.get("/refresh")
def refresh_page(request: Request, db: DbSession, next: str = "", area: str = "app") -> Response:
    """A page found its access token expired: rotate the refresh token and go back."""
    area = "admin" if area == "admin" else "app"
    raw = request.cookies.get(common.REFRESH_COOKIE)
    if not raw:
        return _to_sign_in(area, next)
    try:
        tokens = auth_service.refresh(db, raw)
    except errors.AppError as exc:
        common.apply_error(db, exc)
        return _to_sign_in(area, next)
    response = RedirectResponse(common.safe_next(next, f"/{area}"), status_code=303)
    common.set_session(request, response, tokens)
    return response


@router.post("/refresh")
def refresh_for_script(request: Request, db: DbSession) -> Response:
    """The scripts' way to rotate (api.js calls it once on a 401, then retries)."""
    common.check_csrf(request, request.headers.get(common.CSRF_HEADER))
    raw = request.cookies.get(common.REFRESH_COOKIE)
    if not raw:
        raise errors.Unauthenticated()
    tokens = auth_service.refresh(db, raw)
    response = Response(status_code=204)
    common.set_session(request, response, tokens)
    return response


def _to_sign_in(area: str, next_path: str) -> RedirectResponse:
    response = RedirectResponse(f"/{area}/login", status_code=303)
    common.clear_session(response)
    return response


@router.post("/logout")
def logout(request: Request, db: DbSession, csrf_token: Annotated[str, Form()] = "", area: str = "app") -> Response:
    common.check_csrf(request, csrf_token)
    try:
        principal = get_principal_or_pending(request, db)
    except errors.AppError:
        principal = None
    if principal is not None:
        auth_service.logout(db, principal.user, principal.session_id)
    area = "admin" if area == "admin" else "app"
    response = RedirectResponse(f"/{area}/login", status_code=303)
    common.clear_session(response)
    return response


@router.post("/preferences")
def preferences(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    lang: Annotated[str | None, Form()] = None,
    large_text: Annotated[str | None, Form()] = None,
    high_contrast: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form()] = "",
) -> Response:
    """Language, large text and high contrast, kept per browser for a year (no sign-in needed:
    the sign-in pages offer them too)."""
    common.check_csrf(request, csrf_token)
    if lang is not None and lang not in LANGUAGES:
        raise errors.ValidationFailed.field("lang", "must_be_one_of")
    response = RedirectResponse(common.safe_next(next, "/app"), status_code=303)
    secure = common.secure_cookies(request)
    if lang is not None:
        response.set_cookie(common.LANG_COOKIE, lang, max_age=ONE_YEAR, samesite="lax", secure=secure, path="/")
    for cookie, value, on in (
        (common.TEXT_COOKIE, large_text, "large"),
        (common.CONTRAST_COOKIE, high_contrast, "high"),
    ):
        if value is not None:
            if value in ("on", on, "true", "1"):
                response.set_cookie(cookie, on, max_age=ONE_YEAR, samesite="lax", secure=secure, path="/")
            else:
                response.delete_cookie(cookie, path="/")
    return response


def install(app: FastAPI) -> None:
    from beachsaver.web.admin.router import router as admin_router
    from beachsaver.web.app.router import router as app_router

    app.mount("/web/static", StaticFiles(directory=str(common.STATIC_DIR)), name="web-static")
    app.include_router(router)
    app.include_router(admin_router)
    app.include_router(app_router)
