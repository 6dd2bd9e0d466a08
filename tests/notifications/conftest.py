from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from beachsaver.core.enums import Role, UserStatus
from beachsaver.notifications import service
from tests.factories import make_city, make_district, make_user
from tests.notifications.receivers import (
    HttpReceiver,
    SmtpServer,
    running_smtp,
    start_http_receiver,
    stop_http_receiver,
)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    rec, server = start_http_receiver()
    yield rec
    stop_http_receiver(rec, server)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from running_smtp()


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    """A district's investigator with two devices, its admin, a cleaner who chose e-mail and SMS
    over push for reports, and a withdrawn investigator."""
    city = make_city(db)
    district = make_district(db, city)
    worker = make_user(db, Role.INVESTIGATOR, district, phone="01022223333")
    admin = make_user(db, Role.DISTRICT_ADMIN, district, phone="01044445555")
    admin.email = "district@example.org"
    chooser = make_user(db, Role.CLEANER, district, phone="01066667777")
    chooser.email = "chooser@example.org"
    gone = make_user(db, Role.INVESTIGATOR, district, phone="01088889999")
    db.flush()
    gone.status = UserStatus.WITHDRAWN
    service.update_preferences(db, chooser, {"REPORT": {"PUSH": False, "EMAIL": True, "SMS": True}})
    devices = [
        service.register_device(db, worker, fcm_token=token, platform=platform)[0]
        for token, platform in (("fcm-token-worker-1", "ANDROID"), ("fcm-token-worker-2", "IOS"))
    ]
    service.register_device(db, chooser, fcm_token="fcm-chooser", platform="ANDROID")
    db.commit()
    return {
        "city": city,
        "district": district,
        "worker": worker,
        "admin": admin,
        "chooser": chooser,
        "gone": gone,
        "devices": devices,
    }
