"""Liveness, readiness, version and metrics endpoints."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from beachsaver import __version__
from beachsaver.core.envelope import Envelope, ok
from beachsaver.core.http import ApiRoute, error_response, request_language
from beachsaver.core.i18n import translate

log = logging.getLogger("beachsaver.health")

router = APIRouter(tags=["operations"], route_class=ApiRoute)


class HealthOut(BaseModel):
    status: str
    version: str
    git_sha: str


class VersionOut(BaseModel):
    version: str
    git_sha: str
    env: str


class ReadyOut(BaseModel):
    status: str
    components: dict[str, dict[str, Any]]


@router.get("/health", response_model=Envelope[HealthOut], summary="Liveness")
def health(request: Request) -> dict[str, Any]:
    return ok({"status": "ok", "version": __version__, "git_sha": request.app.state.runtime.settings.git_sha})


@router.get("/health/ready", response_model=Envelope[ReadyOut], summary="Readiness")
def ready(request: Request) -> Any:
    """200 when the database answers a real query and every registered check passes; else 503
    naming the failing component (``error.details[].field`` = ``components.<name>``)."""
    runtime = request.app.state.runtime
    lang = request_language(request)
    components: dict[str, dict[str, Any]] = {}
    if getattr(request.app.state, "draining", False):
        return _not_ready(request, "MAINTENANCE", "maintenance", "service", lang)
    started = time.perf_counter()
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        components["db"] = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:
        log.warning("readiness: database check failed: %s", type(exc).__name__)
        return _not_ready(request, "DB_UNAVAILABLE", "db_unavailable", "db", lang)
    for name, check in getattr(request.app.state, "readiness_checks", {}).items():
        try:
            result = dict(check(runtime))
        except Exception as exc:
            log.warning("readiness: %s check failed: %s", name, type(exc).__name__)
            result = {"ok": False}
        components[name] = result
        if not result.get("ok"):
            code = str(result.get("error_code", "STORAGE_UNAVAILABLE"))
            key = {
                "DB_UNAVAILABLE": "db_unavailable",
                "MAINTENANCE": "maintenance",
                "INTERNAL_ERROR": "internal_error",  # a queue backlog (D27): not a storage message
            }.get(code, "storage_unavailable")
            return _not_ready(request, code, key, name, lang)
    components.setdefault("storage", {"ok": True})
    components.setdefault("queue", {"ok": True, "pending": 0, "oldest_s": 0})
    return ok({"status": "ok", "components": components})


def _not_ready(request: Request, code: str, key: str, component: str, lang: str) -> Response:
    return error_response(
        request,
        code,
        503,
        translate(key, lang),
        [{"field": f"components.{component}", "message": translate("component_unavailable", lang)}],
        headers={"Retry-After": "5"},
    )


@router.get("/api/version", response_model=Envelope[VersionOut], summary="Version")
def version(request: Request) -> dict[str, Any]:
    settings = request.app.state.runtime.settings
    return ok({"version": __version__, "git_sha": settings.git_sha, "env": settings.env})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    token = request.app.state.runtime.settings.metrics_token
    if token and request.headers.get("authorization") != f"Bearer {token}":
        return PlainTextResponse("unauthorized", status_code=401)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
