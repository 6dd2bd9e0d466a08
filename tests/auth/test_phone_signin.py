"""Phone sign-in for workers and citizens: codes, accounts, role choice (07 §4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from beachsaver.auth.models import OtpCode, SelectionToken
from beachsaver.core.enums import Role, UserStatus
from beachsaver.core.time import utcnow
from beachsaver.users.models import User
from tests.auth.helpers import (
    Clock,
    assert_error,
    bearer,
    code_for,
    codes_sent,
    district_of,
    fetch_all,
    fetch_one,
    make_platform_admin,
    make_worker,
    phone_sign_in,
    wrong_code,
)
from tests.factories import auth, latest_code, make_city, make_district, make_user

PHONE = "01012345678"


def setup_worker(db: Any, role: Role = Role.INVESTIGATOR, phone: str = PHONE) -> Any:
    city = make_city(db)
    district = make_district(db, city)
    user = make_user(db, role, district, phone=phone)
    db.commit()
    return user


def test_phone_login_verify_issues_tokens(client: TestClient, db: Any) -> None:
    user = setup_worker(db)
    r = client.post("/api/auth/login", json={"phone": "010-1234-5678"})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "data": {"expires_in": 180}, "error": None, "meta": None}
    assert r.headers["x-trace-id"]
    code = latest_code(client, PHONE)
    assert len(code) == 6 and code.isdigit()
    r = client.post("/api/auth/verify", json={"phone": "+821012345678", "code": code})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 900
    assert data["password_expired"] is False
    assert data["refresh_token"]
    assert data["user"]["id"] == user.id
    assert data["user"]["role"] == "INVESTIGATOR"
    me = client.get("/api/users/me", headers=auth(data["access_token"]))
    assert me.status_code == 200
    assert me.json()["data"]["phone"] == PHONE


def test_unknown_phone_answers_like_known_phone(client: TestClient, db: Any) -> None:
    setup_worker(db)
    known = client.post("/api/auth/login", json={"phone": PHONE})
    unknown = client.post("/api/auth/login", json={"phone": "01099998888"})
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json() == {"success": True, "data": {"expires_in": 180}, "error": None, "meta": None}
    # Nothing is sent to a phone without an account.
    assert codes_sent(client, "01099998888") == []
    assert len(codes_sent(client, PHONE)) == 1
    bad_known = client.post("/api/auth/verify", json={"phone": PHONE, "code": "000000"})
    bad_unknown = client.post("/api/auth/verify", json={"phone": "01099998888", "code": "000000"})
    assert_error(bad_known, 401, "UNAUTHENTICATED")
    assert_error(bad_unknown, 401, "UNAUTHENTICATED")
    assert bad_known.json()["error"]["message"] == bad_unknown.json()["error"]["message"]
    # A phone that never asked for a code answers the same, too.
    never = client.post("/api/auth/verify", json={"phone": "01077776666", "code": "123456"})
    assert_error(never, 401, "UNAUTHENTICATED")
    assert never.json()["error"]["message"] == bad_known.json()["error"]["message"]


def test_unknown_phone_is_rate_limited_like_a_known_one(client: TestClient, db: Any) -> None:
    setup_worker(db)
    for phone in (PHONE, "01099998888"):
        assert client.post("/api/auth/login", json={"phone": phone}).status_code == 200
        again = client.post("/api/auth/login", json={"phone": phone})
        assert_error(again, 429, "RATE_LIMITED")
        assert 1 <= int(again.headers["retry-after"]) <= 30


def test_code_is_single_use(client: TestClient, db: Any) -> None:
    setup_worker(db)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = latest_code(client, PHONE)
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200
    again = client.post("/api/auth/verify", json={"phone": PHONE, "code": code})
    assert_error(again, 401, "UNAUTHENTICATED")


def test_codes_are_stored_only_as_hashes(client: TestClient, db: Any) -> None:
    setup_worker(db)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = latest_code(client, PHONE)
    rows = fetch_all(db, select(OtpCode))
    assert len(rows) == 1
    row = rows[0]
    assert row.purpose == "LOGIN"
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert PHONE not in row.phone_hash and len(row.phone_hash) == 64
    for value in vars(row).values():
        assert value != code


def test_only_the_newest_code_counts(client: TestClient, db: Any, clock: Clock) -> None:
    setup_worker(db)
    client.post("/api/auth/login", json={"phone": PHONE})
    first = latest_code(client, PHONE)
    clock.advance(31)
    client.post("/api/auth/login", json={"phone": PHONE})
    second = latest_code(client, PHONE)
    if first != second:
        assert_error(client.post("/api/auth/verify", json={"phone": PHONE, "code": first}), 401, "UNAUTHENTICATED")
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": second}).status_code == 200


class TestExpiry:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"otp_ttl_s": 10, "otp_min_interval_s": 0}

    def test_login_announces_the_configured_ttl(self, client: TestClient, db: Any) -> None:
        setup_worker(db)
        r = client.post("/api/auth/login", json={"phone": PHONE})
        assert r.json()["data"] == {"expires_in": 10}

    def test_code_expires_after_ttl(self, client: TestClient, db: Any, clock: Clock) -> None:
        setup_worker(db)
        client.post("/api/auth/login", json={"phone": PHONE})
        code = latest_code(client, PHONE)
        clock.advance(11)
        assert_error(client.post("/api/auth/verify", json={"phone": PHONE, "code": code}), 401, "UNAUTHENTICATED")

    def test_code_works_inside_ttl(self, client: TestClient, db: Any, clock: Clock) -> None:
        setup_worker(db)
        client.post("/api/auth/login", json={"phone": PHONE})
        code = latest_code(client, PHONE)
        clock.advance(8)
        assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200

    def test_stored_expiry_matches_ttl(self, client: TestClient, db: Any) -> None:
        setup_worker(db)
        before = utcnow()
        client.post("/api/auth/login", json={"phone": PHONE})
        row = fetch_one(db, select(OtpCode))
        assert 9 <= (row.expires_at - before).total_seconds() <= 12


def test_pending_citizen_may_sign_in(client: TestClient, db: Any) -> None:
    citizen = make_worker(db, PHONE, role=Role.CITIZEN, status=UserStatus.PENDING_APPROVAL)
    tokens = phone_sign_in(client, PHONE)
    assert tokens["user"]["id"] == citizen.id
    assert tokens["user"]["status"] == "PENDING_APPROVAL"
    me = client.get("/api/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["data"]["status"] == "PENDING_APPROVAL"


@pytest.mark.parametrize("status", [UserStatus.SUSPENDED, UserStatus.REJECTED, UserStatus.WITHDRAWN])
def test_inactive_accounts_are_as_unknown(client: TestClient, db: Any, status: UserStatus) -> None:
    make_worker(db, PHONE, role=Role.CLEANER, status=status)
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert r.status_code == 200
    assert r.json()["data"] == {"expires_in": 180}
    assert codes_sent(client, PHONE) == []


def test_admin_accounts_never_sign_in_by_phone(client: TestClient, db: Any) -> None:
    make_platform_admin(db, PHONE)
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert r.status_code == 200
    assert r.json()["data"] == {"expires_in": 180}
    assert codes_sent(client, PHONE) == []
    assert_error(client.post("/api/auth/verify", json={"phone": PHONE, "code": "123456"}), 401, "UNAUTHENTICATED")


def test_admin_and_worker_on_one_phone_gives_the_worker(client: TestClient, db: Any) -> None:
    make_platform_admin(db, PHONE)
    worker = make_worker(db, PHONE, role=Role.CLEANER)
    tokens = phone_sign_in(client, PHONE)
    assert tokens["user"]["id"] == worker.id
    assert tokens["user"]["role"] == "CLEANER"


# ---- several accounts: choose one ----------------------------------------------------------


def two_accounts(db: Any) -> tuple[Any, Any]:
    district = district_of(db)
    investigator = make_user(db, Role.INVESTIGATOR, district, phone=PHONE, nickname="조사원")
    cleaner = make_user(db, Role.CLEANER, district, phone=PHONE, nickname="청소원")
    db.commit()
    return investigator, cleaner


def verify_for_choice(client: TestClient) -> dict[str, Any]:
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    r = client.post("/api/auth/verify", json={"phone": PHONE, "code": code_for(client, PHONE)})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def test_several_accounts_offer_a_choice(client: TestClient, db: Any) -> None:
    investigator, cleaner = two_accounts(db)
    data = verify_for_choice(client)
    assert set(data) == {"accounts", "selection_token"}
    assert data["accounts"] == [
        {
            "user_id": investigator.id,
            "system_id": investigator.system_id,
            "nickname": "조사원",
            "role": "INVESTIGATOR",
            "org_id": investigator.org_id,
            "status": "ACTIVE",
        },
        {
            "user_id": cleaner.id,
            "system_id": cleaner.system_id,
            "nickname": "청소원",
            "role": "CLEANER",
            "org_id": cleaner.org_id,
            "status": "ACTIVE",
        },
    ]
    r = client.post("/api/auth/select", json={"selection_token": data["selection_token"], "user_id": cleaner.id})
    assert r.status_code == 200, r.text
    tokens = r.json()["data"]
    assert tokens["user"]["id"] == cleaner.id
    assert tokens["user"]["role"] == "CLEANER"
    me = client.get("/api/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["data"]["id"] == cleaner.id


def test_selection_tokens_are_stored_as_hashes(client: TestClient, db: Any) -> None:
    two_accounts(db)
    data = verify_for_choice(client)
    row = fetch_one(db, select(SelectionToken))
    assert row.token_hash != data["selection_token"]
    assert data["selection_token"] not in row.token_hash


def test_select_an_account_not_offered_is_forbidden(client: TestClient, db: Any) -> None:
    _investigator, _cleaner = two_accounts(db)
    other = make_worker(db, "01055554444", role=Role.COLLECTOR)
    data = verify_for_choice(client)
    token = data["selection_token"]
    assert_error(
        client.post("/api/auth/select", json={"selection_token": token, "user_id": other.id}), 403, "FORBIDDEN"
    )
    assert_error(client.post("/api/auth/select", json={"selection_token": token, "user_id": 999999}), 403, "FORBIDDEN")
    # An admin on the same phone is never offered and cannot be picked.
    admin = make_platform_admin(db, PHONE)
    assert_error(
        client.post("/api/auth/select", json={"selection_token": token, "user_id": admin.id}), 403, "FORBIDDEN"
    )


def test_selection_token_is_single_use(client: TestClient, db: Any) -> None:
    investigator, cleaner = two_accounts(db)
    token = verify_for_choice(client)["selection_token"]
    assert (
        client.post("/api/auth/select", json={"selection_token": token, "user_id": investigator.id}).status_code == 200
    )
    again = client.post("/api/auth/select", json={"selection_token": token, "user_id": cleaner.id})
    assert_error(again, 401, "UNAUTHENTICATED")


def test_selection_token_expires_after_five_minutes(client: TestClient, db: Any, clock: Clock) -> None:
    investigator, _ = two_accounts(db)
    token = verify_for_choice(client)["selection_token"]
    row = fetch_one(db, select(SelectionToken))
    assert 295 <= (row.expires_at - utcnow()).total_seconds() <= 301
    clock.advance(301)
    r = client.post("/api/auth/select", json={"selection_token": token, "user_id": investigator.id})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_selection_token_works_just_before_expiry(client: TestClient, db: Any, clock: Clock) -> None:
    investigator, _ = two_accounts(db)
    token = verify_for_choice(client)["selection_token"]
    clock.advance(290)
    r = client.post("/api/auth/select", json={"selection_token": token, "user_id": investigator.id})
    assert r.status_code == 200, r.text


def test_unknown_selection_token(client: TestClient, db: Any) -> None:
    two_accounts(db)
    r = client.post("/api/auth/select", json={"selection_token": "x" * 43, "user_id": 1})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_selected_account_suspended_meanwhile(client: TestClient, db: Any) -> None:
    _investigator, cleaner = two_accounts(db)
    token = verify_for_choice(client)["selection_token"]
    db.execute(update(User).where(User.id == cleaner.id).values(status=UserStatus.SUSPENDED))
    db.commit()
    r = client.post("/api/auth/select", json={"selection_token": token, "user_id": cleaner.id})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_pending_citizen_and_cleaner_offer_a_choice(client: TestClient, db: Any) -> None:
    district = district_of(db)
    make_user(db, Role.CITIZEN, district, phone=PHONE, status=UserStatus.PENDING_APPROVAL)
    make_user(db, Role.COLLECTOR, district, phone=PHONE)
    db.commit()
    data = verify_for_choice(client)
    assert sorted(a["status"] for a in data["accounts"]) == ["ACTIVE", "PENDING_APPROVAL"]


# ---- input validation ------------------------------------------------------------------------


def test_validation_names_the_field(client: TestClient) -> None:
    r = client.post("/api/auth/login", json={"phone": "12345"})
    body = assert_error(r, 400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "phone"


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/api/auth/login", {}, "phone"),
        ("/api/auth/login", {"phone": "01012345678", "extra": 1}, "extra"),
        ("/api/auth/login", {"phone": 1012345678}, "phone"),
        ("/api/auth/verify", {"phone": "01012345678", "code": "12345"}, "code"),
        ("/api/auth/verify", {"phone": "01012345678", "code": "abcdef"}, "code"),
        ("/api/auth/verify", {"phone": "0201234567", "code": "123456"}, "phone"),
        ("/api/auth/select", {"selection_token": "x" * 20, "user_id": "me"}, "user_id"),
        ("/api/auth/select", {"user_id": 1}, "selection_token"),
        ("/api/auth/otp", {"phone": "01012345678", "purpose": "WHATEVER"}, "purpose"),
        ("/api/auth/otp", {"phone": "01012345678", "purpose": "LOGIN"}, "purpose"),
        ("/api/auth/refresh", {}, "refresh_token"),
    ],
)
def test_bad_input_is_400_naming_the_field(client: TestClient, path: str, payload: dict[str, Any], field: str) -> None:
    body = assert_error(client.post(path, json=payload), 400, "VALIDATION_ERROR")
    assert field in [d["field"] for d in body["error"]["details"]]


def test_unparseable_body_and_wrong_content_type(client: TestClient) -> None:
    r = client.post("/api/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    body = assert_error(r, 400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "body"
    r = client.post("/api/auth/login", content=b"phone=01012345678", headers={"content-type": "text/plain"})
    assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


# ---- codes for sign-up and phone changes -----------------------------------------------------


def test_signup_code_is_sent_to_any_phone(client: TestClient) -> None:
    r = client.post("/api/auth/otp", json={"phone": "010-2222-3333", "purpose": "signup"})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"expires_in": 180}
    sent = codes_sent(client, "01022223333")
    assert len(sent) == 1
    assert sent[0]["purpose"] == "SIGNUP"


def test_phone_change_code_requires_authentication(client: TestClient, db: Any) -> None:
    r = client.post("/api/auth/otp", json={"phone": "01022223333", "purpose": "PHONE_CHANGE"})
    assert_error(r, 401, "UNAUTHENTICATED")
    assert codes_sent(client, "01022223333") == []
    setup_worker(db)
    tokens = phone_sign_in(client, PHONE)
    r = client.post(
        "/api/auth/otp",
        json={"phone": "01022223333", "purpose": "PHONE_CHANGE"},
        headers=bearer(tokens["access_token"]),
    )
    assert r.status_code == 200, r.text
    assert codes_sent(client, "01022223333")[0]["purpose"] == "PHONE_CHANGE"


def test_send_limits_count_per_purpose(client: TestClient, db: Any) -> None:
    setup_worker(db)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    # A sign-up code to the same phone is another purpose: not limited by the login send.
    assert client.post("/api/auth/otp", json={"phone": PHONE, "purpose": "SIGNUP"}).status_code == 200
    assert_error(client.post("/api/auth/login", json={"phone": PHONE}), 429, "RATE_LIMITED")


def test_a_login_code_does_not_serve_signup(client: TestClient, db: Any) -> None:
    setup_worker(db)
    client.post("/api/auth/otp", json={"phone": PHONE, "purpose": "SIGNUP"})
    signup_code = latest_code(client, PHONE)
    r = client.post("/api/auth/verify", json={"phone": PHONE, "code": signup_code})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_verify_after_wrong_codes_still_works_below_threshold(client: TestClient, db: Any) -> None:
    setup_worker(db)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = latest_code(client, PHONE)
    for _ in range(4):
        assert_error(
            client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)}), 401, "UNAUTHENTICATED"
        )
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200


def test_signup_code_ignores_a_stale_token(client: TestClient) -> None:
    r = client.post(
        "/api/auth/otp", json={"phone": "01022223333", "purpose": "SIGNUP"}, headers=bearer("stale.token.here")
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/auth/otp", json={"phone": "01022224444", "purpose": "PHONE_CHANGE"}, headers=bearer("stale.token.here")
    )
    assert_error(r, 401, "UNAUTHENTICATED")
    assert codes_sent(client, "01022224444") == []


def test_tokens_show_the_phone_masked(client: TestClient, db) -> None:
    setup_worker(db, phone="01098761234")
    client.post("/api/auth/login", json={"phone": "01098761234"})
    tokens = client.post("/api/auth/verify", json={"phone": "01098761234", "code": latest_code(client, "01098761234")})
    assert tokens.json()["data"]["user"]["phone"] == "010-****-1234"
