"""The wire conventions of 02-api §1 and 07 §3, checked on real endpoints."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.enums import Role
from beachsaver.core.i18n import MESSAGES
from beachsaver.orgs import service as org_service
from tests.factories import auth, make_city, make_district, make_user, token_for

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def platform_admin_token(db: Session) -> str:
    root = org_service.ensure_root(db)
    admin = make_user(db, Role.PLATFORM_ADMIN, root)
    token = token_for(db, admin)
    db.commit()
    return token


def worker_token(db: Session, role: Role = Role.INVESTIGATOR) -> str:
    district = make_district(db, make_city(db))
    user = make_user(db, role, district)
    token = token_for(db, user)
    db.commit()
    return token


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error envelope, exactly; ``X-Trace-Id`` equal to ``error.trace_id``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"success", "data", "error", "meta"}
    assert body["success"] is False
    assert body["data"] is None
    assert body["meta"] is None
    error = body["error"]
    assert set(error) <= {"code", "message", "trace_id", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error["trace_id"] == response.headers["x-trace-id"]
    return dict(error)


def fields_of(error: dict[str, Any]) -> list[str]:
    return [d["field"] for d in error.get("details", [])]


# ---- envelope on success ---------------------------------------------------------------------


def test_success_envelope_of_an_object(client: TestClient, db: Session) -> None:
    r = client.post("/api/auth/login", json={"phone": "01012345678"})
    assert r.status_code == 200
    assert r.json() == {"success": True, "data": {"expires_in": 180}, "error": None, "meta": None}
    assert HEX32.match(r.headers["x-trace-id"])


def test_success_envelope_of_a_plain_array(client: TestClient, db: Session) -> None:
    token = worker_token(db)
    r = client.get("/api/users/roles", headers=auth(token))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"success", "data", "error", "meta"}
    assert body["success"] is True and body["error"] is None and body["meta"] is None
    assert isinstance(body["data"], list) and len(body["data"]) == 1
    assert body["data"][0]["role"] == "INVESTIGATOR"


def test_organizations_are_a_flat_array(client: TestClient, db: Session) -> None:
    token = worker_token(db)
    r = client.get("/api/organizations", headers=auth(token))
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["error"] is None
    assert isinstance(body["data"], list) and len(body["data"]) == 3  # district, city, root
    assert set(body["data"][0]) == {"id", "name", "code", "type", "parent_id", "created_at"}


def test_list_envelope_has_page_meta(client: TestClient, db: Session) -> None:
    token = platform_admin_token(db)
    r = client.get("/api/users", headers=auth(token), params={"size": 1})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["error"] is None
    assert body["meta"] == {"page": 1, "size": 1, "total": 1, "total_pages": 1}
    assert len(body["data"]) == 1


def test_page_past_the_end_is_an_empty_array(client: TestClient, db: Session) -> None:
    token = platform_admin_token(db)
    r = client.get("/api/users", headers=auth(token), params={"page": 5, "size": 10})
    assert r.status_code == 200
    assert r.json()["data"] == []
    assert r.json()["meta"] == {"page": 5, "size": 10, "total": 1, "total_pages": 1}


def test_health_is_enveloped(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["error"] is None and body["meta"] is None
    assert body["data"]["status"] == "ok"
    assert set(body["data"]) == {"status", "version", "git_sha"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["success"] is True
    assert ready.json()["data"]["status"] == "ok"
    assert ready.json()["data"]["components"]["db"]["ok"] is True
    assert ready.json()["data"]["components"]["db"]["latency_ms"] >= 0


def test_version(client: TestClient) -> None:
    from beachsaver import __version__

    r = client.get("/api/version")
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "data": {"version": __version__, "git_sha": "unknown", "env": "dev"},
        "error": None,
        "meta": None,
    }


# ---- errors: envelope, trace id, codes -------------------------------------------------------


def test_unknown_route_is_a_not_found_envelope(client: TestClient) -> None:
    assert_error(client.get("/api/no-such-thing"), 404, "NOT_FOUND")
    assert_error(client.post("/nowhere", json={}), 404, "NOT_FOUND")


def test_method_not_allowed_is_an_envelope(client: TestClient) -> None:
    r = client.delete("/api/auth/login")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "POST"
    r = client.put("/api/version")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")


def test_unauthenticated_envelope(client: TestClient) -> None:
    assert_error(client.get("/api/users/me"), 401, "UNAUTHENTICATED")
    assert_error(client.get("/api/users", headers=auth("not-a-token")), 401, "UNAUTHENTICATED")


def test_forbidden_envelope(client: TestClient, db: Session) -> None:
    assert_error(client.get("/api/users", headers=auth(worker_token(db))), 403, "FORBIDDEN")


def test_not_found_object_envelope(client: TestClient, db: Session) -> None:
    token = platform_admin_token(db)
    assert_error(client.get("/api/users/987654", headers=auth(token)), 404, "NOT_FOUND")


# ---- trace ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["abc", "A.b_c-9", "x" * 64, "0", "4bf92f3577b34da6a3ce929d0e0e4736"])
def test_valid_incoming_trace_id_is_echoed_unchanged(client: TestClient, given: str) -> None:
    ok = client.get("/health", headers={"X-Trace-Id": given})
    assert ok.headers["x-trace-id"] == given
    error = client.get("/api/nothing-here", headers={"X-Trace-Id": given})
    assert assert_error(error, 404, "NOT_FOUND")["trace_id"] == given


@pytest.mark.parametrize("given", ["x" * 65, "has space", "semi;colon", "slash/ed", "ü-umlaut", "", "tab\there"])
def test_invalid_incoming_trace_id_is_replaced(client: TestClient, given: str) -> None:
    r = client.get("/api/nothing-here", headers={"X-Trace-Id": given.encode("utf-8")})
    error = assert_error(r, 404, "NOT_FOUND")
    assert error["trace_id"] != given
    assert HEX32.match(error["trace_id"])


def test_traceparent_trace_id_is_used(client: TestClient) -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = client.get("/api/nothing-here", headers={"traceparent": header})
    assert assert_error(r, 404, "NOT_FOUND")["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    # An invalid X-Trace-Id falls back to the traceparent; a valid one wins over it.
    r = client.get("/health", headers={"traceparent": header, "X-Trace-Id": "bad id"})
    assert r.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    r = client.get("/health", headers={"traceparent": header, "X-Trace-Id": "mine-1"})
    assert r.headers["x-trace-id"] == "mine-1"


@pytest.mark.parametrize(
    "header",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper-case hex
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 has 4 fields
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace id
        "garbage",
    ],
)
def test_invalid_traceparent_is_ignored(client: TestClient, header: str) -> None:
    r = client.get("/health", headers={"traceparent": header})
    assert r.headers["x-trace-id"] != "4bf92f3577b34da6a3ce929d0e0e4736"
    assert HEX32.match(r.headers["x-trace-id"])


def test_future_traceparent_version_with_more_fields_is_accepted(client: TestClient) -> None:
    r = client.get("/health", headers={"traceparent": "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"})
    assert r.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_every_response_gets_its_own_trace_id(client: TestClient) -> None:
    ids = {client.get("/health").headers["x-trace-id"] for _ in range(5)}
    assert len(ids) == 5


# ---- 400: every problem, dotted field paths ---------------------------------------------------


def test_body_problems_are_all_listed_with_dotted_paths(client: TestClient, db: Session) -> None:
    token = platform_admin_token(db)
    r = client.post(
        "/api/users",
        headers=auth(token),
        json={
            "nickname": "",
            "phone": "01012345678",
            "role": "NOT_A_ROLE",
            "org_id": "x",
            "vehicle": {"type": "SMALL", "capacity_t": "heavy", "plate_no": "12가3456"},
            "unexpected": 1,
        },
    )
    error = assert_error(r, 400, "VALIDATION_ERROR")
    fields = fields_of(error)
    for expected in (
        "nickname",
        "role",
        "org_id",
        "vehicle.capacity_t",
        "vehicle.operator_type",
        "unexpected",
    ):
        assert expected in fields, (expected, fields)
    assert all(not f.startswith("body") for f in fields)


def test_list_items_get_an_index_in_the_path(client: TestClient, db: Session) -> None:
    token = worker_token(db)
    r = client.post(
        "/api/reports",
        headers=auth(token),
        json={
            "client_id": "0b9f8a0e-6c53-4c1e-9d3f-2f6f3b1f3a11",
            "type": "INVESTIGATION",
            "beach_id": 1,
            "areas": [
                {"area_name": "A", "start_latitude": 35.1, "start_longitude": 129.1},
                {"area_name": "B", "start_latitude": 135.1, "start_longitude": 229.1},
            ],
        },
    )
    error = assert_error(r, 400, "VALIDATION_ERROR")
    fields = fields_of(error)
    assert "areas[1].start_latitude" in fields
    assert "areas[1].start_longitude" in fields
    assert not any(f.startswith("areas[0]") for f in fields)


def test_query_problems_are_named_query_dot_name_and_all_listed(client: TestClient, db: Session) -> None:
    token = platform_admin_token(db)
    r = client.get("/api/users", headers=auth(token), params={"page": 0, "size": 101, "role": "NOPE", "q": "x" * 101})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert sorted(fields_of(error)) == ["query.page", "query.q", "query.role", "query.size"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "query.page"),
        ({"page": -3}, "query.page"),
        ({"page": "one"}, "query.page"),
        ({"size": 101}, "query.size"),
        ({"size": 0}, "query.size"),
        ({"sort": "password_hash,asc"}, "query.sort"),
        ({"sort": "nickname,sideways"}, "query.sort"),
        ({"filter": "secret=1"}, "query.filter"),
        ({"filter": "role"}, "query.filter"),
    ],
)
def test_bad_paging_sort_and_filter_are_400(
    client: TestClient, db: Session, params: dict[str, Any], field: str
) -> None:
    token = platform_admin_token(db)
    error = assert_error(client.get("/api/users", headers=auth(token), params=params), 400, "VALIDATION_ERROR")
    assert fields_of(error) == [field]


def test_every_unknown_sort_and_filter_field_is_listed(client: TestClient, db: Session) -> None:
    token = platform_admin_token(db)
    r = client.get("/api/users", headers=auth(token), params={"sort": "a,asc;nickname,desc;b", "filter": "x=1,y=2"})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    # Filters are read first; sort problems come with a second request.
    assert [d["field"] for d in error["details"]] == ["query.filter", "query.filter"]
    assert "x" in error["details"][0]["message"] and "y" in error["details"][1]["message"]
    r = client.get("/api/users", headers=auth(token), params={"sort": "a,asc;nickname,desc;b"})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert [d["field"] for d in error["details"]] == ["query.sort", "query.sort"]


def test_known_sort_and_page_size_100_are_accepted(client: TestClient, db: Session) -> None:
    token = platform_admin_token(db)
    r = client.get("/api/users", headers=auth(token), params={"size": 100, "sort": "nickname,desc;id"})
    assert r.status_code == 200, r.text


def test_unparseable_json_is_reported_as_body(client: TestClient) -> None:
    r = client.post("/api/auth/login", content=b'{"phone": ', headers={"content-type": "application/json"})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert fields_of(error) == ["body"]


def test_json_that_is_not_an_object_is_reported_as_body(client: TestClient) -> None:
    r = client.post("/api/auth/login", json=["01012345678"])
    assert fields_of(assert_error(r, 400, "VALIDATION_ERROR")) == ["body"]


def test_body_that_is_not_utf8_is_reported_as_body(client: TestClient) -> None:
    r = client.post("/api/auth/login", content=b'{"phone": "\xff\xfe"}', headers={"content-type": "application/json"})
    assert fields_of(assert_error(r, 400, "VALIDATION_ERROR")) == ["body"]


def test_missing_body_is_reported(client: TestClient) -> None:
    r = client.post("/api/auth/login", headers={"content-type": "application/json"})
    assert fields_of(assert_error(r, 400, "VALIDATION_ERROR")) == ["body"]


def test_missing_field_message_follows_the_language(client: TestClient) -> None:
    ko = assert_error(client.post("/api/auth/login", json={}), 400, "VALIDATION_ERROR")
    en = assert_error(
        client.post("/api/auth/login", json={}, headers={"Accept-Language": "en"}), 400, "VALIDATION_ERROR"
    )
    assert ko["details"] == [{"field": "phone", "message": MESSAGES["field_required"]["ko"]}]
    assert en["details"] == [{"field": "phone", "message": MESSAGES["field_required"]["en"]}]


# ---- 415 and 413 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/xml"],
)
def test_json_endpoint_refuses_other_content_types(client: TestClient, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/api/auth/login", content=b'{"phone": "01012345678"}', headers=headers)
    assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_charset_and_json_suffix_types_are_accepted(client: TestClient) -> None:
    for phone, content_type in (
        ("01011112222", "application/json; charset=utf-8"),
        ("01033334444", "application/merge-patch+json"),
    ):
        body = json.dumps({"phone": phone}).encode()
        r = client.post("/api/auth/login", content=body, headers={"content-type": content_type})
        assert r.status_code == 200, (content_type, r.text)


def test_body_over_10_mb_is_413(client: TestClient) -> None:
    big = b'{"phone": "' + b"1" * (10 * 1024 * 1024) + b'"}'
    r = client.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_body_over_10_mb_without_content_length_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"phone": "'
        for _ in range(11):
            yield b"1" * (1024 * 1024)
        yield b'"}'

    r = client.post("/api/auth/login", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_body_just_under_the_limit_is_parsed(client: TestClient) -> None:
    padding = " " * (10 * 1024 * 1024 - 100)
    body = ('{"phone": "01012345678"' + padding + "}").encode()
    assert len(body) <= 10 * 1024 * 1024
    r = client.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]


def test_declared_content_length_over_the_limit_is_413_even_without_body_model(client: TestClient, db: Session) -> None:
    token = worker_token(db)
    r = client.post(
        "/api/auth/logout",
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers={**auth(token), "content-type": "application/json"},
    )
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


# ---- language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [
        (None, "ko"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0.2, ko;q=0.8", "ko"),
        ("en;q=0, fr", "ko"),
        ("*", "ko"),
        ("de", "ko"),
    ],
)
def test_error_message_follows_accept_language(client: TestClient, accept_language: str | None, lang: str) -> None:
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    error = assert_error(client.get("/api/users/me", headers=headers), 401, "UNAUTHENTICATED")
    assert error["message"] == MESSAGES["unauthenticated"][lang]


def test_not_found_and_validation_messages_in_both_languages(client: TestClient) -> None:
    assert assert_error(client.get("/x"), 404, "NOT_FOUND")["message"] == "대상을 찾을 수 없습니다."
    en = client.get("/x", headers={"Accept-Language": "en"})
    assert assert_error(en, 404, "NOT_FOUND")["message"] == "Not found."
    en = client.post("/api/auth/login", json={}, headers={"Accept-Language": "en"})
    assert assert_error(en, 400, "VALIDATION_ERROR")["message"] == "Some fields are invalid."


def test_catalogue_has_both_languages_for_every_key() -> None:
    for key, entry in MESSAGES.items():
        assert set(entry) == {"ko", "en"}, key
        assert entry["ko"] and entry["en"], key


# ---- unexpected errors -------------------------------------------------------------------------


SECRET_TEXT = "SELECT password_hash FROM users WHERE phone='01012345678' -- hunter2"


def test_unexpected_exception_is_a_bare_500(client: TestClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from beachsaver.auth import service as auth_service

    jwt_secret = app.state.settings.jwt_secret

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"{SECRET_TEXT} {jwt_secret}")

    monkeypatch.setattr(auth_service, "phone_login", boom)
    r = client.post("/api/auth/login", json={"phone": "01012345678"}, headers={"X-Trace-Id": "trace-500"})
    error = assert_error(r, 500, "INTERNAL_ERROR")
    assert error["trace_id"] == "trace-500"
    assert error["message"] == MESSAGES["internal_error"]["ko"]
    assert "details" not in error
    for leak in ("SELECT", "hunter2", "password_hash", "Traceback", "RuntimeError", "boom", jwt_secret):
        assert leak not in r.text
    # Answered inside the middleware stack: the security headers are there too.
    assert r.headers["x-content-type-options"] == "nosniff"


def test_database_programming_error_is_a_500_without_sql(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import ProgrammingError

    from beachsaver.auth import service as auth_service

    def bad_sql(*args: Any, **kwargs: Any) -> None:
        raise ProgrammingError(SECRET_TEXT, {"phone": "01012345678"}, Exception("syntax error near hunter2"))

    monkeypatch.setattr(auth_service, "phone_login", bad_sql)
    r = client.post("/api/auth/login", json={"phone": "01012345678"}, headers={"Accept-Language": "en"})
    error = assert_error(r, 500, "INTERNAL_ERROR")
    assert error["message"] == "An unexpected error occurred."
    for leak in ("SELECT", "hunter2", "01012345678", "syntax"):
        assert leak not in r.text


def test_database_operational_error_is_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from beachsaver.auth import service as auth_service

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError(SECRET_TEXT, {}, Exception("Can't connect to MySQL server on 'db-7.internal'"))

    monkeypatch.setattr(auth_service, "phone_login", down)
    r = client.post("/api/auth/login", json={"phone": "01012345678"})
    error = assert_error(r, 503, "DB_UNAVAILABLE")
    assert r.headers["retry-after"] == "5"
    assert "db-7.internal" not in r.text and "SELECT" not in r.text
    assert error["message"] == MESSAGES["db_unavailable"]["ko"]


def test_value_refused_by_the_database_is_a_400(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import DataError

    from beachsaver.auth import service as auth_service

    def too_long(*args: Any, **kwargs: Any) -> None:
        raise DataError(SECRET_TEXT, {}, Exception("Data too long for column 'nickname'"))

    monkeypatch.setattr(auth_service, "phone_login", too_long)
    r = client.post("/api/auth/login", json={"phone": "01012345678"})
    error = assert_error(r, 400, "VALIDATION_ERROR")
    assert fields_of(error) == ["body"]
    assert "SELECT" not in r.text and "Data too long" not in r.text


def test_integrity_error_is_a_409(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import IntegrityError

    from beachsaver.auth import service as auth_service

    def duplicate(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError(SECRET_TEXT, {}, Exception("Duplicate entry 'hunter2'"))

    monkeypatch.setattr(auth_service, "phone_login", duplicate)
    r = client.post("/api/auth/login", json={"phone": "01012345678"})
    assert_error(r, 409, "CONFLICT")
    assert "hunter2" not in r.text


def test_exception_outside_the_api_routes_is_still_an_envelope_with_trace_id(app: Any) -> None:
    """A route not built on ApiRoute (e.g. a page) that fails: the trace middleware answers."""

    async def broken_page() -> None:
        raise ValueError(SECRET_TEXT)

    app.router.add_route("/broken-page", broken_page)
    with TestClient(app, raise_server_exceptions=False) as plain:
        r = plain.get("/broken-page", headers={"X-Trace-Id": "page-trace"})
    error = assert_error(r, 500, "INTERNAL_ERROR")
    assert error["trace_id"] == "page-trace"
    assert "SELECT" not in r.text


def test_request_failure_rolls_back_the_transaction(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a failing request wrote is not committed (one transaction per request)."""
    from beachsaver.orgs import router as org_router

    token = platform_admin_token(db)
    root_id = org_service.ensure_root(db).id
    db.commit()
    original = org_router.service.create

    def create_then_fail(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise RuntimeError("after the insert")

    monkeypatch.setattr(org_router.service, "create", create_then_fail)
    r = client.post(
        "/api/organizations",
        headers=auth(token),
        json={"name": "실패시", "code": "FAILCITY", "type": "CITY", "parent_id": root_id},
    )
    assert_error(r, 500, "INTERNAL_ERROR")
    monkeypatch.undo()
    listed = client.get("/api/organizations", headers=auth(token)).json()["data"]
    assert "FAILCITY" not in json.dumps(listed)
