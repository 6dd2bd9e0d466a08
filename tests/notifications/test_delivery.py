"""Delivery through real receivers: an aiosmtpd SMTP server and a loopback HTTP server standing
in for Slack, NHN AlimTalk/SMS, the FCM token URI and the FCM send endpoint."""

from __future__ import annotations

import threading
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.enums import Role
from beachsaver.core.time import to_utc, utcnow
from beachsaver.notifications import delivery, service
from beachsaver.notifications.models import Delivery, UserDevice
from beachsaver.notifications.providers import clear_token_cache
from tests.factories import make_city, make_district, make_user
from tests.notifications.helpers import public_pem, with_settings, write_service_account
from tests.notifications.receivers import HttpReceiver, SmtpServer, provider_settings

PHONE = "01022223333"


@pytest.fixture
def settings_overrides(receiver: HttpReceiver, smtp: SmtpServer) -> dict[str, Any]:
    return provider_settings(receiver, smtp)


@pytest.fixture
def send_settings(app: Any, receiver: HttpReceiver, tmp_path: Path) -> Any:
    clear_token_cache()
    key = write_service_account(tmp_path / "fcm.json", f"{receiver.url}/token")
    return with_settings(app.state.settings, fcm_credentials_file=str(key), fcm_base_url=receiver.url)


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    city = make_city(db)
    district = make_district(db, city)
    worker = make_user(db, Role.INVESTIGATOR, district, phone=PHONE)
    admin = make_user(db, Role.DISTRICT_ADMIN, district)
    admin.email = "district@example.org"
    device, _ = service.register_device(db, worker, fcm_token="fcm-token-1", platform="ANDROID")
    db.commit()
    return {"worker": worker, "admin": admin, "device": device}


def rows(db: Any) -> list[Delivery]:
    db.expire_all()
    found = list(db.execute(select(Delivery).where(Delivery.channel != "INAPP").order_by(Delivery.id)).scalars())
    db.commit()  # end the read: on SQLite every transaction holds the write lock
    return found


def assign(db: Any, people: dict[str, Any], *, channels: tuple[str, ...], dedupe: str = "job:7:assigned") -> None:
    service.notify(
        db,
        event="JOB_ASSIGNED",
        category="ASSIGNMENT",
        user_ids=[people["worker"].id],
        title="새 작업",
        message="조사 작업이 배정되었습니다.",
        link="/app/jobs/7",
        channels=channels,
        dedupe=dedupe,
    )
    db.commit()


def sms_to_slack_rows(db: Any, n: int, prefix: str = "bulk") -> list[str]:
    keys = []
    for i in range(n):
        key = f"{prefix}:{i}"
        channel = ("SMS", "SLACK", "ALIMTALK")[i % 3]
        assert service.queue_delivery(
            db,
            service.outgoing(
                db,
                channel=channel,
                address=PHONE if channel != "SLACK" else "slack",
                key=key,
                title=f"t{i}",
                message=f"m{i}",
            ),
        )
        keys.append(key)
    db.commit()
    return keys


