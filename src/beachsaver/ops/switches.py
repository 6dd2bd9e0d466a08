"""Maintenance mode and per-feature kill switches (07 §11).

The switches live in the database so every replica sees them; each process caches them for
at most ``CACHE_S`` seconds, so a change reaches all replicas within 5 s.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from beachsaver.audit import service as audit
from beachsaver.core.runtime import Runtime
from beachsaver.ops.models import FeatureSwitch

CACHE_S = 2.0
MAINTENANCE = "maintenance"
FEATURES = ("signup", "sync", "import", "export", "upload", "broadcast")

# (method or None for any, path prefix) → feature
FEATURE_ROUTES: list[tuple[str | None, str, str]] = [
    ("POST", "/api/users/volunteer", "signup"),
    ("POST", "/api/reports/sync", "sync"),
    ("POST", "/api/users/import", "import"),
    ("GET", "/api/users/export", "export"),
    ("GET", "/api/statistics/export", "export"),
    ("GET", "/api/statistics/report.pdf", "export"),
    ("POST", "/api/images", "upload"),
    ("POST", "/api/notifications/broadcast", "broadcast"),
]
ALWAYS_OPEN = ("/health", "/metrics", "/api/version", "/openapi.json", "/docs")


@dataclass(frozen=True)
class SwitchState:
    maintenance: str | None  # None, "on" or "read-only"
    message: str | None
    disabled: frozenset[str]


class SwitchCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = SwitchState(None, None, frozenset())
        self._loaded_at = 0.0

    def fresh(self) -> bool:
        return time.monotonic() - self._loaded_at < CACHE_S

    def get(self, runtime: Runtime) -> SwitchState:
        """The switches, read again when older than ``CACHE_S``. Blocking (a database read):
        call it from a worker thread. While one thread reads, the others keep the last state."""
        now = time.monotonic()
        if now - self._loaded_at < CACHE_S:
            return self._state
        if not self._lock.acquire(blocking=False):
            return self._state
        try:
            if now - self._loaded_at >= CACHE_S:
                try:
                    with runtime.session_factory() as db:
                        self._state = load(db)
                        db.rollback()
                except Exception:
                    pass
                self._loaded_at = now
        finally:
            self._lock.release()
        return self._state

    async def aget(self, runtime: Runtime) -> SwitchState:
        """``get`` for the event loop: the database read runs in a worker thread, never on the
        loop (a read waiting for SQLite's write lock there would stall every request)."""
        if self.fresh():
            return self._state
        return await run_in_threadpool(self.get, runtime)

    def invalidate(self) -> None:
        self._loaded_at = 0.0


def load(db: Session) -> SwitchState:
    rows = list(db.execute(select(FeatureSwitch)).scalars())
    maintenance = next((r for r in rows if r.name == MAINTENANCE and r.enabled), None)
    return SwitchState(
        maintenance=maintenance.mode or "on" if maintenance else None,
        message=maintenance.message if maintenance else None,
        disabled=frozenset(r.name for r in rows if r.name != MAINTENANCE and not r.enabled),
    )


def set_maintenance(
    db: Session, *, on: bool, read_only: bool = False, message: str | None = None, by: str = "cli"
) -> None:
    row = db.get(FeatureSwitch, MAINTENANCE) or FeatureSwitch(name=MAINTENANCE)
    row.enabled = on
    row.mode = ("read-only" if read_only else "on") if on else None
    row.message = message
    row.updated_by = by
    db.add(row)
    audit.record(db, "OPS_MAINTENANCE", actor_id=None, after={"on": on, "mode": row.mode, "by": by})


def set_feature(db: Session, name: str, *, enabled: bool, message: str | None = None, by: str = "cli") -> None:
    if name not in FEATURES:
        raise ValueError(f"unknown feature {name!r}; one of {', '.join(FEATURES)}")
    row = db.get(FeatureSwitch, name) or FeatureSwitch(name=name)
    row.enabled = enabled
    row.message = message
    row.updated_by = by
    db.add(row)
    audit.record(db, "OPS_FEATURE", actor_id=None, after={"feature": name, "enabled": enabled, "by": by})


#: Open during maintenance: the admin sign-in (the service lets only platform admins finish it).
ADMIN_SIGN_IN = ("/api/auth/admin/", "/admin/login", "/admin/password")


def blocked_by(state: SwitchState, method: str, path: str, *, platform_admin: bool = False) -> str | None:
    """The reason a request is refused (``maintenance``, ``read-only`` or a feature), else None.

    Platform admins keep working through maintenance (they are the ones checking the service)."""
    if path.startswith(ALWAYS_OPEN) or not (
        path.startswith("/api") or path.startswith("/admin") or path.startswith("/app")
    ):
        return None
    if state.maintenance == "on" and not platform_admin and not path.startswith(ADMIN_SIGN_IN):
        return "maintenance"
    if (
        state.maintenance == "read-only"
        and not platform_admin
        and method not in ("GET", "HEAD", "OPTIONS")
        and not path.startswith("/api/auth/")
    ):
        return "read-only"
    for feature_method, prefix, feature in FEATURE_ROUTES:
        if feature in state.disabled and path.startswith(prefix) and (feature_method in (None, method)):
            return feature
    return None


class SwitchMiddleware:
    """Answers 503 MAINTENANCE for what maintenance mode or a kill switch blocks."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.cache = SwitchCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = await self.cache.aget(self.runtime)
            path = scope.get("path", "")
            platform_admin = state.maintenance is not None and self._platform_admin(scope)
            reason = blocked_by(state, scope.get("method", "GET"), path, platform_admin=platform_admin)
            if reason is not None and path.startswith(("/admin", "/app")):
                await self._page(scope, receive, send, state, reason)
                return
            if reason is not None:
                from starlette.requests import Request

                from beachsaver.core.http import error_response
                from beachsaver.core.i18n import pick_language, translate

                request = Request(scope)
                lang = pick_language(request.headers.get("accept-language"))
                message = state.message or translate(
                    "maintenance" if reason in ("maintenance", "read-only") else "feature_off", lang
                )
                response = error_response(
                    request,
                    "MAINTENANCE",
                    503,
                    message,
                    details=[{"field": "feature", "message": reason}],
                    headers={"Retry-After": "300"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _platform_admin(self, scope: Scope) -> bool:
        """The request carries a valid platform admin's access token (header or the console's
        cookie). The route still checks the session in full; this only decides on maintenance."""
        from starlette.requests import Request

        from beachsaver.core.security import decode_access_token

        request = Request(scope)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else request.cookies.get("bs_access", "")
        claims = decode_access_token(self.runtime.settings.jwt_secret, token) if token else None
        return bool(claims and claims.get("role") == "PLATFORM_ADMIN")

    async def _page(self, scope: Scope, receive: Receive, send: Send, state: SwitchState, reason: str) -> None:
        """The browser clients get a page, not an envelope."""
        from html import escape

        from starlette.requests import Request
        from starlette.responses import HTMLResponse

        from beachsaver.core.i18n import pick_language, translate

        request = Request(scope)
        lang = request.cookies.get("bs_lang") or pick_language(request.headers.get("accept-language"))
        key = "maintenance" if reason in ("maintenance", "read-only") else "feature_off"
        message = escape(state.message or translate(key, lang))
        body = (
            f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(translate(key, lang))}</title><link rel="stylesheet" href="/web/static/css/base.css">'
            f'</head><body><main id="main" class="centered"><section class="card"><h1>{message}</h1>'
            "</section></main></body></html>"
        )
        await HTMLResponse(body, status_code=503, headers={"Retry-After": "300"})(scope, receive, send)
