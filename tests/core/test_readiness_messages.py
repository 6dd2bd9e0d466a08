"""Regression (found by the API fuzzing drill): a delivery backlog failed readiness with code
``INTERNAL_ERROR`` (D27) but the storage message ("file storage is unavailable")."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from beachsaver.ops.readiness import queue_readiness


def test_a_queue_backlog_says_internal_error_not_storage(app: Any, client: TestClient) -> None:
    def backlog(runtime: Any) -> dict[str, Any]:
        result = dict(queue_readiness(runtime))
        assert result["ok"] is True  # nothing queued here: pretend the oldest waits 10 minutes
        return {"ok": False, "pending": 3, "oldest_s": 600, "error_code": "INTERNAL_ERROR"}

    app.state.readiness_checks = {**app.state.readiness_checks, "queue": backlog}
    for lang, message in (("ko", "일시적인 오류가 발생했습니다."), ("en", "An unexpected error occurred.")):
        response = client.get("/health/ready", headers={"Accept-Language": lang})
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "INTERNAL_ERROR"
        assert error["message"] == message
        assert [d["field"] for d in error["details"]] == ["components.queue"]


def test_a_storage_failure_keeps_its_own_message(app: Any, client: TestClient) -> None:
    app.state.readiness_checks = {
        **app.state.readiness_checks,
        "storage": lambda runtime: {"ok": False, "error_code": "STORAGE_UNAVAILABLE"},
    }
    response = client.get("/health/ready", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "STORAGE_UNAVAILABLE",
        "message": "File storage is unavailable.",
        "trace_id": response.headers["x-trace-id"],
        "details": [{"field": "components.storage", "message": response.json()["error"]["details"][0]["message"]}],
    }
