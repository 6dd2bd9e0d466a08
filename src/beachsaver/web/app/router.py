"""The worker app at /app: phone sign-in with the role choice, and the home page. Further pages
live in sibling modules named ``pages_*`` and are included here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from beachsaver.auth import service as auth_service
from beachsaver.auth.router import client_info
from beachsaver.core import errors
from beachsaver.core.deps import DbSession, get_principal_or_pending
from beachsaver.core.phone import normalise_phone
from beachsaver.core.time import SEOUL
from beachsaver.jobs import service as job_service
from beachsaver.jobs.models import Job
from beachsaver.web import common
from beachsaver.web.common import WebRoute, render
from beachsaver.web.signin import FormText, SignInForm, SignInPage, signed_in

FormInt = Annotated[int, Form()]

router = APIRouter(prefix="/app", route_class=WebRoute, include_in_schema=False)
LOGIN = SignInPage("app/login.html")


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    return LOGIN.show(request, step="phone", next=next)


@router.post("/login")
def login_submit(request: Request, db: DbSession, form: SignInForm, phone: FormText = "") -> Response:
    form.check(request)
    normalised = normalise_phone(phone)
    if normalised is None:
        invalid = errors.ValidationFailed.field("phone", "invalid_format")
        error = common.error_message(request, invalid)
        return LOGIN.show(request, 400, step="phone", phone=phone, next=form.next, error_field="phone", error=error)
    try:
        sent = auth_service.phone_login(db, normalised)
    except errors.AppError as exc:
        return LOGIN.failed(request, db, exc, step="phone", phone=phone, next=form.next)
    return LOGIN.show(request, step="code", phone=normalised, next=form.next, expires_in=sent["expires_in"])


@router.post("/login/verify")
def verify_submit(
    request: Request, db: DbSession, form: SignInForm, phone: FormText = "", code: FormText = ""
) -> Response:
    form.check(request)
    try:
        result = auth_service.phone_verify(db, phone, code.strip(), client_info(request))
    except errors.AppError as exc:
        return LOGIN.failed(request, db, exc, step="code", phone=phone, next=form.next)
    if "selection_token" in result:
        accounts, selection_token = result["accounts"], result["selection_token"]
        return LOGIN.show(request, step="role", accounts=accounts, selection_token=selection_token, next=form.next)
    return signed_in(request, result, common.safe_next(form.next, "/app"))


@router.post("/login/select")
def select_submit(
    request: Request, db: DbSession, form: SignInForm, selection_token: FormText = "", user_id: FormInt = 0
) -> Response:
    form.check(request)
    try:
        tokens = auth_service.select_account(db, selection_token, user_id, client_info(request))
    except errors.AppError as exc:
        return LOGIN.failed(request, db, exc, step="phone", next=form.next)
    return signed_in(request, tokens, common.safe_next(form.next, "/app"))


@router.get("")
@router.get("/")
def home(request: Request, db: DbSession) -> Response:
    """Assigned jobs and shortcuts; a citizen waiting for approval sees only that notice."""
    if not request.cookies.get(common.ACCESS_COOKIE):
        raise errors.Unauthenticated()
    principal = get_principal_or_pending(request, db)
    pending = principal.user.status == "PENDING_APPROVAL"
    jobs: list[dict[str, object]] = []
    if not pending:
        today = datetime.now(SEOUL).date()
        stmt = job_service.list_query(db, principal, date_from=today).order_by(Job.date, Job.id).limit(20)
        jobs = job_service.present_many(db, principal, list(db.execute(stmt).scalars()))
    return render(request, "app/home.html", nav="home", pending=pending, jobs=jobs)


def _include_pages() -> None:
    import importlib
    import pkgutil

    import beachsaver.web.app as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("pages_"):
            router.include_router(importlib.import_module(f"{package.__name__}.{module.name}").router)


_include_pages()