def test_each_provider_receives_the_body_its_api_expects(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, smtp: SmtpServer, send_settings: Any
) -> None:
    worker, admin, device = people["worker"], people["admin"], people["device"]
    service.update_preferences(db, worker, {"ASSIGNMENT": {"SMS": True}})
    db.commit()
    assign(db, people, channels=("PUSH", "ALIMTALK", "SMS"))
    service.notify(
        db,
        event="REPORT_SUBMITTED",
        category="REPORT",
        user_ids=[admin.id],
        title="보고서 제출",
        message="새 보고서가 제출되었습니다.",
        link="/admin/reports/3",
        channels=("EMAIL",),
        dedupe="report:3:submitted",
    )
    service.alert_batch_failure(db, "rollup", "boom", run_id=5)
    db.commit()
    factory = app.state.runtime.session_factory
    assert delivery.deliver_pending(factory, send_settings) == 5
    assert delivery.deliver_pending(factory, send_settings) == 0
    w = worker.id

    (alim,) = receiver.of("/alimtalk/")
    assert alim.path == "/alimtalk/v2.3/appkeys/alim-app/messages"
    assert alim.headers["x-secret-key"] == "alim-secret"
    assert alim.headers["idempotency-key"] == f"job:7:assigned:{w}:ALIMTALK"
    assert alim.json == {
        "senderKey": "sender-key-1",
        "templateCode": "BEACHSAVER_NOTICE",
        "recipientList": [
            {
                "recipientNo": PHONE,
                "templateParameter": {
                    "title": "새 작업",
                    "message": "조사 작업이 배정되었습니다.",
                    "link": "/app/jobs/7",
                },
            }
        ],
    }
    (sms,) = receiver.of("/sms/")
    assert sms.path == "/sms/v3.0/appKeys/sms-app/sender/sms"
    assert sms.headers["x-secret-key"] == "sms-secret"
    assert sms.headers["idempotency-key"] == f"job:7:assigned:{w}:SMS"
    assert sms.json == {
        "body": "[Beach-Saver] 새 작업\n조사 작업이 배정되었습니다.",
        "sendNo": "0511234567",
        "recipientList": [{"recipientNo": PHONE}],
    }
    (token,) = receiver.of("/token")
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(token.form["assertion"], public_pem(), algorithms=["RS256"], audience=f"{receiver.url}/token")
    assert claims["iss"] == "fcm-sender@beachsaver-test.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(token.form["assertion"])["kid"] == "kid-1"
    (push,) = receiver.of("/v1/")
    assert push.path == "/v1/projects/beachsaver-test/messages:send"
    assert push.headers["authorization"] == "Bearer ya29.test-1"
    assert push.headers["idempotency-key"] == f"job:7:assigned:{w}:PUSH:{device.id}"
    message = push.json["message"]
    assert message["token"] == "fcm-token-1"
    assert message["notification"] == {"title": "새 작업", "body": "조사 작업이 배정되었습니다."}
    assert message["data"]["link"] == "/app/jobs/7"
    assert message["data"]["category"] == "ASSIGNMENT" and message["data"]["event"] == "JOB_ASSIGNED"
    assert message["data"]["dedupe_key"] == f"job:7:assigned:{w}:PUSH:{device.id}"
    assert all(isinstance(v, str) for v in message["data"].values())
    (slack,) = receiver.of("/slack/")
    assert slack.path == "/slack/hook"
    assert slack.json == {"text": "*배치 작업 실패: rollup*\n배치 작업 'rollup'이(가) 실패했습니다: boom"}
    assert slack.headers["idempotency-key"] == "job-failure:rollup:5:owner:SLACK"

    (mail,) = smtp.messages
    assert mail["X-RcptTo"] == "district@example.org"
    assert mail["To"] == "district@example.org" and mail["From"] == "noreply@beachsaver.test"
    assert str(make_header(decode_header(mail["Subject"]))) == "[Beach-Saver] 보고서 제출"
    assert mail["Message-ID"] == f"<report.3.submitted.{admin.id}.EMAIL@beachsaver>"  # the key as a dot-atom
    assert (
        mail.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n").strip()
        == "새 보고서가 제출되었습니다.\n\n/admin/reports/3"
    )

    sent = rows(db)
    assert [r.status for r in sent] == ["SENT"] * 5
    assert all(r.attempts == 1 and r.sent_at is not None and r.last_error is None for r in sent)


