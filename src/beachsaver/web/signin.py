"""What the sign-in forms of both clients share: a page that shows one step of the sign-in
(password or phone, code, role) again when a step fails, and the redirect that ends a sign-in
with the session cookies set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from beachsaver.core import errors
from beachsaver.web import common

#: A text field of a posted form ("" when the browser leaves it out).
FormText = Annotated[str, Form()]


class SignInFields:
    """What every sign-in step posts besides its own fields: the CSRF token (the handler checks
    it with ``check`` before anything else) and the page to go to once signed in."""

    def __init__(self, csrf_token: FormText = "", next: FormText = "") -> None:
        self.csrf_token = csrf_token
        self.next = next

    def check(self, request: Request) -> None:
        common.check_csrf(request, self.csrf_token)


SignInForm = Annotated[SignInFields, Depends()]


@dataclass(frozen=True)
class SignInPage:
    """One client's sign-in template; every step renders it with ``step`` and its values."""

    template: str

    def show(
        self, request: Request, status_code: int = 200, *, step: str, error: str | None = None, **values: Any
    ) -> HTMLResponse:
        return common.render(request, self.template, status_code, step=step, error=error, **values)

    def failed(self, request: Request, db: Session, exc: errors.AppError, *, step: str, **values: Any) -> HTMLResponse:
        """A service refused the step: keep what the error asks to keep (a recorded failed
        attempt), drop the rest, and show ``step`` again with the error in the reader's language."""
        common.apply_error(db, exc)
        message = common.error_message(request, exc)
        return self.show(request, exc.status_code, step=step, error=message, error_code=exc.code, **values)


def signed_in(request: Request, tokens: dict[str, Any], target: str) -> RedirectResponse:
    """The end of a sign-in (or a password change): the new session's cookies, then ``target``."""
    response = RedirectResponse(target, status_code=303)
    common.set_session(request, response, tokens)
    return response
