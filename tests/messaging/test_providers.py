"""AlimTalk first, SMS fallback, against a local stand-in for NHN Cloud's APIs (06, 07 §2, §9)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.auth import service as auth_service
from beachsaver.core.enums import Role
from beachsaver.messaging import service as messaging
from tests.auth.helpers import admin_challenge, assert_error, code_for, codes_sent, make_platform_admin, make_worker

PHONE = "01012345678"
ALIMTALK_PATH = "/alimtalk/v2.3/appkeys/at-app-key/messages"
SMS_PATH = "/sms/v3.0/appKeys/sms-app-key/sender/sms"
OK_HEADER = {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """Records every request; ``answers[path_prefix]`` = (status, JSON body) to send back."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, prefix: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]


def start_receiver() -> tuple[ThreadingHTTPServer, Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            with receiver.lock:
                receiver.requests.append(
                    Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
                )
            status, answer = 200, {"header": OK_HEADER}
            for prefix, configured in receiver.answers.items():
                if self.path.startswith(prefix):
                    status, answer = configured
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server, rec = start_receiver()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings_overrides(receiver: Receiver) -> dict[str, Any]:
    return {
        "alimtalk_base_url": receiver.url,
        "alimtalk_app_key": "at-app-key",
        "alimtalk_secret_key": "at-secret",
        "alimtalk_sender_key": "sender-key-1",
        "sms_base_url": receiver.url,
        "sms_app_key": "sms-app-key",
        "sms_secret_key": "sms-secret",
        "sms_sender_no": "0517770000",
        "provider_timeout_s": 3,
    }


def test_code_goes_by_alimtalk(client: TestClient, db: Any, receiver: Receiver) -> None:
    make_worker(db, PHONE)
    assert client.post("/api/auth/login", json={"phone": "010-1234-5678"}).status_code == 200
    code = code_for(client, PHONE)
    [request] = receiver.to("/alimtalk/")
    assert request.path == ALIMTALK_PATH
    assert request.headers["x-secret-key"] == "at-secret"
    assert request.headers["content-type"].startswith("application/json")
    assert request.body["senderKey"] == "sender-key-1"
    assert request.body["templateCode"] == "BEACHSAVER_OTP"
    [recipient] = request.body["recipientList"]
    assert recipient["recipientNo"] == PHONE
    assert recipient["templateParameter"]["code"] == code
    assert request.headers["idempotency-key"]
    assert receiver.to("/sms/") == []
    # The code still verifies.
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200


def test_sms_fallback_when_alimtalk_answers_500(client: TestClient, db: Any, receiver: Receiver) -> None:
    receiver.answers["/alimtalk/"] = (500, {"error": "boom"})
    make_worker(db, PHONE)
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    code = code_for(client, PHONE)
    assert len(receiver.to("/alimtalk/")) == 1
    [sms] = receiver.to("/sms/")
    assert sms.path == SMS_PATH
    assert sms.headers["x-secret-key"] == "sms-secret"
    assert sms.body["sendNo"] == "0517770000"
    assert sms.body["recipientList"] == [{"recipientNo": PHONE}]
    assert code in sms.body["body"]
    # One code, one dedupe key on both attempts.
    assert sms.headers["idempotency-key"] == receiver.to("/alimtalk/")[0].headers["idempotency-key"]
    assert client.post("/api/auth/verify", json={"phone": PHONE, "code": code}).status_code == 200


@pytest.mark.parametrize(
    "answer",
    [
        (200, {"header": {"isSuccessful": False, "resultCode": -1000, "resultMessage": "invalid"}}),
        (200, {"header": OK_HEADER, "message": {"sendResults": [{"resultCode": -2, "resultMessage": "bad"}]}}),
        (200, ["not", "an", "object"]),
        (200, "no header"),
    ],
)
def test_sms_fallback_when_alimtalk_refuses(client: TestClient, db: Any, receiver: Receiver, answer: Any) -> None:
    receiver.answers["/alimtalk/"] = answer
    make_worker(db, PHONE)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = code_for(client, PHONE)
    [sms] = receiver.to("/sms/")
    assert code in sms.body["body"]


def test_both_channels_failing_still_answers_200(client: TestClient, db: Any, receiver: Receiver) -> None:
    receiver.answers["/alimtalk/"] = (500, {})
    receiver.answers["/sms/"] = (503, {})
    make_worker(db, PHONE)
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert r.status_code == 200
    assert r.json()["data"] == {"expires_in": 180}
    assert len(receiver.to("/alimtalk/")) == 1
    assert len(receiver.to("/sms/")) == 1


def test_nothing_is_sent_when_the_transaction_fails(
    client: TestClient, db: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_worker(db, PHONE)
    real_send = messaging.send_code

    def send_then_fail(*args: Any, **kwargs: Any) -> None:
        real_send(*args, **kwargs)
        raise RuntimeError("the request fails after the code was queued")

    monkeypatch.setattr(auth_service.messaging, "send_code", send_then_fail)
    r = client.post("/api/auth/login", json={"phone": PHONE})
    assert_error(r, 500, "INTERNAL_ERROR")
    assert receiver.requests == []
    assert codes_sent(client, PHONE) == []
    monkeypatch.setattr(auth_service.messaging, "send_code", real_send)
    # The failed request left nothing behind (no code counted against the send limits).
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    assert len(receiver.to("/alimtalk/")) == 1


def test_nothing_is_sent_to_a_phone_without_account(client: TestClient, receiver: Receiver) -> None:
    assert client.post("/api/auth/login", json={"phone": PHONE}).status_code == 200
    assert receiver.requests == []


def test_admin_code_goes_through_the_providers(client: TestClient, db: Any, receiver: Receiver) -> None:
    admin = make_platform_admin(db, PHONE)
    admin_challenge(client, admin.system_id)
    code = code_for(client, PHONE)
    [request] = receiver.to("/alimtalk/")
    assert request.body["recipientList"][0]["templateParameter"]["code"] == code


def test_each_code_has_its_own_idempotency_key(client: TestClient, db: Any, receiver: Receiver) -> None:
    make_worker(db, PHONE)
    make_worker(db, "01011112222", role=Role.CLEANER)
    client.post("/api/auth/login", json={"phone": PHONE})
    client.post("/api/auth/login", json={"phone": "01011112222"})
    keys = [r.headers["idempotency-key"] for r in receiver.to("/alimtalk/")]
    assert len(keys) == 2 and len(set(keys)) == 2


class TestSmsOnly:
    @pytest.fixture
    def settings_overrides(self, receiver: Receiver) -> dict[str, Any]:
        return {"sms_base_url": receiver.url, "sms_app_key": "sms-app-key", "sms_secret_key": "sms-secret"}

    def test_sms_when_alimtalk_is_not_configured(self, client: TestClient, db: Any, receiver: Receiver) -> None:
        make_worker(db, PHONE)
        client.post("/api/auth/login", json={"phone": PHONE})
        code = code_for(client, PHONE)
        assert receiver.to("/alimtalk/") == []
        [sms] = receiver.to("/sms/")
        assert code in sms.body["body"]
        assert codes_sent(client, PHONE)[0]["channel"] == "SMS"


def test_deliver_code_reports_the_channel(receiver: Receiver) -> None:
    from beachsaver.config import Settings

    settings = Settings(
        alimtalk_base_url=receiver.url,
        alimtalk_app_key="at-app-key",
        sms_base_url=receiver.url,
        sms_app_key="sms-app-key",
    )
    assert messaging.deliver_code(settings, PHONE, "code 123456", "123456", idempotency_key="k1") == "ALIMTALK"
    receiver.answers["/alimtalk/"] = (500, {})
    assert messaging.deliver_code(settings, PHONE, "code 123456", "123456", idempotency_key="k2") == "SMS"
    receiver.answers["/sms/"] = (500, {})
    assert messaging.deliver_code(settings, PHONE, "code 123456", "123456", idempotency_key="k3") is None
    unreachable = Settings(alimtalk_base_url="http://127.0.0.1:9", alimtalk_app_key="k", provider_timeout_s=1)
    assert messaging.deliver_code(unreachable, PHONE, "code", "123456") is None