def test_failures_back_off_exponentially_then_succeed(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    assign(db, people, channels=("ALIMTALK",))
    factory = app.state.runtime.session_factory
    t0 = utcnow() + timedelta(seconds=1)
    receiver.mode = "fail"
    assert delivery.deliver_pending(factory, send_settings, now=t0) == 1
    (row,) = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("FAILED", 1, "HTTP 500")
    assert to_utc(row.next_attempt_at) == t0 + timedelta(seconds=30)
    assert delivery.deliver_pending(factory, send_settings, now=t0 + timedelta(seconds=29)) == 0
    assert delivery.deliver_pending(factory, send_settings, now=t0 + timedelta(seconds=30)) == 1
    (row,) = rows(db)
    assert (row.status, row.attempts) == ("FAILED", 2)
    assert to_utc(row.next_attempt_at) == t0 + timedelta(seconds=30 + 60)
    receiver.mode = "ok"
    assert delivery.deliver_pending(factory, send_settings, now=t0 + timedelta(seconds=90)) == 1
    (row,) = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("SENT", 3, None)
    assert len(receiver.of("/alimtalk/")) == 3
    assert receiver.accepted_keys() == {f"job:7:assigned:{people['worker'].id}:ALIMTALK": 1}


def test_dead_after_the_last_try_and_retry_resends(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    settings = with_settings(send_settings, notify_max_attempts=3)
    assign(db, people, channels=("PUSH", "ALIMTALK"))
    factory = app.state.runtime.session_factory
    t0 = utcnow() + timedelta(seconds=1)
    receiver.mode = "fail"
    for offset in (0, 30, 90):
        assert delivery.deliver_pending(factory, settings, now=t0 + timedelta(seconds=offset)) == 2
    assert [(r.status, r.attempts) for r in rows(db)] == [("DEAD", 3), ("DEAD", 3)]
    assert delivery.deliver_pending(factory, settings, now=t0 + timedelta(days=1)) == 0
    receiver.mode = "ok"
    with pytest.raises(errors.NotFound):
        delivery.retry_dead(db, 987654321)
    db.rollback()
    first = rows(db)[0].id
    assert delivery.retry_dead(db, first) == 1
    db.commit()
    assert delivery.deliver_pending(factory, settings) == 1
    assert delivery.retry_dead(db, first) == 0  # SENT now: nothing to re-queue
    assert delivery.retry_dead(db) == 1
    db.commit()
    assert delivery.deliver_pending(factory, settings) == 1
    assert [(r.status, r.attempts) for r in rows(db)] == [("SENT", 1), ("SENT", 1)]
    assert sorted(receiver.accepted_keys().values()) == [1, 1]


def test_a_hanging_provider_times_out_and_is_retried(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    assign(db, people, channels=("ALIMTALK",))
    factory = app.state.runtime.session_factory
    receiver.mode = "hang"
    assert delivery.deliver_pending(factory, send_settings) == 1
    (row,) = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("FAILED", 1, "ReadTimeout")
    receiver.mode = "ok"
    receiver.release.set()
    assert delivery.deliver_pending(factory, send_settings, now=to_utc(row.next_attempt_at)) == 1
    assert rows(db)[0].status == "SENT"
    assert len(receiver.accepted_keys()) == 1


def test_parallel_workers_never_send_a_key_twice(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    keys = sms_to_slack_rows(db, 40)
    factory = app.state.runtime.session_factory
    receiver.fail_next(6)  # a few failures on the way: retried rows must not be sent twice either
    done: list[int] = []
    problems: list[BaseException] = []
    barrier = threading.Barrier(3)

    def worker() -> None:
        try:
            barrier.wait(10)
            for _ in range(4):
                done.append(
                    delivery.deliver_pending(factory, send_settings, batch=7, now=utcnow() + timedelta(hours=1))
                )
        except BaseException as exc:  # pragma: no cover - reported below
            problems.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not problems, problems
    # Whatever is left (failed ones) goes out later; nothing is lost.
    later = utcnow() + timedelta(hours=2)
    while delivery.deliver_pending(factory, send_settings, now=later):
        later += timedelta(hours=1)
    accepted = receiver.accepted_keys()
    assert sorted(accepted) == sorted(keys)
    assert set(accepted.values()) == {1}
    assert {r.status for r in rows(db)} == {"SENT"}
    failed_requests = [r for r in receiver.requests if not r.accepted]
    assert len(failed_requests) == 6
    assert sum(r.attempts for r in rows(db)) == 46


def test_two_workers_racing_for_the_same_rows(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    keys = sms_to_slack_rows(db, 12, prefix="race")
    factory = app.state.runtime.session_factory
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait(10)
        counts.append(delivery.deliver_pending(factory, send_settings, batch=50))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts) == 12
    assert receiver.accepted_keys() == dict.fromkeys(keys, 1)


def test_fcm_token_is_cached_and_renewed_after_401(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    factory = app.state.runtime.session_factory
    assign(db, people, channels=("PUSH",), dedupe="one")
    assign(db, people, channels=("PUSH",), dedupe="two")
    assert delivery.deliver_pending(factory, send_settings) == 2
    assert len(receiver.of("/token")) == 1
    assert {r.headers["authorization"] for r in receiver.of("/v1/")} == {"Bearer ya29.test-1"}
    assign(db, people, channels=("PUSH",), dedupe="three")
    receiver.fail_next(1, status=401, paths=("/v1/",))
    now = utcnow() + timedelta(seconds=1)
    assert delivery.deliver_pending(factory, send_settings, now=now) == 1
    assert rows(db)[-1].status == "FAILED"
    assert delivery.deliver_pending(factory, send_settings, now=now + timedelta(seconds=30)) == 1
    assert rows(db)[-1].status == "SENT"
    assert len(receiver.of("/token")) == 2
    assert receiver.of("/v1/")[-1].headers["authorization"] == "Bearer ya29.test-2"


def test_fcm_token_uri_setting_and_unregistered_tokens(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    settings = with_settings(send_settings, fcm_token_uri=f"{receiver.url}/oauth2/token", fcm_project_id="other-proj")
    receiver.fail_body = {"error": {"code": 404, "status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}
    receiver.fail_next(1, status=404, paths=("/v1/",))
    assign(db, people, channels=("PUSH",))
    factory = app.state.runtime.session_factory
    assert delivery.deliver_pending(factory, settings) == 1
    assert [r.path for r in receiver.requests] == ["/oauth2/token", "/v1/projects/other-proj/messages:send"]
    (row,) = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("DEAD", 1, "HTTP 404 UNREGISTERED")
    assert db.execute(select(UserDevice)).scalars().all() == []


def test_generic_webhook_adapter(
    app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any
) -> None:
    settings = with_settings(
        send_settings,
        notify_webhook_url=f"{receiver.url}/webhook/notify",
        notify_webhook_token="hook-token",
        notify_webhook_channels="sms, alimtalk",
    )
    assign(db, people, channels=("ALIMTALK",))
    assert delivery.deliver_pending(app.state.runtime.session_factory, settings) == 1
    (hook,) = receiver.requests
    key = f"job:7:assigned:{people['worker'].id}:ALIMTALK"
    assert hook.path == "/webhook/notify"
    assert hook.headers["authorization"] == "Bearer hook-token"
    assert hook.headers["idempotency-key"] == key
    assert hook.json == {
        "channel": "ALIMTALK",
        "to": PHONE,
        "subject": "새 작업",
        "body": "[Beach-Saver] 새 작업\n조사 작업이 배정되었습니다.",
        "data": {
            "event": "JOB_ASSIGNED",
            "category": "ASSIGNMENT",
            "link": "/app/jobs/7",
            "notification_id": hook.json["data"]["notification_id"],
        },
        "idempotency_key": key,
    }


def test_unconfigured_channels(app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver) -> None:
    factory = app.state.runtime.session_factory
    bare = with_settings(app.state.settings, alimtalk_base_url=None)
    assign(db, people, channels=("PUSH", "ALIMTALK"))
    assert delivery.deliver_pending(factory, bare) == 2  # dev: the dev outbox captured them
    assert [r.status for r in rows(db)] == ["SENT", "SENT"]
    assert receiver.requests == []
    assign(db, people, channels=("PUSH", "ALIMTALK"), dedupe="prod")
    assert delivery.deliver_pending(factory, with_settings(bare, dev_outbox=False)) == 2
    assert [(r.status, r.last_error) for r in rows(db)[2:]] == [
        ("DEAD", "no provider configured for PUSH"),
        ("DEAD", "no provider configured for ALIMTALK"),
    ]


def test_queue_status(app: Any, db: Any, people: dict[str, Any], receiver: HttpReceiver, send_settings: Any) -> None:
    assert delivery.queue_status(db) == {"ok": True, "pending": 0, "oldest_s": 0}
    assign(db, people, channels=("PUSH", "ALIMTALK"))
    later = utcnow() + timedelta(minutes=6)
    assert delivery.queue_status(db, now=later) == {"ok": False, "pending": 2, "oldest_s": 360}
    db.commit()
    delivery.deliver_pending(app.state.runtime.session_factory, send_settings)
    assert delivery.queue_status(db, now=later) == {"ok": True, "pending": 0, "oldest_s": 0}
    db.commit()
