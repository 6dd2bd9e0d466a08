"""Report schedules (GET, POST, DELETE) and the `scheduled-pdf` job e-mailing the PDF through a real
SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core.time import SEOUL, utcnow
from beachsaver.reports_pdf import service
from beachsaver.reports_pdf.models import ReportSchedule
from beachsaver.reports_pdf.schemas import Frequency
from tests.imports.world import World, build_world


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


SMTP_PORT = free_port()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": SMTP_PORT, "smtp_from": "reports@beachsaver.test"}


@pytest.fixture
def smtp() -> Iterator[Sink]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def w(db: Session) -> World:
    return build_world(db)


# ---- the API ------------------------------------------------------------------------------------


def test_create_list_delete(client: TestClient, db: Session, w: World) -> None:
    body = {
        "org_id": w.d1,
        "frequency": "weekly",
        "recipients": ["Ops@Example.org", "ops@example.org", "b@example.org"],
    }
    response = client.post("/api/statistics/report-schedules", headers=w.city_admin, json=body)
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert created["org_id"] == w.d1
    assert created["frequency"] == "WEEKLY"
    assert created["recipients"] == ["ops@example.org", "b@example.org"]
    assert created["language"] == "ko"
    assert created["last_run_at"] is None
    # the next Monday at 08:00 Asia/Seoul
    next_run = datetime.fromisoformat(created["next_run_at"].replace("Z", "+00:00")).astimezone(SEOUL)
    assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 8, 0)
    assert timedelta(0) < next_run - datetime.now(SEOUL) <= timedelta(days=7)

    monthly = client.post(
        "/api/statistics/report-schedules",
        headers=w.d1_admin,
        json={"frequency": "MONTHLY", "recipients": ["c@example.org"], "language": "en"},
    ).json()["data"]
    assert monthly["org_id"] == w.d1  # default: the caller's organisation
    assert datetime.fromisoformat(monthly["next_run_at"].replace("Z", "+00:00")).astimezone(SEOUL).day == 1

    listed = client.get("/api/statistics/report-schedules", headers=w.city_admin)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["data"]] == [monthly["id"], created["id"]]
    assert listed.json()["meta"] == {"page": 1, "size": 20, "total": 2, "total_pages": 1}
    assert client.get("/api/statistics/report-schedules", headers=w.other_admin).json()["data"] == []

    assert client.delete(f"/api/statistics/report-schedules/{created['id']}", headers=w.other_admin).status_code == 404
    deleted = client.delete(f"/api/statistics/report-schedules/{created['id']}", headers=w.d1_admin)
    assert deleted.status_code == 200
    assert deleted.json()["data"] is None
    assert client.delete(f"/api/statistics/report-schedules/{created['id']}", headers=w.d1_admin).status_code == 404
    assert [s["id"] for s in client.get("/api/statistics/report-schedules", headers=w.d1_admin).json()["data"]] == [
        monthly["id"]
    ]
    actions = sorted(
        a for (a,) in db.execute(select(AuditEntry.action).where(AuditEntry.action.like("REPORT_SCHEDULE_%"))).all()
    )
    db.commit()
    assert actions == ["REPORT_SCHEDULE_CREATE", "REPORT_SCHEDULE_CREATE", "REPORT_SCHEDULE_DELETE"]


def test_scope_and_roles(client: TestClient, w: World) -> None:
    body = {"org_id": w.d2, "frequency": "WEEKLY", "recipients": ["a@example.org"]}
    response = client.post("/api/statistics/report-schedules", headers=w.d1_admin, json=body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    for call in (
        lambda: client.post("/api/statistics/report-schedules", headers=w.worker, json=body),
        lambda: client.get("/api/statistics/report-schedules", headers=w.worker),
        lambda: client.delete("/api/statistics/report-schedules/1", headers=w.worker),
    ):
        forbidden = call()
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"frequency": "DAILY", "recipients": ["a@example.org"]}, "frequency"),
        ({"frequency": "WEEKLY", "recipients": []}, "recipients"),
        ({"frequency": "WEEKLY", "recipients": ["not-mail"]}, "recipients[0]"),
        ({"frequency": "WEEKLY", "recipients": [f"a{i}@example.org" for i in range(21)]}, "recipients"),
        ({"recipients": ["a@example.org"]}, "frequency"),
        ({"frequency": "WEEKLY", "recipients": ["a@example.org"], "language": "fr"}, "language"),
        ({"frequency": "WEEKLY", "recipients": ["a@example.org"], "next_run_at": "2030-01-01T08:00:00"}, "next_run_at"),
        (
            {"frequency": "WEEKLY", "recipients": ["a@example.org"], "next_run_at": "2020-01-01T08:00:00Z"},
            "next_run_at",
        ),
        ({"frequency": "WEEKLY", "recipients": ["a@example.org"], "org_id": 0}, "org_id"),
        ({"frequency": "WEEKLY", "recipients": ["a@example.org"], "extra": 1}, "extra"),
    ],
)
def test_bad_bodies_are_400(client: TestClient, w: World, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/statistics/report-schedules", headers=w.city_admin, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


# ---- the job ------------------------------------------------------------------------------------


def due_schedule(db: Session, w: World, **extra: Any) -> int:
    schedule = ReportSchedule(
        org_id=w.d1,
        frequency=extra.pop("frequency", "MONTHLY"),
        recipients=extra.pop("recipients", ["ops@example.org", "chief@example.org"]),
        language=extra.pop("language", "ko"),
        next_run_at=extra.pop("next_run_at", utcnow() - timedelta(minutes=1)),
        **extra,
    )
    db.add(schedule)
    db.commit()
    return schedule.id


def subject_of(message: Message) -> str:
    import email
    from email import policy

    return str(email.message_from_bytes(message.as_bytes(), policy=policy.default)["Subject"])


def attachment_of(message: Message) -> tuple[str, bytes]:
    for part in message.walk():
        if part.get_content_type() == "application/pdf":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return str(part.get_filename()), payload
    raise AssertionError("no PDF attached")


def test_due_reports_are_emailed_once_with_the_pdf(app: Any, db: Session, w: World, smtp: Sink, tmp_path: Path) -> None:
    schedule_id = due_schedule(db, w)
    runtime = app.state.runtime
    assert service.send_due_reports(runtime) == 1
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["X-RcptTo"] == "ops@example.org, chief@example.org"
    assert message["From"] == "reports@beachsaver.test"
    assert message["To"] == "ops@example.org, chief@example.org"
    start, end = service.run_period(Frequency.MONTHLY, utcnow())
    assert subject_of(message) == f"[Beach-Saver] 해운대구 요약 보고서 ({start} ~ {end})"
    filename, document = attachment_of(message)
    assert filename.startswith(f"beachsaver-summary-{w.d1_code}-") and filename.endswith(".pdf")
    assert document.startswith(b"%PDF-")
    path = tmp_path / "mailed.pdf"
    path.write_bytes(document)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "해양쓰레기 정화 요약 보고서" in text
    assert "해운대구" in text

    schedule = db.get(ReportSchedule, schedule_id)
    assert schedule is not None
    assert schedule.last_run_at is not None
    assert schedule.last_error is None
    assert schedule.next_run_at > utcnow()
    db.commit()
    # nothing is due any more: nothing is sent twice
    assert service.send_due_reports(runtime) == 0
    assert len(smtp.messages) == 1


def test_smtp_down_keeps_the_schedule_due_and_fails_the_run(app: Any, db: Session, w: World) -> None:
    schedule_id = due_schedule(db, w, frequency="WEEKLY", language="en")
    runtime = app.state.runtime
    with pytest.raises(RuntimeError, match="1 scheduled report"):
        service.send_due_reports(runtime)
    schedule = db.get(ReportSchedule, schedule_id)
    assert schedule is not None
    assert schedule.last_error == "ConnectionRefusedError"
    assert schedule.last_run_at is None
    assert schedule.next_run_at <= utcnow()
    db.commit()

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        assert service.send_due_reports(runtime) == 1
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert subject_of(sink.messages[0]).startswith("[Beach-Saver] 해운대구 summary (")
    db.expire_all()
    schedule = db.get(ReportSchedule, schedule_id)
    assert schedule is not None
    assert schedule.last_error is None
    db.commit()


# ---- dates --------------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_first_run_advance_and_period() -> None:
    monday_8 = at("2026-06-01T08:00:00+09:00")
    assert service.first_run(Frequency.WEEKLY, at("2026-05-27T12:00:00+09:00")) == monday_8
    assert service.first_run(Frequency.WEEKLY, at("2026-06-01T07:59:00+09:00")) == monday_8
    assert service.first_run(Frequency.WEEKLY, monday_8) == at("2026-06-08T08:00:00+09:00")
    assert service.first_run(Frequency.MONTHLY, at("2026-05-27T12:00:00+09:00")) == monday_8
    assert service.first_run(Frequency.MONTHLY, at("2026-12-15T00:00:00+09:00")) == at("2027-01-01T08:00:00+09:00")

    assert service.advance(Frequency.WEEKLY, monday_8, monday_8) == at("2026-06-08T08:00:00+09:00")
    # a worker stopped for weeks sends once, then moves past now
    assert service.advance(Frequency.WEEKLY, monday_8, at("2026-06-20T00:00:00+09:00")) == at(
        "2026-06-22T08:00:00+09:00"
    )
    jan_31 = at("2026-01-31T08:00:00+09:00")
    assert service.advance(Frequency.MONTHLY, jan_31, jan_31) == at("2026-02-28T08:00:00+09:00")

    assert service.run_period(Frequency.WEEKLY, monday_8) == (
        datetime(2026, 5, 25).date(),
        datetime(2026, 5, 31).date(),
    )
    assert service.run_period(Frequency.MONTHLY, monday_8) == (
        datetime(2026, 5, 1).date(),
        datetime(2026, 5, 31).date(),
    )
    assert service.run_period(Frequency.MONTHLY, at("2026-01-01T08:00:00+09:00")) == (
        datetime(2025, 12, 1).date(),
        datetime(2025, 12, 31).date(),
    )
