"""The OpenAPI document and /docs (02-api, 07 §2–3): served in every environment, no 422, every
API operation documents its error statuses with the ErrorEnvelope schema, no CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core import http
from beachsaver.core.http import ERROR_STATUSES
from tests.conftest import make_settings

ENVELOPE_KEYS = {"success", "data", "error", "meta"}


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert "success" not in body  # not enveloped
    return body


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_no_422_anywhere(schema: dict[str, Any]) -> None:
    for path, method, op in operations(schema):
        assert "422" not in op["responses"], (method, path)
    text = json.dumps(schema)
    assert "HTTPValidationError" not in text
    assert '"ValidationError"' not in text


def test_every_api_operation_documents_its_errors_with_the_error_envelope(schema: dict[str, Any]) -> None:
    ops = [(p, m, op) for p, m, op in operations(schema) if p.startswith(("/api", "/health"))]
    assert len(ops) > 20
    for path, method, op in ops:
        for status in ERROR_STATUSES:
            response = op["responses"].get(status)
            assert response is not None, (method, path, status)
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorEnvelope"
            }, (method, path, status)


def test_error_envelope_schema(schema: dict[str, Any]) -> None:
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope["properties"]) == ENVELOPE_KEYS
    assert "error" in envelope["required"]
    error = resolve(schema, envelope["properties"]["error"])
    assert set(error["properties"]) == {"code", "message", "trace_id", "details"}
    assert set(error["required"]) == {"code", "message", "trace_id"}


def test_success_responses_use_the_envelope_schema(schema: dict[str, Any]) -> None:
    for path, method, op in operations(schema):
        if not path.startswith(("/api", "/health")):
            continue
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            assert status in ("200", "201"), (method, path, status)  # never 204
            content = response.get("content", {})
            if "application/json" not in content:
                # File downloads (xlsx, images) are not enveloped (07 §3).
                assert content, (method, path, status)
                continue
            body = resolve(schema, content["application/json"]["schema"])
            assert set(body.get("properties", {})) == ENVELOPE_KEYS, (method, path, status)


def test_bearer_token_is_declared(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <access_token> from /api/auth/verify or /api/auth/admin/verify",
    }


def test_paging_limits_are_documented(schema: dict[str, Any]) -> None:
    params = {p["name"]: p for p in schema["paths"]["/api/users"]["get"]["parameters"]}
    assert params["page"]["schema"]["minimum"] == 1
    assert params["size"]["schema"]["minimum"] == 1
    assert params["size"]["schema"]["maximum"] == 100
    assert params["size"]["schema"]["default"] == 20


def test_health_and_version_are_documented_enveloped(schema: dict[str, Any]) -> None:
    for path in ("/health", "/health/ready", "/api/version"):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert set(resolve(schema, ok)["properties"]) == ENVELOPE_KEYS
    version = resolve(
        schema, schema["paths"]["/api/version"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    )
    data = version["properties"]["data"]
    options = data.get("anyOf", [data])
    version_schema = resolve(schema, next(o for o in options if o.get("type") != "null"))
    assert set(version_schema["properties"]) == {"version", "git_sha", "env"}


# ---- /docs without a CDN ---------------------------------------------------------------------

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_docs_page_loads_only_local_assets(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not EXTERNAL.search(html), html
    assert "cdn" not in html.lower()
    assert "/openapi.json" in html
    assets = re.findall(r"""(?:src|href)="(/docs/assets/[^"]+)\"""", html)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 100, asset
    assert (
        client.get("/docs/assets/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


def test_swagger_ui_assets_come_from_the_vendored_package() -> None:
    assets = http.swagger_ui_assets()
    assert assets is not None, "the swagger-ui-bundle package must be installed (see docs/decisions.md)"
    assert (assets / "swagger-ui-bundle.js").is_file()
    # Swagger UI 5 or later renders OpenAPI 3.1, the version FastAPI writes.
    bundle = (assets / "swagger-ui-bundle.js").read_text(encoding="utf-8", errors="replace")
    assert "3.1" in bundle and "openapi" in bundle.lower()
    assert re.search(r"swagger-ui-(\d+)\.", str(assets)) is not None
    assert int(re.search(r"swagger-ui-(\d+)\.", str(assets)).group(1)) >= 5  # type: ignore[union-attr]


def test_unknown_docs_asset_is_a_not_found_envelope(client: TestClient) -> None:
    r = client.get("/docs/assets/nothing.js")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_redoc_is_not_served_because_it_needs_a_cdn(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


def test_oauth2_redirect_page_is_local(client: TestClient) -> None:
    r = client.get("/docs/oauth2-redirect")
    assert r.status_code == 200
    assert not EXTERNAL.search(r.text)


def test_docs_without_the_package_still_avoid_any_cdn(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from beachsaver.app import create_app

    monkeypatch.setattr(http, "swagger_ui_assets", lambda: None)
    application = create_app(make_settings(database, tmp_path), run_startup=False)
    with TestClient(application) as plain:
        r = plain.get("/docs")
        assert r.status_code == 200
        assert not EXTERNAL.search(r.text)
        assert 'href="/openapi.json"' in r.text
        assert plain.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
    application.state.runtime.engine.dispose()


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_docs_and_openapi_are_served_outside_dev(database: str, tmp_path: Path, env_name: str, backend: str) -> None:
    from beachsaver.app import create_app

    # On the SQLite run a MySQL URL that is never connected: /docs and /openapi.json need no database.
    url = "mysql://beachsaver@127.0.0.1:1/none" if backend == "sqlite" else database
    settings = make_settings(
        url,
        tmp_path,
        env=env_name,
        dev_outbox="false",
        auto_migrate="false",
    )
    application = create_app(settings, run_startup=False)
    with TestClient(application) as plain:
        assert plain.get("/openapi.json").status_code == 200
        assert plain.get("/docs").status_code == 200
        version = plain.get("/api/version").json()["data"]
        assert version["env"] == env_name
        assert plain.get("/api/dev/messages").status_code == 404
    application.state.runtime.engine.dispose()
