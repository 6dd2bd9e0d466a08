"""GET /api/dev/messages: the dev outbox (02 §9, 07 §4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beachsaver.core.runtime import runtime_of
from beachsaver.messaging import service as messaging
from beachsaver.messaging.models import DevMessage
from tests.auth.helpers import assert_error, make_worker

PHONE = "01012345678"
FIELDS = {"id", "channel", "to", "phone", "purpose", "code", "subject", "body", "created_at"}


def send_signup_codes(client: TestClient, count: int, start: int = 20000000) -> list[str]:
    phones = [f"010{start + i:08d}" for i in range(count)]
    for phone in phones:
        r = client.post("/api/auth/otp", json={"phone": phone, "purpose": "SIGNUP"})
        assert r.status_code == 200, r.text
    return phones


def test_message_shape(client: TestClient, db: Any) -> None:
    make_worker(db, PHONE)
    client.post("/api/auth/login", json={"phone": PHONE})
    r = client.get("/api/dev/messages", params={"phone": PHONE})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["error"] is None
    [message] = body["data"]
    assert set(message) == FIELDS
    assert message["channel"] == "ALIMTALK"
    assert message["to"] == PHONE
    assert message["phone"] == PHONE
    assert message["purpose"] == "LOGIN"
    assert len(message["code"]) == 6 and message["code"].isdigit()
    assert message["code"] in message["body"]
    assert message["created_at"].endswith("Z") and len(message["created_at"]) == 20
    assert isinstance(message["id"], int) and message["id"] > 0


def test_newest_first(client: TestClient) -> None:
    phones = send_signup_codes(client, 3)
    data = client.get("/api/dev/messages").json()["data"]
    assert [m["phone"] for m in data] == list(reversed(phones))
    ids = [m["id"] for m in data]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize("form", ["01012345678", "010-1234-5678", "+821012345678", " 010 1234 5678 "])
def test_phone_filter_accepts_every_phone_form(client: TestClient, form: str) -> None:
    client.post("/api/auth/otp", json={"phone": PHONE, "purpose": "SIGNUP"})
    client.post("/api/auth/otp", json={"phone": "01099998888", "purpose": "SIGNUP"})
    data = client.get("/api/dev/messages", params={"phone": form}).json()["data"]
    assert [m["phone"] for m in data] == [PHONE]


def test_bad_phone_filter_is_400(client: TestClient) -> None:
    body = assert_error(client.get("/api/dev/messages", params={"phone": "12345"}), 400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "query.phone"


def test_channel_filter(client: TestClient, db: Any) -> None:
    client.post("/api/auth/otp", json={"phone": PHONE, "purpose": "SIGNUP"})
    messaging.record_dev_message(
        db, channel="EMAIL", to="someone@example.org", subject="Notice", body="hello", phone=None
    )
    db.commit()
    email = client.get("/api/dev/messages", params={"channel": "EMAIL"}).json()["data"]
    assert [m["channel"] for m in email] == ["EMAIL"]
    assert email[0]["code"] is None and email[0]["phone"] is None and email[0]["subject"] == "Notice"
    lower = client.get("/api/dev/messages", params={"channel": "alimtalk"}).json()["data"]
    assert [m["channel"] for m in lower] == ["ALIMTALK"]
    assert client.get("/api/dev/messages", params={"channel": "SMS"}).json()["data"] == []
    both = client.get("/api/dev/messages", params={"channel": "ALIMTALK", "phone": PHONE}).json()["data"]
    assert len(both) == 1


def test_size_defaults_to_20_and_allows_100(client: TestClient) -> None:
    send_signup_codes(client, 23)
    assert len(client.get("/api/dev/messages").json()["data"]) == 20
    assert len(client.get("/api/dev/messages", params={"size": 100}).json()["data"]) == 23
    assert len(client.get("/api/dev/messages", params={"size": 5}).json()["data"]) == 5


@pytest.mark.parametrize("size", ["0", "101", "-1", "abc"])
def test_bad_size_is_400(client: TestClient, size: str) -> None:
    body = assert_error(client.get("/api/dev/messages", params={"size": size}), 400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "query.size"


def test_no_authentication_needed(client: TestClient) -> None:
    r = client.get("/api/dev/messages", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 200


def test_the_outbox_is_rolled_back_with_its_transaction(client: TestClient, db: Any) -> None:
    runtime = runtime_of(db)
    with runtime.session_factory() as session:
        messaging.record_dev_message(session, channel="SMS", to=PHONE, phone=PHONE, body="never")
        session.flush()
        session.rollback()
    assert client.get("/api/dev/messages").json()["data"] == []


class TestOutboxOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"dev_outbox": False}

    def test_404_when_the_outbox_is_off(self, client: TestClient) -> None:
        assert_error(client.get("/api/dev/messages"), 404, "NOT_FOUND")
        # Also with parameters that would be wrong: the endpoint does not exist here.
        assert_error(client.get("/api/dev/messages", params={"size": 1000}), 404, "NOT_FOUND")
        assert_error(client.get("/api/dev/messages", params={"phone": "x"}), 404, "NOT_FOUND")

    def test_nothing_is_recorded_when_the_outbox_is_off(self, client: TestClient, db: Any) -> None:
        make_worker(db, PHONE)
        assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
        assert db.execute(select(func.count()).select_from(DevMessage)).scalar_one() == 0
        db.rollback()
