"""notify_many(): N events at once write exactly the rows of N notify() calls."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from beachsaver.core.runtime import cipher_of
from beachsaver.messaging.models import DevMessage
from beachsaver.notifications import service
from beachsaver.notifications.models import Delivery, Notification
from beachsaver.notifications.service import NotifyEvent
from tests.statements import counting


def events(people: dict[str, Any]) -> list[NotifyEvent]:
    w, a, c, g = (people[k].id for k in ("worker", "admin", "chooser", "gone"))
    everyone = (w, a, c, g, 999_999)  # an unknown id gets nothing
    return [
        NotifyEvent(
            event="JOB_ASSIGNED",
            category="ASSIGNMENT",
            user_ids=(a, w, w),
            title="새 작업",
            message="조사 작업이 배정되었습니다.",
            link="/app/jobs/7",
            channels=("PUSH", "ALIMTALK", "SMS", "EMAIL"),
            dedupe="job:7:assigned",
        ),
        NotifyEvent(
            event="REPORT_SUBMITTED",
            category="REPORT",
            user_ids=everyone,
            title="새 보고서",
            message="보고서 #1이(가) 제출되었습니다.",
            link="/admin/reports/1",
            channels=("PUSH", "EMAIL"),
            dedupe="report:1:submitted:20260101000000000000",
        ),
        NotifyEvent(  # already notified before: nothing again
            event="TEAM_DISBANDED",
            category="TEAM",
            user_ids=(w, a),
            title="팀 해산",
            message="팀이 해산되었습니다.",
            channels=("PUSH", "EMAIL"),
            dedupe="team:3:disbanded",
        ),
        NotifyEvent(  # the same event twice in the batch: the second finds the first's keys
            event="JOB_ASSIGNED",
            category="ASSIGNMENT",
            user_ids=(w, c),
            title="새 작업 (다시)",
            message="다시",
            channels=("PUSH", "ALIMTALK"),
            dedupe="job:7:assigned",
        ),
        NotifyEvent(
            event="SECURITY_" + "X" * 60,  # cut to 48 in the in-app row, whole in the payload
            category="SECURITY",
            user_ids=everyone,
            title="보" * 250,  # cut to 200
            message="확인하세요",
            link="/admin/logs/" + "y" * 400,  # cut to 300
            channels=("PUSH", "SMS", "EMAIL", "SLACK"),
            dedupe="보안 이벤트 1",  # not header-safe: hashed
        ),
        NotifyEvent(
            event="NOTICE_BROADCAST",
            category="NOTICE",
            user_ids=everyone,
            title="공지",
            message="in-app only",
            channels=(),
            dedupe="broadcast:1",
        ),
        NotifyEvent(
            event="NOBODY", category="NOTICE", user_ids=(), title="t", message="m", channels=("PUSH",), dedupe="none"
        ),
        NotifyEvent(
            event="REPORT_APPROVED",
            category="REPORT",
            user_ids=(c, w),
            title="보고서 승인",
            message="승인되었습니다.",
            channels=("PUSH", "EMAIL", "SMS"),
            dedupe="report:1:approved",
        ),
    ]


def notify_one_by_one(db: Any, specs: list[NotifyEvent]) -> list[list[Notification]]:
    return [
        service.notify(
            db,
            event=e.event,
            category=e.category,
            user_ids=e.user_ids,
            title=e.title,
            message=e.message,
            link=e.link,
            channels=e.channels,
            dedupe=e.dedupe,
        )
        for e in specs
    ]


def high_water(db: Any) -> tuple[int, int, int]:
    def last(column: Any) -> int:
        return int(db.execute(select(func.coalesce(func.max(column), 0))).scalar_one())

    return last(Notification.id), last(Delivery.id), last(DevMessage.id)


def snapshot(db: Any, since: tuple[int, int, int], created: list[list[Notification]]) -> dict[str, Any]:
    """The rows written after ``since``, ids replaced by positions, phones decrypted."""
    db.expire_all()
    notifications = list(
        db.execute(select(Notification).where(Notification.id > since[0]).order_by(Notification.id)).scalars()
    )
    position = {n.id: i for i, n in enumerate(notifications)}
    cipher = cipher_of(db)

    def address(d: Delivery) -> str:
        if d.address.startswith(service.ENC_PREFIX):
            return f"decrypted:{cipher.decrypt(base64.b64decode(d.address[len(service.ENC_PREFIX) :]))}"
        return d.address

    def delivery(d: Delivery) -> tuple[Any, ...]:
        payload = dict(d.payload) if d.payload is not None else None
        if payload and "notification_id" in payload:
            payload["notification_id"] = position[payload["notification_id"]]
        return (
            position.get(d.notification_id) if d.notification_id is not None else None,
            d.user_id,
            d.channel,
            address(d),
            d.subject,
            d.body,
            payload,
            d.dedupe_key,
            d.status,
            d.attempts,
            d.sent_at is not None,
            d.last_error,
        )

    deliveries = list(db.execute(select(Delivery).where(Delivery.id > since[1]).order_by(Delivery.id)).scalars())
    messages = db.execute(
        select(DevMessage.channel, DevMessage.to, DevMessage.phone, DevMessage.purpose, DevMessage.code)
        .add_columns(DevMessage.subject, DevMessage.body)
        .where(DevMessage.id > since[2])
        .order_by(DevMessage.id)
    ).all()
    # Each notify call writes its in-app markers before its outbox rows; notify_many writes every
    # marker of the batch first. Within each kind the order is the same.
    return {
        "notifications": [
            (n.user_id, n.category, n.event, n.title, n.message, n.link, n.status, n.read_at) for n in notifications
        ],
        "markers": [delivery(d) for d in deliveries if d.channel == service.INAPP],
        "outbox": [delivery(d) for d in deliveries if d.channel != service.INAPP],
        "dev_messages": [tuple(m) for m in messages],
        "created": [[position[n.id] for n in per_event] for per_event in created],
    }


def forget(db: Any, since: tuple[int, int, int]) -> None:
    db.execute(delete(Delivery).where(Delivery.id > since[1]))
    db.execute(delete(Notification).where(Notification.id > since[0]))
    db.execute(delete(DevMessage).where(DevMessage.id > since[2]))
    db.commit()


def already_notified(db: Any, people: dict[str, Any]) -> None:
    service.notify(
        db,
        event="TEAM_DISBANDED",
        category="TEAM",
        user_ids=[people["worker"].id, people["admin"].id],
        title="팀 해산",
        message="팀이 해산되었습니다.",
        channels=("PUSH", "EMAIL"),
        dedupe="team:3:disbanded",
    )
    db.commit()


def test_notify_many_writes_what_one_notify_per_event_writes(db: Any, people: dict[str, Any]) -> None:
    already_notified(db, people)
    specs = events(people)
    since = high_water(db)

    one_by_one = notify_one_by_one(db, specs)
    db.commit()
    expected = snapshot(db, since, one_by_one)
    forget(db, since)

    batched = service.notify_many(db, specs)
    db.commit()
    got = snapshot(db, since, batched)

    assert got == expected
    # and the scenario covers what it means to: every kind of row, skipped keys, cut texts
    assert len(expected["notifications"]) == 2 + 4 + 0 + 1 + 4 + 4 + 0 + 2  # the withdrawn user too
    assert {d[2] for d in expected["outbox"]} == {"PUSH", "ALIMTALK", "SMS", "EMAIL"}
    assert expected["dev_messages"] and expected["created"][2] == []
    assert any(len(n[3]) == 200 and len(n[5] or "") == 300 and len(n[2]) == 48 for n in expected["notifications"])


def test_notify_many_is_one_round_of_statements(db: Any, app: Any, people: dict[str, Any]) -> None:

    specs = [
        NotifyEvent(
            event="REPORT_SUBMITTED",
            category="REPORT",
            user_ids=(people["admin"].id, people["worker"].id, people["chooser"].id),
            title="새 보고서",
            message=f"보고서 #{i}",
            link=f"/admin/reports/{i}",
            channels=("PUSH", "EMAIL", "SMS"),
            dedupe=f"report:{i}:submitted",
        )
        for i in range(40)
    ]
    with counting(app.state.runtime.engine) as statements:
        created = service.notify_many(db, specs)
    db.commit()
    assert [len(c) for c in created] == [3] * 40
    # users (without their profiles), known markers, ids, notifications, devices, known outbox
    # keys, markers, outbox rows, dev outbox: never one per event or recipient
    assert len(statements) <= 9, statements
    assert not [s for s in statements if "_profiles" in s.split("WHERE")[0].split("FROM")[-1]], statements


def test_a_key_written_concurrently_between_check_and_insert_is_not_ours(
    db: Any, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The known-key check can miss a key another transaction commits right after it: the batch
    insert then skips it, and the result is what notify gives when that key was there first."""
    already_notified(db, people)
    specs = events(people)
    since = high_water(db)

    expected_created = notify_one_by_one(db, specs)
    db.commit()
    expected = snapshot(db, since, expected_created)
    forget(db, since)

    monkeypatch.setattr(service, "_existing_keys", lambda db, keys: set())  # the check sees nothing
    batched = service.notify_many(db, specs)
    db.commit()
    got = snapshot(db, since, batched)

    assert got == expected
