"""Real stand-ins for the providers: a threaded HTTP server on loopback (Slack, NHN AlimTalk and
SMS, the FCM token URI and send endpoint, a JSON webhook) and an aiosmtpd SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    status: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.raw.decode("utf-8"))

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw.decode("utf-8")).items()}

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


NHN_OK = {"header": {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"}}


@dataclass
class HttpReceiver:
    """Records every request; ``fail_next``/``mode`` make it answer 500 (or any status) or hang."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    mode: str = "ok"  # ok | fail | hang
    fail_status: int = 500
    fail_body: dict[str, Any] | None = None
    fail_paths: tuple[str, ...] = ()  # only these path prefixes fail (empty: all)
    failures_left: int = 0
    token_counter: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, status: int = 500, paths: tuple[str, ...] = ()) -> None:
        with self.lock:
            self.failures_left = count
            self.fail_status = status
            self.fail_paths = paths

    def answer(self, path: str) -> tuple[int, Any]:
        with self.lock:
            failing = self.mode == "fail" or self.failures_left > 0
            if failing and (not self.fail_paths or path.startswith(self.fail_paths)):
                if self.failures_left > 0:
                    self.failures_left -= 1
                return self.fail_status, self.fail_body or {"error": "provider down"}
            if path.startswith(("/alimtalk/", "/sms/")):
                return 200, NHN_OK
            if path.endswith("/token"):
                self.token_counter += 1
                return 200, {
                    "access_token": f"ya29.test-{self.token_counter}",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                }
            if path.startswith("/v1/projects/"):
                return 200, {"name": f"{path.split('/messages')[0]}/messages/{len(self.requests)}"}
            if path.startswith("/slack"):
                return 200, "ok"
            return 200, {"ok": True}

    def of(self, prefix: str, *, accepted: bool | None = None) -> list[Received]:
        with self.lock:
            items = [r for r in self.requests if r.path.startswith(prefix)]
        return [r for r in items if accepted is None or r.accepted == accepted]

    def accepted_keys(self) -> Counter[str]:
        with self.lock:
            return Counter(
                r.headers["idempotency-key"] for r in self.requests if r.accepted and "idempotency-key" in r.headers
            )


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            item = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
            with receiver.lock:
                receiver.requests.append(item)
                hang = receiver.mode == "hang"
            if hang:
                receiver.release.wait(10)
                item.status = 599
                return
            status, body = receiver.answer(self.path)
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            item.status = status
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def start_http_receiver() -> tuple[HttpReceiver, ThreadingHTTPServer]:
    receiver = HttpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


def stop_http_receiver(receiver: HttpReceiver, server: ThreadingHTTPServer) -> None:
    receiver.release.set()
    server.shutdown()
    server.server_close()


class SmtpSink(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[EmailMessage] = []

    def handle_message(self, message: EmailMessage) -> None:
        self.messages.append(message)


@dataclass
class SmtpServer:
    port: int
    sink: SmtpSink

    @property
    def messages(self) -> list[EmailMessage]:
        return self.sink.messages


def running_smtp() -> Iterator[SmtpServer]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port=port, sink=sink)
    finally:
        controller.stop()


def provider_settings(receiver: HttpReceiver, smtp: SmtpServer) -> dict[str, Any]:
    """``settings_overrides`` pointing every provider of ``Settings`` at the receivers."""
    return {
        "alimtalk_base_url": receiver.url,
        "alimtalk_app_key": "alim-app",
        "alimtalk_secret_key": "alim-secret",
        "alimtalk_sender_key": "sender-key-1",
        "sms_base_url": receiver.url,
        "sms_app_key": "sms-app",
        "sms_secret_key": "sms-secret",
        "sms_sender_no": "0511234567",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_from": "noreply@beachsaver.test",
        "slack_webhook_url": f"{receiver.url}/slack/hook",
        "provider_timeout_s": 1,
        "worker_in_process": "false",
    }
