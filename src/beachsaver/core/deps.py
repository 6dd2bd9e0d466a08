"""Request dependencies: the transaction boundary, the caller (Principal) and permissions.

This is the one permission mechanism: routes declare which roles may call them with
``require_roles``; services receive the Principal and build scope-filtered queries from
``principal.scope_org_ids`` so that nothing outside the caller's subtree can be returned.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload
from starlette.concurrency import run_in_threadpool

from beachsaver.auth.models import AuthSession
from beachsaver.core import errors
from beachsaver.core.db import commit as commit_session
from beachsaver.core.db import rollback as rollback_session
from beachsaver.core.enums import ADMIN_ROLES, Role, UserStatus
from beachsaver.core.runtime import Runtime
from beachsaver.core.security import decode_access_token
from beachsaver.core.time import utcnow
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.users.models import User


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's single transaction: commit on success, roll back on error.

    The session is made on the event loop (that does no I/O). A synchronous API endpoint that
    takes the session commits it in its own worker thread as it returns (``commit_on_return``,
    D48), so a request crosses to a worker thread twice (its caller, its endpoint) rather than
    four times; whatever is left uncommitted here (an endpoint that does not take the session,
    say) is committed in a worker thread, as is every rollback. An ``AppError`` with
    ``commit=True`` (a recorded failed sign-in, say) commits first.
    """
    session = request.app.state.runtime.session_factory()
    try:
        yield session
    except errors.AppError as exc:
        await run_in_threadpool(end_transaction, session, commit=exc.commit)
        raise
    except Exception:
        await run_in_threadpool(end_transaction, session, commit=False)
        raise
    except BaseException:
        end_transaction(session, commit=False)  # cancelled: nothing can be awaited any more
        raise
    if session.in_transaction():
        await run_in_threadpool(end_transaction, session, commit=True)
    else:
        session.close()  # committed by the endpoint: no connection is held


def end_transaction(session: Session, *, commit: bool) -> None:
    """Commit (then run what waits for the commit) or roll back, and close the session."""
    try:
        if commit:
            commit_session(session)
        else:
            rollback_session(session)
    finally:
        session.close()


def commit_on_return(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A synchronous endpoint that commits the request's session (``get_db``) in its own worker
    thread once it has returned, and runs what waits for the commit there too. An exception
    leaves the transaction to ``get_db`` (rolled back, or committed for an ``AppError`` that
    asks for it)."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session):
                commit_session(value)
                break
        return result

    return run


DbSession = Annotated[Session, Depends(get_db, scope="function")]


@dataclass
class Principal:
    user: User
    session_id: int
    org: Organization
    _scope: list[int] | None = field(default=None, repr=False)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    def scope_org_ids(self, db: Session) -> list[int]:
        """Admins: their organisation's subtree. Workers: their own organisation."""
        if self._scope is None:
            self._scope = org_service.subtree_ids(db, self.org) if self.is_admin else [self.org.id]
        return self._scope

    def can_see_org(self, db: Session, org_id: int | None) -> bool:
        return org_id is not None and org_id in self.scope_org_ids(db)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    cookie = request.cookies.get("bs_access")
    if cookie and request.method not in ("GET", "HEAD", "OPTIONS") and not getattr(request.state, "csrf_ok", False):
        # The browser clients' cookie session: a changing request must echo the CSRF cookie
        # in a header (double submit); a cross-site form cannot read the cookie to do so. The
        # console's own forms carry it in a field instead (checked by ``web.common.check_csrf``).
        expected = request.cookies.get("bs_csrf")
        sent = request.headers.get("x-csrf-token")
        if not expected or not sent or not secrets.compare_digest(expected, sent):
            raise errors.Forbidden("csrf_failed")
    return cookie or None


PASSWORD_EXEMPT = {("POST", "/api/auth/password"), ("POST", "/api/auth/logout"), ("GET", "/api/users/me")}


#: The session, its account with its profiles and the account's organisation in one statement,
#: built once (every request runs it; the profiles would otherwise be three more look-ups).
_PRINCIPAL = (
    select(User, Organization)
    .join(Organization, Organization.id == User.org_id)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(
        AuthSession.id == bindparam("session_id"),
        User.id == bindparam("user_id"),
        AuthSession.revoked_at.is_(None),
    )
    .options(joinedload(User.admin_profile), joinedload(User.worker_profile), joinedload(User.vehicle))
)


def _load_principal(request: Request, db: Session, *, allow_pending: bool) -> Principal:
    token = _bearer(request)
    runtime: Runtime = request.app.state.runtime
    if not token:
        raise errors.Unauthenticated()
    claims = decode_access_token(runtime.settings.jwt_secret, token)
    if claims is None:
        raise errors.Unauthenticated("invalid_token")
    try:
        user_id = int(claims["sub"])
        session_id = int(claims["sid"])
    except (TypeError, ValueError):
        raise errors.Unauthenticated("invalid_token") from None
    found = db.execute(_PRINCIPAL, {"session_id": session_id, "user_id": user_id}).first()
    if found is None:
        raise errors.Unauthenticated("invalid_token")
    user, org = found
    if user.status not in (UserStatus.ACTIVE, UserStatus.PENDING_APPROVAL):
        raise errors.Unauthenticated("invalid_token")
    if user.status == UserStatus.PENDING_APPROVAL and not allow_pending:
        raise errors.Forbidden("pending_approval")
    if user.role in ADMIN_ROLES and (request.method, request.url.path) not in PASSWORD_EXEMPT:
        profile = user.admin_profile
        max_age = timedelta(days=runtime.settings.password_max_age_days)
        if profile is not None and profile.password_changed_at + max_age <= utcnow():
            raise errors.PasswordExpired()
    principal = Principal(user=user, session_id=session_id, org=org)
    request.state.principal = principal
    request.state.user_id = user.id  # plain values for logs (the session closes first)
    request.state.user_org_id = user.org_id
    return principal


def get_principal(request: Request, db: DbSession) -> Principal:
    """An ACTIVE account (pending citizens get 403)."""
    return _load_principal(request, db, allow_pending=False)


def get_principal_or_pending(request: Request, db: DbSession) -> Principal:
    """Also lets a PENDING_APPROVAL citizen through (its own profile, roles, notifications)."""
    return _load_principal(request, db, allow_pending=True)


CurrentUser = Annotated[Principal, Depends(get_principal)]
CurrentUserOrPending = Annotated[Principal, Depends(get_principal_or_pending)]


def require_roles(*roles: Role) -> Callable[..., Principal]:
    allowed = frozenset(roles)

    def dependency(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise errors.Forbidden()
        return principal

    return dependency


AdminUser = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]
