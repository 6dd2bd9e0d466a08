"""The statistics operations in the OpenAPI document: enveloped JSON (or the xlsx file), every
error status with the error envelope, no 422, the query parameters and their limits."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.http import ERROR_STATUSES
from beachsaver.statistics.export import XLSX_MEDIA_TYPE

ENVELOPE_KEYS = {"success", "data", "error", "meta"}
PATHS = [
    "/api/statistics",
    "/api/statistics/export",
    "/api/statistics/map",
    "/api/statistics/dashboard",
    "/api/users/me/performance",
]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_operations_are_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in PATHS:
        op = schema["paths"][path]["get"]
        assert "422" not in op["responses"], path
        for status in ERROR_STATUSES:
            assert op["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorEnvelope"
            }, (path, status)
        content = op["responses"]["200"]["content"]
        if path.endswith("/export"):
            assert list(content) == [XLSX_MEDIA_TYPE]
            continue
        body = resolve(schema, content["application/json"]["schema"])
        assert set(body["properties"]) == ENVELOPE_KEYS, path
    params = {p["name"]: p for p in schema["paths"]["/api/statistics"]["get"]["parameters"]}
    assert set(params) == {"from", "to", "org_id", "beach_id", "type", "group_by", "period"}
    assert params["org_id"]["schema"]["anyOf"][0]["exclusiveMinimum"] == 0
    group_by = resolve(schema, params["group_by"]["schema"])
    assert group_by["enum"] == ["period", "org", "beach", "team", "user", "trash_type"]
    export_params = {p["name"] for p in schema["paths"]["/api/statistics/export"]["get"]["parameters"]}
    assert "columns" in export_params
    map_params = {p["name"]: p for p in schema["paths"]["/api/statistics/map"]["get"]["parameters"]}
    assert map_params["layer"]["required"] is True
