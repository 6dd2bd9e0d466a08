"""A database that is down answers 503 DB_UNAVAILABLE, never a stack trace (03-operations §9)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.i18n import MESSAGES
from tests.conftest import make_settings


def closed_port() -> int:
    """A local port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def down_client(tmp_path: Path) -> Iterator[TestClient]:
    from beachsaver.app import create_app

    url = f"mysql://beachsaver:db-pass-Zq81@127.0.0.1:{closed_port()}/beachsaver"
    application = create_app(make_settings(url, tmp_path), run_startup=False)
    with TestClient(application, raise_server_exceptions=False) as client:
        yield client
    application.state.runtime.engine.dispose()


def assert_db_unavailable(response: Any, lang: str = "ko") -> dict[str, Any]:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["success"] is False and body["data"] is None and body["meta"] is None
    error: dict[str, Any] = body["error"]
    assert error["code"] == "DB_UNAVAILABLE"
    assert error["message"] == MESSAGES["db_unavailable"][lang]
    assert error["trace_id"] == response.headers["x-trace-id"]
    assert response.headers["retry-after"] == "5"
    for leak in ("127.0.0.1", "db-pass-Zq81", "pymysql", "Traceback", "Can't connect", "SELECT"):
        assert leak not in response.text
    return error


def test_public_endpoint_answers_503(down_client: TestClient) -> None:
    assert_db_unavailable(down_client.post("/api/auth/login", json={"phone": "01012345678"}))
    assert_db_unavailable(
        down_client.post("/api/auth/login", json={"phone": "01012345678"}, headers={"Accept-Language": "en"}), "en"
    )


def test_authenticated_endpoint_answers_503(down_client: TestClient) -> None:
    from beachsaver.core.security import decode_access_token, issue_access_token

    settings = down_client.app.state.settings  # type: ignore[attr-defined]
    token = issue_access_token(settings.jwt_secret, user_id=1, session_id=1, role="PLATFORM_ADMIN", ttl_s=600)
    assert decode_access_token(settings.jwt_secret, token) is not None  # a valid token: the database is asked
    assert_db_unavailable(down_client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}))
    assert_db_unavailable(down_client.get("/api/organizations", headers={"Authorization": f"Bearer {token}"}))


def test_readiness_names_the_database_and_liveness_stays_up(down_client: TestClient) -> None:
    error = assert_db_unavailable(down_client.get("/health/ready"))
    assert error["details"] == [{"field": "components.db", "message": MESSAGES["component_unavailable"]["ko"]}]
    live = down_client.get("/health")
    assert live.status_code == 200
    assert live.json()["data"]["status"] == "ok"
    assert down_client.get("/api/version").status_code == 200
    assert down_client.get("/openapi.json").status_code == 200
