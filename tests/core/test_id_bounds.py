"""Regression (found by the API fuzzing drill): a row id or page number past 2^63 reached the
database driver, which cannot bind it (SQLite: ``OverflowError``) — a 500. Every id in a path or
query and the page number are bounded, so such a number is a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import Role
from beachsaver.orgs import service as org_service
from tests.factories import auth, make_user, token_for

HUGE = str(2**70)
MAX_ID = 2**63 - 1


def _integer_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    options = schema.get("anyOf") or [schema]
    return [s for s in options if s.get("type") == "integer"]


def test_every_id_and_page_parameter_declares_its_bounds(app: Any) -> None:
    unbounded = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                name, where = param["name"], param["in"]
                if not (where == "path" or name == "page" or name.endswith("_id")):
                    continue
                for schema in _integer_schemas(param.get("schema", {})):
                    maximum = schema.get("maximum", schema.get("exclusiveMaximum"))
                    if maximum is None or maximum > MAX_ID:
                        unbounded.append(f"{method.upper()} {path} {where}.{name}")
    assert unbounded == []


def _unbounded_integers(
    schema: dict[str, Any], components: dict[str, Any], where: str, seen: frozenset[str]
) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _unbounded_integers(components[name], components, where, seen | {name})
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += _unbounded_integers(sub, components, where, seen)
    if schema.get("type") == "integer" and "maximum" not in schema and "exclusiveMaximum" not in schema:
        found.append(where)
    if schema.get("type") == "array" and "items" in schema:
        found += _unbounded_integers(schema["items"], components, f"{where}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded_integers(sub, components, f"{where}.{name}", seen)
    return found


def test_every_integer_of_every_request_body_declares_a_maximum(app: Any) -> None:
    document = app.openapi()
    components = document["components"]["schemas"]
    unbounded = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                where = f"{method.upper()} {path} ({media}) body"
                unbounded += _unbounded_integers(content.get("schema", {}), components, where, frozenset())
    assert unbounded == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/organizations", {"name": "시", "code": "C9", "type": "CITY", "parent_id": 2**70}, "parent_id"),
        ("/api/users", {"nickname": "새사람", "phone": "01055550000", "role": "CLEANER", "org_id": 2**70}, "org_id"),
        ("/api/auth/select", {"selection_token": "x" * 20, "user_id": 2**70}, "user_id"),
    ],
)
def test_an_id_past_the_range_in_a_body_is_a_400_naming_it(
    client: TestClient, db: Any, path: str, body: dict[str, Any], field: str
) -> None:
    admin = make_user(db, Role.PLATFORM_ADMIN, org_service.ensure_root(db))
    token = token_for(db, admin)
    db.commit()
    response = client.post(path, headers=auth(token), json=body)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/api/reports/{HUGE}", "path.report_id"),
        ("POST", f"/api/reports/{HUGE}/contributions", "path.report_id"),
        ("DELETE", f"/api/reports/1/contributions/{HUGE}", "path.contribution_id"),
        ("GET", f"/api/collection-depots/{HUGE}", "path.depot_id"),
        ("GET", f"/api/organizations/{HUGE}", "path.org_id"),
        ("GET", f"/api/users/{HUGE}", "path.user_id"),
        ("POST", f"/api/users/phone-changes/{HUGE}/approve", "path.request_id"),
        ("GET", f"/api/ops/incidents/{HUGE}", "path.incident_id"),
        ("GET", f"/api/users?page={HUGE}", "query.page"),
        ("GET", f"/api/users?org_id={HUGE}", "query.org_id"),
        ("GET", f"/api/reports?beach_id={HUGE}", "query.beach_id"),
        ("GET", f"/api/collection-depots?report_id={HUGE}", "query.report_id"),
        ("GET", f"/api/organizations?parent_id={HUGE}", "query.parent_id"),
        ("GET", f"/api/logs?user_id={HUGE}", "query.user_id"),
        ("GET", f"/api/slots?page={HUGE}", "query.page"),
    ],
)
def test_a_number_past_the_id_range_is_a_400_naming_it(
    client: TestClient, db: Any, method: str, path: str, field: str
) -> None:
    admin = make_user(db, Role.PLATFORM_ADMIN, org_service.ensure_root(db))
    token = token_for(db, admin)
    db.commit()
    body = {"reason": "x"} if path.endswith("/approve") else None
    response = client.request(method, path, headers=auth(token), json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in error["details"]], error


def test_a_page_far_past_the_end_is_still_an_empty_list(client: TestClient, db: Any) -> None:
    admin = make_user(db, Role.PLATFORM_ADMIN, org_service.ensure_root(db))
    token = token_for(db, admin)
    db.commit()
    response = client.get("/api/users", params={"page": 1_000_000_000, "size": 100}, headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []
