"""What the console and the worker app share: templates, language, the cookie session, CSRF,
and the route class that turns errors into pages.

Session: sign-in through the web forms stores the API's own tokens in HttpOnly cookies
(``bs_access`` for every path, ``bs_refresh`` only for ``/web/refresh``). Pages and the JSON API
read ``bs_access`` (see ``core.deps``); a request authenticated by that cookie must carry the
double-submit CSRF token (``bs_csrf`` cookie echoed in the ``X-CSRF-Token`` header, or the
``csrf_token`` field of a form) on anything but GET/HEAD/OPTIONS.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from beachsaver import __version__
from beachsaver.core import errors
from beachsaver.core.deps import Principal, get_principal
from beachsaver.core.enums import ADMIN_ROLES, Role, UserStatus
from beachsaver.core.i18n import LANGUAGES, pick_language
from beachsaver.web import i18n

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
ACCESS_COOKIE = "bs_access"
REFRESH_COOKIE = "bs_refresh"
CSRF_COOKIE = "bs_csrf"
LANG_COOKIE = "bs_lang"
TEXT_COOKIE = "bs_text"  # "large": 125 % type
CONTRAST_COOKIE = "bs_contrast"  # "high"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"

templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
templates.env.globals["version"] = __version__


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return pick_language(request.headers.get("accept-language"))


def csrf_token(request: Request) -> str:
    """The browser's CSRF token: the cookie's value, or a new one (set on the response by
    ``render``) when the browser has none yet."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not secrets.compare_digest(cookie, submitted):
        raise errors.Forbidden("csrf_failed")
    request.state.csrf_ok = True


def secure_cookies(request: Request) -> bool:
    return bool(request.app.state.settings.env != "dev")


def _set_csrf(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, new, samesite="strict", secure=secure_cookies(request), path="/")


def set_session(request: Request, response: Response, tokens: dict[str, Any]) -> None:
    secure = secure_cookies(request)
    settings = request.app.state.settings
    response.set_cookie(
        ACCESS_COOKIE, tokens["access_token"], httponly=True, samesite="strict", secure=secure, path="/"
    )
    response.set_cookie(
        REFRESH_COOKIE,
        tokens["refresh_token"],
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/web/refresh",
        max_age=settings.refresh_ttl_s,
    )
    # A new session gets a new CSRF token (no fixation across sign-ins).
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), samesite="strict", secure=secure, path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/web/refresh")


def page_context(request: Request, **values: Any) -> dict[str, Any]:
    lang = language(request)

    def t(key: str, **params: Any) -> str:
        return i18n.text(key, lang, **params)

    principal: Principal | None = getattr(request.state, "principal", None)
    return {
        "request": request,
        "lang": lang,
        "t": t,
        "csrf": csrf_token(request),
        "large_text": request.cookies.get(TEXT_COOKIE) == "large",
        "high_contrast": request.cookies.get(CONTRAST_COOKIE) == "high",
        "me": principal.user if principal else None,
        "principal": principal,
        "path": request.url.path,
        **values,
    }


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, page_context(request, **values), status_code=status_code)
    response.headers["cache-control"] = "no-store"
    _set_csrf(request, response)
    return response


def area_of(path: str) -> str:
    return "admin" if path.startswith("/admin") else "app"


def sign_in_redirect(request: Request) -> RedirectResponse:
    area = area_of(request.url.path)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    next_part = f"?next={quote(target, safe='')}"
    if request.cookies.get(REFRESH_COOKIE) is not None or request.cookies.get(ACCESS_COOKIE):
        # The access token may only have expired: rotate it and come back.
        return RedirectResponse(f"/web/refresh{next_part}&area={area}", status_code=303)
    return RedirectResponse(f"/{area}/login{next_part}", status_code=303)


