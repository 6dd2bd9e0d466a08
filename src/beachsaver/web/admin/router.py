"""The admin console at /admin: sign-in with the second factor, the password change, the
dashboard. Further pages live in sibling modules and are included here (see ``PAGES``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from beachsaver.auth import service as auth_service
from beachsaver.auth.router import client_info
from beachsaver.core import errors
from beachsaver.core.deps import DbSession, get_principal_or_pending
from beachsaver.statistics import kpis
from beachsaver.web import common
from beachsaver.web.common import WebRoute, render
from beachsaver.web.signin import FormText, SignInForm, SignInPage, signed_in

router = APIRouter(prefix="/admin", route_class=WebRoute, include_in_schema=False)
LOGIN = SignInPage("admin/login.html")


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    return LOGIN.show(request, step="password", next=next)


@router.post("/login")
def login_submit(
    request: Request, db: DbSession, form: SignInForm, login_id: FormText = "", password: FormText = ""
) -> Response:
    form.check(request)
    values: dict[str, Any] = {"next": form.next, "login_id": login_id}
    if not login_id.strip() or not password:
        field = "login_id" if not login_id.strip() else "password"
        return LOGIN.show(request, 400, step="password", error="required", error_field=field, **values)
    try:
        challenge = auth_service.admin_login(db, login_id.strip(), password)
    except errors.AppError as exc:
        return LOGIN.failed(request, db, exc, step="password", **values)
    return LOGIN.show(request, step="code", challenge_id=challenge["challenge_id"], **values)


@router.post("/login/verify")
def verify_submit(
    request: Request, db: DbSession, form: SignInForm, challenge_id: FormText = "", code: FormText = ""
) -> Response:
    form.check(request)
    try:
        tokens = auth_service.admin_verify(db, challenge_id, code.strip(), client_info(request))
    except errors.AppError as exc:
        return LOGIN.failed(request, db, exc, step="code", challenge_id=challenge_id, next=form.next)
    target = "/admin/password" if tokens["password_expired"] else common.safe_next(form.next, "/admin")
    return signed_in(request, tokens, target)


@router.get("/password")
def password_page(request: Request, db: DbSession) -> Response:
    principal = get_principal_or_pending(request, db) if request.cookies.get(common.ACCESS_COOKIE) else None
    if principal is None:
        raise errors.Unauthenticated()
    return render(request, "admin/password.html", error=None)


@router.post("/password")
def password_submit(
    request: Request,
    db: DbSession,
    current_password: FormText = "",
    new_password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    common.check_csrf(request, csrf_token)
    if not request.cookies.get(common.ACCESS_COOKIE):
        raise errors.Unauthenticated()
    principal = get_principal_or_pending(request, db)
    try:
        tokens = auth_service.change_password(db, principal.user, current_password, new_password, client_info(request))
    except errors.AppError as exc:
        common.apply_error(db, exc)
        return render(request, "admin/password.html", exc.status_code, error=common.error_message(request, exc))
    return signed_in(request, tokens, "/admin")


@router.get("")
@router.get("/")
def dashboard(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    figures = kpis.dashboard(db, principal.scope_org_ids(db), common.language(request))
    return render(request, "admin/dashboard.html", figures=figures, nav="dashboard")


def _include_pages() -> None:
    """Pages of the other console areas, each in its own module with its own router."""
    import importlib
    import pkgutil

    import beachsaver.web.admin as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("pages_"):
            page_router = importlib.import_module(f"{package.__name__}.{module.name}").router
            router.include_router(page_router)


_include_pages()
