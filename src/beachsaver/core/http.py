"""HTTP plumbing shared by every router: the route class, trace middleware, error mapping, docs.

All errors reach the client as the envelope of 02-api §1, through ``install_error_handlers``
(registered exceptions), ``ApiRoute`` (anything unexpected raised by an API route becomes the
500 ``AppError``, so that the transaction is rolled back and every header is still added) and
``TraceMiddleware`` (a last resort for anything that escapes elsewhere).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from beachsaver.core import errors
from beachsaver.core.context import client_ip
from beachsaver.core.i18n import pick_language, translate
from beachsaver.core.trace import current_trace_id, trace_id_from_headers

log = logging.getLogger("beachsaver.http")

MB = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media = _media_type(content_type)
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _is_form(content_type: str) -> bool:
    return _media_type(content_type) in ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_body_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it (413) as soon as it grows past ``limit`` bytes.

    The bytes are kept on the request, where FastAPI's own parsing picks them up.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge()
    cached: bytes | None = getattr(request, "_body", None)
    if cached is not None:
        if len(cached) > limit:
            raise errors.PayloadTooLarge()
        return cached
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLarge()
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


#: Exceptions answered by a registered handler (``install_error_handlers``); others are 500s.
HANDLED_EXCEPTIONS: tuple[type[BaseException], ...] = (
    errors.AppError,
    RequestValidationError,
    StarletteHTTPException,
    DBAPIError,
    PoolTimeoutError,
    DisconnectionError,
)


class ApiRoute(APIRoute):
    """Checks the content type and size of request bodies before FastAPI parses them, turns any
    unexpected exception into the 500 ``AppError`` (logged with its traceback), and lets a
    synchronous endpoint commit its session in its own worker thread (``deps.commit_on_return``)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            from beachsaver.core.deps import commit_on_return

            endpoint = commit_on_return(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        body_field = self.body_field
        expects_form = False
        if body_field is not None:
            from fastapi import params

            expects_form = isinstance(body_field.field_info, params.Form)

        async def handler(request: Request) -> Response:
            try:
                if request.method in BODY_METHODS:
                    await _check_body(request, has_body=body_field is not None, expects_form=expects_form)
                return await original(request)
            except HANDLED_EXCEPTIONS:
                raise
            except Exception as exc:
                # Logged here with its traceback, then raised again as the 500 AppError: it
                # still passes through the request's dependencies (``get_db`` rolls back) and is
                # answered by the AppError handler inside the middleware stack (all headers).
                log.error("unhandled error (trace %s)", current_trace_id.get(), exc_info=exc)
                raise errors.AppError() from exc

        return handler


async def _check_body(request: Request, *, has_body: bool, expects_form: bool) -> None:
    settings = request.app.state.settings
    limit = (settings.max_upload_mb + 1) * MB if expects_form else settings.max_json_mb * MB
    if not has_body:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise errors.PayloadTooLarge()
        return
    content_type = request.headers.get("content-type", "")
    body = await read_body_limited(request, limit)
    if expects_form:
        if (body or content_type) and not _is_form(content_type):
            raise errors.UnsupportedMediaType()
        return
    if body and not _is_json(content_type):
        raise errors.UnsupportedMediaType()
    if body:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.ValidationFailed.field("body", "body_not_utf8") from None


class TraceMiddleware:
    """Sets the trace id for the request and adds ``X-Trace-Id`` to every response.

    Also the last resort for unexpected exceptions: when one escapes before the response has
    started, it answers the 500 envelope itself (no stack trace leaves the process).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        trace_id = trace_id_from_headers(headers.get("x-trace-id"), headers.get("traceparent"))
        token = current_trace_id.set(trace_id)
        client = scope.get("client")
        ip_token = client_ip.set(client[0] if client else None)
        scope.setdefault("state", {})["trace_id"] = trace_id
        started = False

        async def send_with_trace(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-trace-id"]
                raw.append((b"x-trace-id", trace_id.encode("latin-1")))
                message["headers"] = raw
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception as exc:
            if started:
                raise
            log.error("unhandled error", exc_info=exc)
            lang = pick_language(headers.get("accept-language"))
            response = JSONResponse(
                status_code=500,
                content=error_body("INTERNAL_ERROR", translate("internal_error", lang), trace_id),
            )
            await response(scope, receive, send_with_trace)
        finally:
            current_trace_id.reset(token)
            client_ip.reset(ip_token)


# ---- validation details ----------------------------------------------------------------------

#: Catalogue keys (``core/i18n.py``) for pydantic's error types; their placeholders are filled
#: from the error's context (``{ge}``, ``{max_length}``, …). Other types keep pydantic's text.
PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "field_required",
    "extra_forbidden": "field_unknown",
    "json_invalid": "body_not_json",
    "int_parsing": "must_be_integer",
    "int_type": "must_be_integer",
    "int_from_float": "must_be_integer",
    "float_parsing": "must_be_number",
    "float_type": "must_be_number",
    "decimal_parsing": "must_be_number",
    "decimal_type": "must_be_number",
    "finite_number": "must_be_number",
    "bool_parsing": "must_be_boolean",
    "bool_type": "must_be_boolean",
    "string_type": "must_be_string",
    "string_too_short": "string_too_short",
    "string_too_long": "string_too_long",
    "string_pattern_mismatch": "invalid_format",
    "greater_than": "greater_than",
    "greater_than_equal": "greater_than_equal",
    "less_than": "less_than",
    "less_than_equal": "less_than_equal",
    "decimal_max_places": "decimal_max_places",
    "decimal_max_digits": "decimal_max_digits",
    "enum": "must_be_one_of",
    "literal_error": "must_be_one_of",
    "too_short": "too_few_items",
    "too_long": "too_many_items",
    "list_type": "must_be_list",
    "dict_type": "must_be_object",
    "model_type": "must_be_object",
    "model_attributes_type": "must_be_object",
    "datetime_parsing": "invalid_datetime",
    "datetime_type": "invalid_datetime",
    "datetime_from_date_parsing": "invalid_datetime",
    "timezone_aware": "datetime_needs_offset",
    "date_parsing": "invalid_date",
    "date_type": "invalid_date",
    "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date",
    "uuid_parsing": "invalid_uuid",
    "uuid_type": "invalid_uuid",
    "url_parsing": "invalid_url",
    "url_type": "invalid_url",
}


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "areas", 0, "start_latitude")`` → ``areas[0].start_latitude``;
    ``("query", "page")`` → ``query.page``; the body itself → ``body``."""
    parts = list(loc)
    if not parts:
        return "body"
    head = parts.pop(0)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-", "union[", "tagged-union[", "json-or-python[", "lax-or-strict[")):
            continue
        else:
            path += f".{part}" if path else str(part)
    if head in ("query", "path", "header", "cookie"):
        return f"{head}.{path}" if path else str(head)
    return path or "body"


def _message_for(err: dict[str, Any], lang: str) -> str:
    kind = str(err.get("type", ""))
    key = PYDANTIC_MESSAGES.get(kind)
    if key is not None:
        ctx = {k: _ctx_text(v) for k, v in (err.get("ctx") or {}).items()}
        return translate(key, lang, **ctx)
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _ctx_text(value: Any) -> str:
    """A limit as people write it: ``90`` rather than ``90.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def validation_details(exc_errors: list[dict[str, Any]] | Any, lang: str) -> list[dict[str, str]]:
    """One ``{field, message}`` per problem, every problem listed, duplicates dropped."""
    details: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for err in exc_errors:
        field = "body" if err.get("type") == "json_invalid" else _loc_to_field(err.get("loc", ()))
        message = _message_for(err, lang)
        if (field, message) not in seen:
            seen.add((field, message))
            details.append({"field": field, "message": message})
    return details


# ---- error responses -------------------------------------------------------------------------


def error_body(code: str, message: str, trace_id: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "trace_id": trace_id}
    if details:
        body["details"] = details
    return {"success": False, "data": None, "error": body, "meta": None}


def error_response(
    request: Request,
    code: str,
    status: int,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    trace_id = current_trace_id.get() or getattr(request.state, "trace_id", "")
    return JSONResponse(status_code=status, content=error_body(code, message, trace_id, details), headers=headers)


def request_language(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"))


def internal_error_response(request: Request, exc: BaseException) -> JSONResponse:
    """The 500 envelope: the exception goes to the log (with the trace id), never to the client."""
    log.error("unhandled error (trace %s)", current_trace_id.get(), exc_info=exc)
    return error_response(request, "INTERNAL_ERROR", 500, translate("internal_error", request_language(request)))


#: Statuses Starlette/FastAPI raise as ``HTTPException``: (code, message key).
HTTP_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("VALIDATION_ERROR", "validation_error"),
    401: ("UNAUTHENTICATED", "unauthenticated"),
    403: ("FORBIDDEN", "forbidden"),
    404: ("NOT_FOUND", "not_found"),
    405: ("METHOD_NOT_ALLOWED", "method_not_allowed"),
    409: ("CONFLICT", "conflict"),
    413: ("PAYLOAD_TOO_LARGE", "payload_too_large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "unsupported_media_type"),
    423: ("LOCKED", "locked"),
    429: ("RATE_LIMITED", "rate_limited"),
    503: ("MAINTENANCE", "maintenance"),
}


def record_denied_access(request: Request, exc: errors.AppError) -> None:
    """01 §1: every denied access is logged — an ACCESS_DENIED audit entry in its own transaction
    (the request's own transaction has been rolled back)."""
    from beachsaver.audit import service as audit
    from beachsaver.core.db import session_scope

    route = request.scope.get("route")
    try:
        with session_scope(request.app.state.runtime.session_factory) as db:
            audit.record(
                db,
                "ACCESS_DENIED",
                actor_id=request.state.user_id,
                org_id=getattr(request.state, "user_org_id", None),
                after={
                    "method": request.method,
                    "route": getattr(route, "path", request.url.path),
                    "path": request.url.path,
                    "status": exc.status_code,
                    "code": exc.code,
                },
            )
    except Exception:
        log.warning("could not record a denied access", exc_info=True)
    log.info(
        "access denied",
        extra={"route": getattr(route, "path", None), "status": exc.status_code, "user_id": request.state.user_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.AppError)
        lang = request_language(request)
        details = None
        if exc.details:
            details = [
                {
                    "field": d["field"],
                    "message": translate(
                        d["message"], lang, **{k: v for k, v in d.items() if k not in ("field", "message")}
                    ),
                }
                for d in exc.details
            ]
        if exc.status_code >= 500 and exc.__cause__ is None:
            log.warning("request failed: %s", exc.code)
        if exc.status_code in (403, 404) and getattr(request.state, "user_id", None) is not None:
            await run_in_threadpool(record_denied_access, request, exc)
        return error_response(
            request,
            exc.code,
            exc.status_code,
            translate(exc.message_key, lang, **exc.params),
            details,
            exc.headers,
        )

    async def request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        lang = request_language(request)
        return error_response(
            request,
            "VALIDATION_ERROR",
            400,
            translate("validation_error", lang),
            validation_details(list(exc.errors()), lang),
        )

    async def http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        lang = request_language(request)
        status = exc.status_code
        if status in HTTP_STATUS_CODES:
            code, key = HTTP_STATUS_CODES[status]
        elif status >= 500:
            status, (code, key) = 500, ("INTERNAL_ERROR", "internal_error")
        else:
            status, (code, key) = 400, HTTP_STATUS_CODES[400]
        details = None
        if status == 400:
            # FastAPI raises a bare 400 when it cannot parse a body (e.g. a broken multipart form).
            details = [{"field": "body", "message": translate("body_unreadable", lang)}]
        return error_response(
            request, code, status, translate(key, lang), details, headers=getattr(exc, "headers", None)
        )

    async def integrity(request: Request, exc: Exception) -> Response:
        log.info("integrity error mapped to 409: %s", type(exc).__name__)
        return error_response(request, "CONFLICT", 409, translate("conflict", request_language(request)))

    async def data_error(request: Request, exc: Exception) -> Response:
        # A value the database refused (too long, out of range) that validation let through.
        log.warning("database refused a value: %s", type(exc).__name__)
        lang = request_language(request)
        return error_response(
            request,
            "VALIDATION_ERROR",
            400,
            translate("validation_error", lang),
            [{"field": "body", "message": translate("value_out_of_range", lang)}],
        )

    async def db_down(request: Request, exc: Exception) -> Response:
        log.error("database unavailable: %s", type(exc).__name__)
        return error_response(
            request,
            "DB_UNAVAILABLE",
            503,
            translate("db_unavailable", request_language(request)),
            headers={"Retry-After": "5"},
        )

    async def db_error(request: Request, exc: Exception) -> Response:
        # Any other database error is a bug: a 500 without the SQL.
        return internal_error_response(request, exc)

    async def unexpected(request: Request, exc: Exception) -> Response:
        return internal_error_response(request, exc)

    app.add_exception_handler(errors.AppError, app_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_exception)
    app.add_exception_handler(IntegrityError, integrity)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(OperationalError, db_down)
    app.add_exception_handler(InterfaceError, db_down)
    app.add_exception_handler(DisconnectionError, db_down)
    app.add_exception_handler(PoolTimeoutError, db_down)
    app.add_exception_handler(DBAPIError, db_error)
    app.add_exception_handler(Exception, unexpected)


# ---- OpenAPI and /docs -----------------------------------------------------------------------

ERROR_STATUSES = {
    "400": "VALIDATION_ERROR",
    "401": "UNAUTHENTICATED",
    "403": "FORBIDDEN / PASSWORD_EXPIRED",
    "404": "NOT_FOUND",
    "409": "CONFLICT / INVALID_STATE / DUPLICATE_SUSPECTED",
    "413": "PAYLOAD_TOO_LARGE",
    "415": "UNSUPPORTED_MEDIA_TYPE",
    "423": "LOCKED",
    "429": "RATE_LIMITED",
    "500": "INTERNAL_ERROR",
    "503": "DB_UNAVAILABLE / STORAGE_UNAVAILABLE / MAINTENANCE",
}
ENVELOPED_PREFIXES = ("/api", "/health")


def customise_openapi(app: FastAPI) -> None:
    """Drop FastAPI's 422, document every envelope error status of every API operation, declare
    the bearer token, and serve ``/docs`` without any CDN."""
    from fastapi.openapi.utils import get_openapi

    from beachsaver.core.envelope import ErrorEnvelope

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            routes=app.routes,
            description=app.description,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        error_schema = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in error_schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas["ErrorEnvelope"] = error_schema
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        components.setdefault("securitySchemes", {})["bearerAuth"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "Authorization: Bearer <access_token> from /api/auth/verify or /api/auth/admin/verify",
        }
        schema["security"] = [{"bearerAuth": []}, {}]
        ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
        for path, item in schema.get("paths", {}).items():
            for op in item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses = op["responses"]
                responses.pop("422", None)
                if not path.startswith(ENVELOPED_PREFIXES):
                    continue
                for status, desc in ERROR_STATUSES.items():
                    responses.setdefault(
                        status, {"description": desc, "content": {"application/json": {"schema": ref}}}
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
    install_docs(app)


DOCS_URL = "/docs"
DOCS_ASSETS_URL = "/docs/assets"
DOCS_OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def swagger_ui_assets() -> Path | None:
    """The Swagger UI files vendored by the ``swagger-ui-bundle`` package, when installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").is_file() else None


FALLBACK_DOCS_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} – API documentation</title></head>
<body>
<h1>{title}</h1>
<p>The interactive API browser needs the <code>swagger-ui-bundle</code> package, which is not
installed here. The OpenAPI document is at <a href="{openapi_url}">{openapi_url}</a>.</p>
</body></html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` from vendored files (never a CDN); drop ``/redoc`` (CDN-only)."""
    from starlette.staticfiles import StaticFiles

    replaced = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in replaced]
    app.docs_url = DOCS_URL
    app.redoc_url = None
    app.swagger_ui_oauth2_redirect_url = DOCS_OAUTH2_REDIRECT_URL
    openapi_url = app.openapi_url or "/openapi.json"
    assets = swagger_ui_assets()
    if assets is not None:
        app.mount(DOCS_ASSETS_URL, StaticFiles(directory=assets), name="swagger-ui-assets")

    def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(FALLBACK_DOCS_HTML.format(title=app.title, openapi_url=openapi_url))
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} – API documentation",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=DOCS_OAUTH2_REDIRECT_URL,
            swagger_ui_parameters={"persistAuthorization": True},
        )

    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)
    app.add_api_route(DOCS_OAUTH2_REDIRECT_URL, oauth2_redirect, methods=["GET"], include_in_schema=False)