class WebRoute(APIRoute):
    """Pages answer errors with pages: sign-in → redirect, 403/404 and the rest → an error page
    in the caller's language; unexpected exceptions → the C-07 page (logged, no details)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except errors.PasswordExpired:
                return RedirectResponse("/admin/password", status_code=303)
            except errors.Unauthenticated:
                return sign_in_redirect(request)
            except errors.AppError as exc:
                return error_page(request, exc)
            except Exception as exc:  # pragma: no cover - exercised by the fault tests
                import logging

                logging.getLogger("beachsaver.web").error("page failed", exc_info=exc)
                return error_page(request, errors.AppError())

        return handler


def error_page(request: Request, exc: errors.AppError) -> HTMLResponse:
    from beachsaver.core.trace import current_trace_id

    return render(
        request,
        "shared/error.html",
        status_code=exc.status_code,
        error_code=exc.code,
        status=exc.status_code,
        trace_id=current_trace_id.get(),
        area=area_of(request.url.path),
        problems=field_messages(exc, language(request)),
    )


def field_messages(exc: errors.AppError, lang: str) -> list[tuple[str, str]]:
    """The fields an error names (``query.size`` → ``size``) with their messages in ``lang``."""
    from beachsaver.core.i18n import translate

    found: list[tuple[str, str]] = []
    for detail in exc.details or []:
        extra = {k: v for k, v in detail.items() if k not in ("field", "message")}
        name = str(detail.get("field", "")).removeprefix("query.")
        found.append((name, translate(str(detail.get("message", "")), lang, **extra)))
    return found


def web_principal(request: Request, db: Session) -> Principal:
    """The signed-in browser's account (raises ``Unauthenticated`` → redirect to sign-in)."""
    if not request.cookies.get(ACCESS_COOKIE):
        raise errors.Unauthenticated()
    return get_principal(request, db)


def admin_principal(request: Request, db: Session) -> Principal:
    principal = web_principal(request, db)
    if principal.role not in ADMIN_ROLES:
        raise errors.Forbidden()
    return principal


def require_page_roles(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise errors.Forbidden()


def apply_error(db: Session, exc: errors.AppError) -> None:
    """A form action caught a service error: keep what the error asks to keep (a recorded failed
    sign-in), drop the rest, as ``get_db`` does for the API."""
    if exc.commit:
        db.commit()
    else:
        db.rollback()


def error_message(request: Request, exc: errors.AppError) -> str:
    from beachsaver.core.i18n import translate

    lang = language(request)
    if exc.details:
        return field_messages(exc, lang)[0][1]
    return translate(exc.message_key, lang, **exc.params)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths of the two clients (no open redirect)."""
    if target and target.startswith(("/admin", "/app")) and not target.startswith("//") and "\\" not in target:
        return target
    return default


# ---- navigation ------------------------------------------------------------------------------

PLATFORM_AND_CITY = (Role.PLATFORM_ADMIN, Role.CITY_ADMIN)

#: The console's menu: (key, href, roles allowed; empty = every admin). Pages check the same
#: roles through the API's services; a hidden menu item is a convenience, not the guard.
ADMIN_MENU: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("dashboard", "/admin", ()),
    ("reports", "/admin/reports", ()),
    ("depots", "/admin/depots", ()),
    ("users", "/admin/users", ()),
    ("volunteers", "/admin/volunteers", ()),
    ("teams", "/admin/teams", ()),
    ("beaches", "/admin/beaches", ()),
    ("jobs", "/admin/jobs", ()),
    ("notifications", "/admin/notifications", ()),
    ("statistics", "/admin/statistics", ()),
    ("maps", "/admin/maps", ()),
    ("audit", "/admin/audit", ()),
    ("operations", "/admin/ops", PLATFORM_AND_CITY),
)

WORKER_TABS: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("home", "/app", ()),
    ("reports", "/app/reports", (Role.INVESTIGATOR, Role.CLEANER)),
    ("depots", "/app/depots", (Role.COLLECTOR,)),
    ("notifications", "/app/notifications", ()),
    ("performance", "/app/performance", ()),
    ("settings", "/app/settings", ()),
)

WORKER_ACTIONS: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("new_investigation", "/app/reports/new/investigation", (Role.INVESTIGATOR,)),
    ("new_cleaning", "/app/reports/new/cleaning", (Role.CLEANER,)),
    ("new_collection_request", "/app/reports/new/collection-request", (Role.CLEANER,)),
    ("depots", "/app/depots", (Role.COLLECTOR,)),
)


#: G-28: a citizen waiting for approval has only these tabs (and none of the actions).
PENDING_TABS = ("home", "settings")


def _menu(items: tuple[tuple[str, str, tuple[Role, ...]], ...], principal: Principal | None) -> list[dict[str, str]]:
    if principal is None:
        return []
    pending = principal.user.status == UserStatus.PENDING_APPROVAL
    return [
        {"key": key, "href": href}
        for key, href, roles in items
        if (not roles or principal.role in roles) and (not pending or key in PENDING_TABS)
    ]


templates.env.globals["admin_menu"] = lambda principal: _menu(ADMIN_MENU, principal)
templates.env.globals["app_menu"] = lambda principal: _menu(WORKER_TABS, principal)
templates.env.globals["app_actions"] = lambda principal: _menu(WORKER_ACTIONS, principal)
