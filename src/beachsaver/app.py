"""The application factory: one FastAPI app serving the API, the console and the worker app."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from beachsaver import __version__
from beachsaver.config import Settings, get_settings
from beachsaver.core.db import session_scope
from beachsaver.core.http import TraceMiddleware, customise_openapi, install_error_handlers
from beachsaver.core.metrics import HTTP_LATENCY, HTTP_REQUESTS
from beachsaver.core.runtime import Runtime, build_runtime
from beachsaver.core.server import AdmissionLimit
from beachsaver.core.trace import current_trace_id
from beachsaver.ops import metrics as ops_metrics

log = logging.getLogger("beachsaver.app")
access_log = logging.getLogger("beachsaver.access")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=()"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'",
    ),
]
DOCS_CSP = (
    b"default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline' https:; "
    b"script-src 'self' 'unsafe-inline' https:; frame-ancestors 'none'"
)


class SecurityHeadersAndMetrics:
    """Adds security headers and records request metrics labelled by route template."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}
        path: str = scope.get("path", "")

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS:
                    if key not in present:
                        if key == b"content-security-policy" and path in ("/docs", "/redoc"):
                            value = DOCS_CSP
                        headers.append((key, value))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            if not path.startswith("/health") and path != "/metrics":
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                method = scope.get("method", "GET")
                elapsed = time.perf_counter() - started
                status = status_holder["status"]
                HTTP_REQUESTS.labels(method=method, route=template, status=str(status)).inc()
                HTTP_LATENCY.labels(method=method, route=template).observe(elapsed)
                access_log.info(
                    "%s %s %s",
                    method,
                    template,
                    status,
                    extra={
                        "route": template,
                        "method": method,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                        "user_id": scope.get("state", {}).get("user_id"),
                        "trace_id": current_trace_id.get(),
                    },
                )


def startup_tasks(runtime: Runtime) -> None:
    """Migrate in dev, ensure the root organisation and the bootstrap platform admin."""
    from beachsaver.core.migrate import upgrade
    from beachsaver.users import service as user_service

    if runtime.settings.auto_migrate_enabled:
        upgrade(runtime.settings.resolved_database_url)
    with session_scope(runtime.session_factory) as db:
        user_service.bootstrap_platform_admin(db)


#: Requests inside one process at once unless configured (D35, D41): the handlers are Python,
#: bound by the CPU and the GIL, and a few threads at a time serve more than many.
DEFAULT_ADMISSION = 4


def admission_limit(settings: Settings) -> int:
    """``BEACHSAVER_ADMISSION_LIMIT``, else the smaller of the pool's size and DEFAULT_ADMISSION."""
    return settings.admission_limit or min(settings.db_pool_size, DEFAULT_ADMISSION)


def create_app(
    settings: Settings | None = None, *, run_startup: bool = True, configure_logging: bool = False
) -> FastAPI:
    settings = settings or get_settings()
    runtime = build_runtime(settings)
    if configure_logging:
        from beachsaver.core.logging import configure

        configure(settings.log_level, settings.log_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop_worker = None
        if run_startup:
            startup_tasks(runtime)
            from beachsaver.worker.loop import in_process_enabled, start_in_process

            if in_process_enabled(settings):
                stop_worker = start_in_process(runtime)
        yield
        app.state.draining = True
        if stop_worker is not None:
            stop_worker()
        runtime.engine.dispose()

    app = FastAPI(
        title="Beach-Saver API",
        version=__version__,
        description="Marine litter clean-up operations: field workflow, administration, operations.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    ops_metrics.install(runtime)
    app.state.settings = settings
    from beachsaver.ops.readiness import queue_readiness
    from beachsaver.storage import storage_readiness

    app.state.readiness_checks = {"storage": storage_readiness, "queue": queue_readiness}
    install_error_handlers(app)

    from beachsaver.audit.router import router as audit_router
    from beachsaver.auth.router import router as auth_router
    from beachsaver.beaches.router import router as beach_router
    from beachsaver.core.health import router as health_router
    from beachsaver.depots.router import router as depot_router
    from beachsaver.images.router import router as image_router
    from beachsaver.imports.router import router as import_router
    from beachsaver.jobs.router import router as job_router
    from beachsaver.messaging.router import router as dev_router
    from beachsaver.notifications.router import router as notification_router
    from beachsaver.ops.router import router as ops_router
    from beachsaver.orgs.router import router as org_router
    from beachsaver.reports.router import router as report_router
    from beachsaver.reports_pdf.router import router as pdf_router
    from beachsaver.statistics.router import router as statistics_router
    from beachsaver.teams.router import router as team_router
    from beachsaver.users.router import router as user_router

    for router in (
        health_router,
        auth_router,
        import_router,  # /api/users/import… and /export before /api/users/{user_id}
        pdf_router,
        statistics_router,  # /api/users/me/performance, /api/statistics…
        user_router,
        org_router,
        team_router,
        beach_router,
        report_router,
        depot_router,
        job_router,
        image_router,
        notification_router,
        audit_router,
        ops_router,
        dev_router,
    ):
        app.include_router(router)
    from beachsaver.web.session import install as install_web

    install_web(app)
    customise_openapi(app)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Trace-Id", "Accept-Language"],
            expose_headers=["X-Trace-Id", "Retry-After"],
        )
    from beachsaver.ops.switches import SwitchMiddleware

    app.add_middleware(SwitchMiddleware, runtime=runtime)
    app.add_middleware(AdmissionLimit, limit=admission_limit(settings))
    app.add_middleware(SecurityHeadersAndMetrics, hsts=settings.env == "prod")
    app.add_middleware(TraceMiddleware)
    return app
