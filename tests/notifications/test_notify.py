"""notify(): in-app rows, outbox rows per channel ∩ choices ∩ addresses, dedupe, dev outbox."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beachsaver.core.enums import UserStatus
from beachsaver.core.runtime import cipher_of
from beachsaver.messaging.models import DevMessage
from beachsaver.notifications import service
from beachsaver.notifications.models import Delivery, Notification, UserDevice


def add_device(db: Any, user: Any, token: str, platform: str = "ANDROID") -> UserDevice:
    device, _ = service.register_device(db, user, fcm_token=token, platform=platform)
    return device


def deliveries(db: Any, **where: Any) -> list[Delivery]:
    stmt = select(Delivery).where(Delivery.channel != service.INAPP)
    for key, value in where.items():
        stmt = stmt.where(getattr(Delivery, key) == value)
    return list(db.execute(stmt.order_by(Delivery.id)).scalars())


def test_channels_are_event_channels_and_choices_and_addresses(db: Any, people: dict[str, Any]) -> None:
    worker, admin = people["worker"], people["admin"]
    d1, d2 = people["devices"]
    created = service.notify(
        db,
        event="JOB_ASSIGNED",
        category="ASSIGNMENT",
        user_ids=[worker.id, admin.id, worker.id],
        title="새 작업",
        message="조사 작업이 배정되었습니다.",
        link="/app/jobs/7",
        channels=("PUSH", "ALIMTALK", "SMS", "EMAIL"),
        dedupe="job:7:assigned",
    )
    db.commit()
    assert sorted(n.user_id for n in created) == sorted([worker.id, admin.id])
    rows = {(d.user_id, d.channel, d.dedupe_key) for d in deliveries(db)}
    assert rows == {
        (worker.id, "PUSH", f"job:7:assigned:{worker.id}:PUSH:{d1.id}"),
        (worker.id, "PUSH", f"job:7:assigned:{worker.id}:PUSH:{d2.id}"),
        (worker.id, "ALIMTALK", f"job:7:assigned:{worker.id}:ALIMTALK"),
        (admin.id, "ALIMTALK", f"job:7:assigned:{admin.id}:ALIMTALK"),
        (admin.id, "EMAIL", f"job:7:assigned:{admin.id}:EMAIL"),
    }
    for row in deliveries(db):
        assert row.status == "PENDING"
        assert row.attempts == 0
        assert row.notification_id in {n.id for n in created}
    alim = deliveries(db, user_id=worker.id, channel="ALIMTALK")[0]
    assert alim.address.startswith("enc:") and "01022223333" not in alim.address
    assert alim.payload["template_params"] == {
        "title": "새 작업",
        "message": "조사 작업이 배정되었습니다.",
        "link": "/app/jobs/7",
    }
    push = deliveries(db, user_id=worker.id, channel="PUSH")
    assert {p.address for p in push} == {"fcm-token-worker-1", "fcm-token-worker-2"}
    assert push[0].subject == "새 작업" and push[0].body == "조사 작업이 배정되었습니다."
    email = deliveries(db, channel="EMAIL")[0]
    assert email.address == "district@example.org"
    assert email.subject == "[Beach-Saver] 새 작업"
    assert email.body == "조사 작업이 배정되었습니다.\n\n/app/jobs/7"
    inapp = db.execute(select(Notification).where(Notification.user_id == worker.id)).scalar_one()
    assert (inapp.category, inapp.event, inapp.status, inapp.link) == (
        "ASSIGNMENT",
        "JOB_ASSIGNED",
        "UNREAD",
        "/app/jobs/7",
    )


def test_choices_switch_channels_on_and_off(db: Any, people: dict[str, Any]) -> None:
    worker = people["worker"]
    worker.email = "worker@example.org"
    service.update_preferences(db, worker, {"REPORT": {"PUSH": False, "EMAIL": True, "SMS": True}})
    service.notify(
        db,
        event="REPORT_APPROVED",
        category="REPORT",
        user_ids=[worker.id],
        title="보고서 승인",
        message="승인되었습니다.",
        channels=("PUSH", "EMAIL"),
        dedupe="report:1:approved",
    )
    db.commit()
    assert [(d.channel, d.address) for d in deliveries(db)] == [("EMAIL", "worker@example.org")]
    assert db.execute(select(func.count()).select_from(Notification)).scalar_one() == 1


def test_security_defaults_include_sms_and_no_address_means_no_delivery(db: Any, people: dict[str, Any]) -> None:
    worker = people["worker"]
    db.execute(UserDevice.__table__.delete())
    service.notify(
        db,
        event="SECURITY_TEST",
        category="SECURITY",
        user_ids=[worker.id],
        title="보안",
        message="확인하세요",
        channels=("PUSH", "SMS", "EMAIL", "SLACK"),
        dedupe="sec:1",
    )
    db.commit()
    rows = deliveries(db)
    assert [(d.channel, d.user_id) for d in rows] == [("SMS", worker.id)]
    assert cipher_of(db).decrypt(__import__("base64").b64decode(rows[0].address[4:])) == "01022223333"
    assert rows[0].body == "[Beach-Saver] 보안\n확인하세요"


def test_a_repeated_event_creates_nothing_and_never_fails(client: TestClient, db: Any, people: dict[str, Any]) -> None:
    worker = people["worker"]
    kwargs: dict[str, Any] = {
        "event": "TEAM_DISBANDED",
        "category": "ASSIGNMENT",
        "user_ids": [worker.id],
        "title": "팀 해산",
        "message": "팀이 해산되었습니다.",
        "channels": ("PUSH", "ALIMTALK"),
        "dedupe": "team:3:disbanded",
    }
    first = service.notify(db, **kwargs)
    db.commit()
    assert len(first) == 1
    before = (len(deliveries(db)), db.execute(select(func.count()).select_from(DevMessage)).scalar_one())
    assert before == (3, 3)
    again = service.notify(db, **kwargs)
    db.commit()
    assert again == []
    assert db.execute(select(func.count()).select_from(Notification)).scalar_one() == 1
    assert (len(deliveries(db)), db.execute(select(func.count()).select_from(DevMessage)).scalar_one()) == before
    # A raw insert of a known key is skipped too (INSERT IGNORE / ON CONFLICT DO NOTHING).
    key = f"team:3:disbanded:{worker.id}:ALIMTALK"
    assert service.insert_ignore(db, {"channel": "SMS", "address": "x", "body": "b", "dedupe_key": key}) is False
    assert service.insert_ignore(db, {"channel": "SMS", "address": "x", "body": "b", "dedupe_key": key + "-new"})
    db.commit()
    assert len(deliveries(db)) == 4


def test_two_transactions_notifying_the_same_event_deliver_once(app: Any, db: Any, people: dict[str, Any]) -> None:
    worker, admin = people["worker"], people["admin"]
    factory = app.state.runtime.session_factory
    kwargs: dict[str, Any] = {
        "event": "DEPOT_REQUESTED",
        "category": "ASSIGNMENT",
        "user_ids": [worker.id, admin.id],
        "title": "수거 요청",
        "message": "새 수거 요청",
        "channels": ("PUSH", "ALIMTALK", "EMAIL"),
        "dedupe": "depot:9:requested",
    }
    results: dict[str, Any] = {}

    def second() -> None:
        with factory() as other:
            try:
                results["second"] = service.notify(other, **kwargs)
                other.commit()
            except Exception as exc:  # pragma: no cover - reported below
                results["error"] = exc

    first_session = factory()
    results["first"] = service.notify(first_session, **kwargs)
    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.4)  # the second transaction is now blocked behind the first one's keys
    first_session.commit()
    first_session.close()
    thread.join(30)
    assert "error" not in results, results.get("error")
    assert len(results["first"]) == 2
    assert results["second"] == []
    db.expire_all()
    assert db.execute(select(func.count()).select_from(Notification)).scalar_one() == 2
    keys = [d.dedupe_key for d in deliveries(db)]
    assert len(keys) == len(set(keys)) == 5  # worker: 2 push + alimtalk; admin: alimtalk + email


def test_in_app_rows_share_the_event_transaction(app: Any, db: Any, people: dict[str, Any]) -> None:
    worker = people["worker"]
    with app.state.runtime.session_factory() as session:
        service.notify(
            session,
            event="X",
            category="NOTICE",
            user_ids=[worker.id],
            title="t",
            message="m",
            channels=("PUSH",),
            dedupe="rolled:back",
        )
        session.rollback()
    assert db.execute(select(func.count()).select_from(Notification)).scalar_one() == 0
    assert db.execute(select(func.count()).select_from(Delivery)).scalar_one() == 0


def test_withdrawn_users_get_no_outside_delivery(db: Any, people: dict[str, Any]) -> None:
    worker = people["worker"]
    worker.status = UserStatus.WITHDRAWN
    db.flush()
    created = service.notify(
        db,
        event="X",
        category="ACCOUNT",
        user_ids=[worker.id],
        title="t",
        message="m",
        channels=("PUSH", "ALIMTALK"),
        dedupe="acct:1",
    )
    db.commit()
    assert len(created) == 1
    assert deliveries(db) == []


def test_dev_outbox_shows_each_queued_delivery(client: TestClient, db: Any, people: dict[str, Any]) -> None:
    worker = people["worker"]
    d1, d2 = people["devices"]
    service.notify(
        db,
        event="JOB_ASSIGNED",
        category="ASSIGNMENT",
        user_ids=[worker.id],
        title="새 작업",
        message="작업이 배정되었습니다.",
        channels=("PUSH", "ALIMTALK"),
        dedupe="job:8:assigned",
    )
    db.commit()
    response = client.get("/api/dev/messages", params={"phone": "010-2222-3333"})
    assert response.status_code == 200
    got = sorted((m["channel"], m["to"], m["subject"], m["body"]) for m in response.json()["data"])
    assert got == sorted(
        [
            ("ALIMTALK", "01022223333", "새 작업", "[Beach-Saver] 새 작업\n작업이 배정되었습니다."),
            ("PUSH", f"device:{d1.id}", "새 작업", "작업이 배정되었습니다."),
            ("PUSH", f"device:{d2.id}", "새 작업", "작업이 배정되었습니다."),
        ]
    )
    assert all(m["code"] is None for m in response.json()["data"])


def test_keys_stay_header_safe_and_short(db: Any, people: dict[str, Any]) -> None:
    assert service.dedupe_key("report:1:ok", 5, "PUSH", 9) == "report:1:ok:5:PUSH:9"
    long_key = service.dedupe_key("x" * 200, 5, "EMAIL")
    unsafe = service.dedupe_key("보고서 1", 5, "EMAIL")
    for key in (long_key, unsafe):
        assert len(key) <= 160 and key.isascii() and " " not in key and key.endswith(":5:EMAIL")
    assert service.dedupe_key("보고서 1", 5, "EMAIL") == unsafe


def test_unknown_category_or_channel_is_a_programming_error(db: Any, people: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        service.notify(db, event="X", category="NOPE", user_ids=[1], title="t", message="m", dedupe="k")
    with pytest.raises(ValueError):
        service.notify(
            db, event="X", category="NOTICE", user_ids=[1], title="t", message="m", channels=("FAX",), dedupe="k"
        )
