"""Lock-outs after repeated failures and code send limits (01 §2, 07 §2, §4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.auth.models import AuthLock
from beachsaver.core.enums import Role
from tests.auth.helpers import (
    Clock,
    assert_error,
    audit_entries,
    code_for,
    codes_sent,
    fetch_all,
    make_worker,
    metric,
    wrong_code,
)

PHONE = "01012345678"
LOCKOUTS = ("beachsaver_security_events_total", {"kind": "lockout"})


def fail_five_times(client: TestClient) -> str:
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    code = code_for(client, PHONE)
    for _ in range(5):
        r = client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)})
        assert_error(r, 401, "UNAUTHENTICATED")
    return code


def test_five_wrong_codes_lock_the_phone(client: TestClient, db: Any) -> None:
    make_worker(db, PHONE)
    code = fail_five_times(client)
    locked = client.post("/api/auth/verify", json={"phone": PHONE, "code": code})
    assert_error(locked, 423, "LOCKED")
    assert 1700 <= int(locked.headers["retry-after"]) <= 1800


def test_lockout_raises_a_security_event(client: TestClient, db: Any) -> None:
    user = make_worker(db, PHONE)
    before = metric(client, *LOCKOUTS)
    fail_five_times(client)
    assert metric(client, *LOCKOUTS) == before + 1
    events = audit_entries(db, "SECURITY_LOCKOUT")
    assert len(events) == 1
    event = events[0]
    assert event.target_type == "USER"
    assert event.target_id == user.id
    assert event.org_id == user.org_id
    assert event.after is not None
    assert event.after["kind"] == "phone"
    assert event.after["phone"] == "010-****-5678"
    assert PHONE not in str(event.after)
    # Every one of the five failures is in the log too.
    assert len(audit_entries(db, "AUTH_LOGIN_FAILURE")) == 5


def test_lockout_of_an_unknown_phone_is_the_same(client: TestClient, db: Any) -> None:
    before = metric(client, *LOCKOUTS)
    for _ in range(5):
        assert_error(
            client.post("/api/auth/verify", json={"phone": "01099998888", "code": "123456"}), 401, "UNAUTHENTICATED"
        )
    assert_error(client.post("/api/auth/verify", json={"phone": "01099998888", "code": "123456"}), 423, "LOCKED")
    assert metric(client, *LOCKOUTS) == before + 1


def test_locked_login_answers_200_and_sends_nothing(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    fail_five_times(client)
    sent_before = codes_sent(client, PHONE)
    clock.advance(60)  # past the 30 s send interval, so a send would be allowed
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert r.status_code == 200
    assert r.json() == {"success": True, "data": {"expires_in": 180}, "error": None, "meta": None}
    assert codes_sent(client, PHONE) == sent_before
    # Also when asked again at once (no 429 while locked: nothing is sent or counted).
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert r.status_code == 200
    assert codes_sent(client, PHONE) == sent_before


def test_lock_lasts_thirty_minutes(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    fail_five_times(client)
    clock.advance(1790)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    assert_error(client.post("/api/auth/verify", json={"phone": PHONE, "code": "123456"}), 423, "LOCKED")
    clock.advance(20)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    code = code_for(client, PHONE)
    r = client.post("/api/auth/verify", json={"phone": PHONE, "code": code})
    assert r.status_code == 200, r.text


def test_failures_older_than_the_window_do_not_count(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = code_for(client, PHONE)
    for _ in range(4):
        client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)})
    clock.advance(901)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = code_for(client, PHONE)
    assert_error(
        client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)}), 401, "UNAUTHENTICATED"
    )
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200


def test_success_resets_the_failure_count(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = code_for(client, PHONE)
    for _ in range(4):
        client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)})
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200
    clock.advance(31)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = code_for(client, PHONE)
    for _ in range(4):
        assert_error(
            client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)}), 401, "UNAUTHENTICATED"
        )
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200


def test_lock_is_shared_state_in_the_database(client: TestClient, db: Any) -> None:
    make_worker(db, PHONE)
    fail_five_times(client)
    locks = fetch_all(db, select(AuthLock))
    assert len(locks) == 1
    assert locks[0].subject.startswith("phone:")
    assert PHONE not in locks[0].subject


def test_signup_codes_are_refused_while_locked(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    fail_five_times(client)
    before = codes_sent(client, PHONE)
    r = client.post("/api/auth/otp", json={"phone": PHONE, "purpose": "SIGNUP"})
    assert r.status_code == 200
    assert r.json()["data"] == {"expires_in": 180}
    assert codes_sent(client, PHONE) == before


# ---- send limits ------------------------------------------------------------------------------


def test_one_send_per_thirty_seconds(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    clock.advance(10)
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert_error(r, 429, "RATE_LIMITED")
    assert 19 <= int(r.headers["retry-after"]) <= 20
    assert len(codes_sent(client, PHONE)) == 1
    clock.advance(21)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    assert len(codes_sent(client, PHONE)) == 2


def test_at_most_five_sends_per_ten_minutes(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    for _ in range(5):
        assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
        clock.advance(31)
    # 155 s after the first send: the sixth is refused until the first leaves the window.
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert_error(r, 429, "RATE_LIMITED")
    assert 440 <= int(r.headers["retry-after"]) <= 446
    assert len(codes_sent(client, PHONE)) == 5
    clock.advance(450)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    assert len(codes_sent(client, PHONE)) == 6


def test_send_ceiling_alerts_the_admins_once(client: TestClient, db: Any, clock: Clock) -> None:
    make_worker(db, PHONE)
    kind = ("beachsaver_security_events_total", {"kind": "otp_rate_limit"})
    before = metric(client, *kind)
    for _ in range(5):
        client.post("/api/auth/login", json={"phone": PHONE})
        clock.advance(31)
    for _ in range(3):
        assert_error(client.post("/api/auth/login", json={"phone": PHONE}), 429, "RATE_LIMITED")
        clock.advance(31)
    assert metric(client, *kind) == before + 1
    events = audit_entries(db, "SECURITY_OTP_RATE_LIMIT")
    assert len(events) == 1
    assert events[0].after is not None
    assert events[0].after["purpose"] == "LOGIN"


class TestConfiguredLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"otp_min_interval_s": 0, "otp_max_sends": 2, "lock_threshold": 2, "lock_duration_s": 60}

    def test_limits_follow_the_settings(self, client: TestClient, db: Any) -> None:
        make_worker(db, PHONE)
        assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
        assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
        assert_error(client.post("/api/auth/login", json={"phone": PHONE}), 429, "RATE_LIMITED")
        code = code_for(client, PHONE)
        for _ in range(2):
            assert_error(
                client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)}),
                401,
                "UNAUTHENTICATED",
            )
        locked = client.post("/api/auth/verify", json={"phone": PHONE, "code": code})
        assert_error(locked, 423, "LOCKED")
        assert 50 <= int(locked.headers["retry-after"]) <= 60


def test_limits_are_per_phone(client: TestClient, db: Any) -> None:
    make_worker(db, PHONE)
    other = "01011112222"
    make_worker(db, other, role=Role.CLEANER)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    assert client.post("/api/auth/login", json={"phone": other}).status_code == 200
    fail_code = code_for(client, PHONE)
    for _ in range(5):
        client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(fail_code)})
    r = client.post("/api/auth/verify", json={"phone": other, "code": code_for(client, other)})
    assert r.status_code == 200, r.text
