"""Security events reach the security officers: platform admins in-app (and on their channels),
SMS to the alert phones, e-mail to the alert addresses and Slack — through the outbox."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.audit import security
from beachsaver.core.enums import Role
from beachsaver.notifications import delivery, service
from beachsaver.notifications.models import Delivery, Notification
from beachsaver.orgs import service as org_service
from tests.factories import make_city, make_district, make_user
from tests.notifications.receivers import HttpReceiver, SmtpServer, provider_settings

ADMIN_PHONE = "01055556666"


@pytest.fixture
def settings_overrides(receiver: HttpReceiver, smtp: SmtpServer) -> dict[str, Any]:
    return {
        **provider_settings(receiver, smtp),
        "security_alert_phones": f"010-9999-8888, {ADMIN_PHONE}, not-a-phone",
        "security_alert_emails": "sec@example.org,soc@example.org",
    }


@pytest.fixture
def officers(db: Any) -> dict[str, Any]:
    root = org_service.ensure_root(db)
    platform = make_user(db, Role.PLATFORM_ADMIN, root, phone=ADMIN_PHONE)
    city = make_city(db)
    city_admin = make_user(db, Role.CITY_ADMIN, city)
    district = make_district(db, city)
    worker = make_user(db, Role.INVESTIGATOR, district, phone="01012345678")
    db.commit()
    return {"platform": platform, "city_admin": city_admin, "worker": worker}


def outbox(db: Any) -> list[tuple[int | None, str]]:
    db.expire_all()
    found = [
        (d.user_id, d.channel)
        for d in db.execute(select(Delivery).where(Delivery.channel != "INAPP").order_by(Delivery.id)).scalars()
    ]
    db.commit()
    return found


def test_the_handler_is_registered() -> None:
    assert service.alert_security_officers in security.HANDLERS
    assert security.HANDLERS.count(service.alert_security_officers) == 1


def test_a_security_event_alerts_every_officer_once_per_window(
    app: Any, db: Any, officers: dict[str, Any], receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    platform = officers["platform"]
    security.raise_event(db, "lockout", details={"kind": "phone", "failures": 5, "phone": "01012345678"})
    db.commit()
    inapp = db.execute(select(Notification)).scalars().all()
    assert [(n.user_id, n.category, n.event) for n in inapp] == [(platform.id, "SECURITY", "SECURITY_LOCKOUT")]
    assert "lockout" in inapp[0].title and "failures=5" in inapp[0].message
    assert "01012345678" not in inapp[0].message  # details arrive masked
    assert outbox(db) == [
        (platform.id, "SMS"),
        (platform.id, "EMAIL"),
        (None, "SMS"),  # 010-9999-8888; the admin's own number is not sent twice
        (None, "EMAIL"),
        (None, "EMAIL"),
        (None, "SLACK"),
    ]
    # The same kind again inside the window: in-app again, no second round of SMS/e-mail/Slack.
    security.raise_event(db, "lockout", details={"kind": "phone", "failures": 5})
    security.raise_event(db, "refresh_reuse", details={"session_id": 4})
    db.commit()
    assert len(db.execute(select(Notification)).scalars().all()) == 3
    assert len(outbox(db)) == 12
    db.commit()

    assert delivery.deliver_pending(app.state.runtime.session_factory, app.state.settings) == 12
    assert sorted(r.json["recipientList"][0]["recipientNo"] for r in receiver.of("/sms/")) == sorted(
        [ADMIN_PHONE, "01099998888"] * 2
    )
    assert len(receiver.of("/slack/")) == 2
    assert sorted(m["X-RcptTo"] for m in smtp.messages) == sorted(
        ["admin@example.org", "sec@example.org", "soc@example.org"] * 2
    )
    assert set(receiver.accepted_keys().values()) == {1}


def test_a_lockout_through_the_api_reaches_slack(
    app: Any, client: TestClient, db: Any, officers: dict[str, Any], receiver: HttpReceiver
) -> None:
    client.post("/api/auth/login", json={"phone": "01012345678"})
    for _ in range(5):
        r = client.post("/api/auth/verify", json={"phone": "01012345678", "code": "000000"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "UNAUTHENTICATED")  # the fifth failure locks
    assert (None, "SLACK") in outbox(db)
    delivery.deliver_pending(app.state.runtime.session_factory, app.state.settings)
    (slack,) = receiver.of("/slack/")
    assert "lockout" in slack.json["text"]


def test_batch_failure_alert_goes_to_the_job_owner(app: Any, db: Any, smtp: SmtpServer, receiver: HttpReceiver) -> None:
    settings = app.state.settings.model_copy(update={"job_owner_emails": "backup=dba@example.org|ops2@example.org"})
    assert service.job_owner_emails(settings, "backup") == ["dba@example.org", "ops2@example.org"]
    assert service.job_owner_emails(settings, "rollup") == []
    with_ops = settings.model_copy(update={"ops_email": "ops@example.org"})
    assert service.job_owner_emails(with_ops, "rollup") == ["ops@example.org"]
    as_json = settings.model_copy(update={"job_owner_emails": '{"rollup": ["a@example.org"]}'})
    assert service.job_owner_emails(as_json, "rollup") == ["a@example.org"]
    db.info["runtime"].settings = with_ops  # the session reaches settings through its runtime
    try:
        assert service.alert_batch_failure(db, "rollup", "timeout", run_id=3) == 2
        assert service.alert_batch_failure(db, "rollup", "timeout", run_id=3) == 0  # deduped
        db.commit()
    finally:
        db.info["runtime"].settings = app.state.settings
    delivery.deliver_pending(app.state.runtime.session_factory, app.state.settings)
    assert [m["X-RcptTo"] for m in smtp.messages] == ["ops@example.org"]
    assert len(receiver.of("/slack/")) == 1
