"""The notifications API: my list, read marks, preferences, broadcast, device registration."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.audit.models import AuditEntry
from beachsaver.core.enums import Role, UserStatus
from beachsaver.notifications import service
from beachsaver.notifications.models import Delivery, Notification, UserDevice
from tests.factories import auth, make_city, make_district, make_user, token_for

ALL_ON_ASSIGNMENT = {"PUSH": True, "ALIMTALK": True, "SMS": False, "EMAIL": False}


def notify(db: Any, user_ids: list[int], *, n: int = 1, category: str = "REPORT", prefix: str = "evt") -> None:
    for i in range(n):
        service.notify(
            db,
            event="REPORT_APPROVED",
            category=category,
            user_ids=user_ids,
            title=f"제목 {i}",
            message=f"내용 {i}",
            link=f"/app/reports/{i}",
            channels=("PUSH",),
            dedupe=f"{prefix}:{i}",
        )


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    city = make_city(db)
    district = make_district(db, city)
    other_city = make_city(db)
    other_district = make_district(db, other_city)
    users = {
        "platform": make_user(db, Role.PLATFORM_ADMIN, city.parent if False else _root(db)),
        "city_admin": make_user(db, Role.CITY_ADMIN, city),
        "district_admin": make_user(db, Role.DISTRICT_ADMIN, district),
        "worker": make_user(db, Role.INVESTIGATOR, district),
        "cleaner": make_user(db, Role.CLEANER, district),
        "collector": make_user(db, Role.COLLECTOR, district),
        "outsider": make_user(db, Role.INVESTIGATOR, other_district),
        "pending": make_user(db, Role.CITIZEN, district, status=UserStatus.PENDING_APPROVAL),
        "suspended": make_user(db, Role.CLEANER, district, status=UserStatus.SUSPENDED),
    }
    db.commit()
    tokens = {name: token_for(db, user) for name, user in users.items() if name != "suspended"}
    db.commit()
    return {
        "city": city,
        "district": district,
        "other_city": other_city,
        "other_district": other_district,
        "users": users,
        "tokens": tokens,
    }


def _root(db: Any) -> Any:
    from beachsaver.orgs import service as org_service

    return org_service.ensure_root(db)


def error_of(response: Any) -> tuple[int, str, list[str]]:
    body = response.json()
    assert body["success"] is False and body["data"] is None
    return response.status_code, body["error"]["code"], [d["field"] for d in body["error"].get("details") or []]


# --- list -------------------------------------------------------------------------------------


def test_list_is_mine_newest_first_with_paging(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    worker, outsider = world["users"]["worker"], world["users"]["outsider"]
    notify(db, [worker.id], n=3)
    notify(db, [outsider.id], n=2, prefix="other")
    db.commit()
    headers = auth(world["tokens"]["worker"])
    r = client.get("/api/notifications", headers=headers, params={"size": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meta"] == {"page": 1, "size": 2, "total": 3, "total_pages": 2}
    assert [n["title"] for n in body["data"]] == ["제목 2", "제목 1"]
    first = body["data"][0]
    assert set(first) == {"id", "category", "title", "message", "link", "status", "created_at", "read_at"}
    assert first["category"] == "REPORT" and first["status"] == "UNREAD" and first["read_at"] is None
    assert first["link"] == "/app/reports/2" and first["created_at"].endswith("Z") and len(first["created_at"]) == 20
    page2 = client.get("/api/notifications", headers=headers, params={"size": 2, "page": 2}).json()
    assert [n["title"] for n in page2["data"]] == ["제목 0"]
    past = client.get("/api/notifications", headers=headers, params={"page": 9}).json()
    assert past["data"] == [] and past["meta"]["total"] == 3


def test_status_filter_and_bad_queries(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    worker = world["users"]["worker"]
    notify(db, [worker.id], n=3)
    db.commit()
    headers = auth(world["tokens"]["worker"])
    ids = [n["id"] for n in client.get("/api/notifications", headers=headers).json()["data"]]
    assert client.post("/api/notifications/read", headers=headers, json={"ids": [ids[0]]}).json()["data"] == {
        "updated": 1
    }
    unread = client.get("/api/notifications", headers=headers, params={"status": "unread"}).json()
    assert [n["id"] for n in unread["data"]] == ids[1:]
    read = client.get("/api/notifications", headers=headers, params={"status": "READ"}).json()
    assert [n["id"] for n in read["data"]] == [ids[0]]
    assert read["data"][0]["status"] == "READ" and read["data"][0]["read_at"].endswith("Z")
    assert error_of(client.get("/api/notifications", headers=headers, params={"status": "SEEN"})) == (
        400,
        "VALIDATION_ERROR",
        ["query.status"],
    )
    assert error_of(client.get("/api/notifications", headers=headers, params={"size": 101})) == (
        400,
        "VALIDATION_ERROR",
        ["query.size"],
    )
    assert error_of(client.get("/api/notifications", headers=headers, params={"sort": "title,asc"})) == (
        400,
        "VALIDATION_ERROR",
        ["query.sort"],
    )
    assert client.get("/api/notifications").status_code == 401


def test_pending_citizens_may_use_their_notifications(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    pending = world["users"]["pending"]
    notify(db, [pending.id], category="ACCOUNT")
    db.commit()
    headers = auth(world["tokens"]["pending"])
    r = client.get("/api/notifications", headers=headers)
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    assert client.post("/api/notifications/read", headers=headers, json={"all": True}).json()["data"] == {"updated": 1}
    assert client.get("/api/notifications/preferences", headers=headers).status_code == 200
    r = client.put("/api/notifications/preferences", headers=headers, json={"NOTICE": {"SMS": True}})
    assert r.status_code == 200 and r.json()["data"]["NOTICE"]["SMS"] is True
    r = client.post("/api/users/me/devices", headers=headers, json={"fcm_token": "tok-pending", "platform": "android"})
    assert r.status_code == 201
    r = client.post("/api/notifications/broadcast", headers=headers, json={"title": "t", "message": "m"})
    assert error_of(r)[:2] == (403, "FORBIDDEN")


# --- read -------------------------------------------------------------------------------------


def test_read_by_ids_all_and_foreign_ids(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    worker, outsider = world["users"]["worker"], world["users"]["outsider"]
    notify(db, [worker.id], n=3)
    notify(db, [outsider.id], n=1, prefix="o")
    db.commit()
    headers = auth(world["tokens"]["worker"])
    mine = [n["id"] for n in client.get("/api/notifications", headers=headers).json()["data"]]
    foreign = db.execute(select(Notification.id).where(Notification.user_id == outsider.id)).scalar_one()
    db.commit()  # end the read (SQLite: every transaction holds the write lock)
    r = client.post("/api/notifications/read", headers=headers, json={"ids": [mine[0], foreign]})
    assert error_of(r)[:2] == (404, "NOT_FOUND")
    assert client.post("/api/notifications/read", headers=headers, json={"ids": [mine[0], mine[0]]}).json() == {
        "success": True,
        "data": {"updated": 1},
        "error": None,
        "meta": None,
    }
    assert client.post("/api/notifications/read", headers=headers, json={"ids": [mine[0]]}).json()["data"] == {
        "updated": 0
    }
    assert client.post("/api/notifications/read", headers=headers, json={"all": True}).json()["data"] == {"updated": 2}
    assert client.post("/api/notifications/read", headers=headers, json={"all": True}).json()["data"] == {"updated": 0}
    other = db.execute(select(Notification).where(Notification.id == foreign)).scalar_one()
    assert other.status == "UNREAD"
    actions = db.execute(select(AuditEntry.action).where(AuditEntry.actor_id == worker.id)).scalars().all()
    assert actions.count("NOTIFICATION_READ") == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"ids": []}, "ids"),
        ({"ids": [0]}, "ids[0]"),
        ({"ids": ["x"]}, "ids[0]"),
        ({"all": False}, "body"),
        ({"all": "yes"}, "all"),
        ({"ids": [1], "all": True}, "body"),
        ({"ids": [1], "extra": 1}, "extra"),
    ],
)
def test_read_validation(client: TestClient, db: Any, world: dict[str, Any], body: Any, field: str) -> None:
    r = client.post("/api/notifications/read", headers=auth(world["tokens"]["worker"]), json=body)
    assert error_of(r) == (400, "VALIDATION_ERROR", [field])


def test_read_needs_json(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    headers = {**auth(world["tokens"]["worker"]), "Content-Type": "text/plain"}
    r = client.post("/api/notifications/read", headers=headers, content=b"all")
    assert error_of(r)[:2] == (415, "UNSUPPORTED_MEDIA_TYPE")
    headers["Content-Type"] = "application/json"
    assert error_of(client.post("/api/notifications/read", headers=headers, content=b"{"))[:3] == (
        400,
        "VALIDATION_ERROR",
        ["body"],
    )


# --- preferences ------------------------------------------------------------------------------


def test_preferences_defaults(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    worker = client.get("/api/notifications/preferences", headers=auth(world["tokens"]["worker"])).json()["data"]
    assert list(worker) == ["ACCOUNT", "ASSIGNMENT", "REPORT", "DEPOT", "TEAM", "NOTICE", "STATISTICS", "SECURITY"]
    assert worker["ASSIGNMENT"] == ALL_ON_ASSIGNMENT
    assert worker["ACCOUNT"] == {"PUSH": True, "ALIMTALK": True, "SMS": False, "EMAIL": False}
    assert worker["SECURITY"] == {"PUSH": True, "ALIMTALK": True, "SMS": True, "EMAIL": False}
    assert worker["REPORT"] == {"PUSH": True, "ALIMTALK": False, "SMS": False, "EMAIL": False}
    admin = client.get("/api/notifications/preferences", headers=auth(world["tokens"]["district_admin"])).json()["data"]
    assert admin["REPORT"] == {"PUSH": True, "ALIMTALK": False, "SMS": False, "EMAIL": True}
    assert admin["SECURITY"] == {"PUSH": True, "ALIMTALK": True, "SMS": True, "EMAIL": True}


def test_preferences_put_merges_and_persists(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    headers = auth(world["tokens"]["worker"])
    r = client.put(
        "/api/notifications/preferences",
        headers=headers,
        json={"report": {"push": False, "email": True}, "ASSIGNMENT": {"SMS": True}},
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["REPORT"] == {"PUSH": False, "ALIMTALK": False, "SMS": False, "EMAIL": True}
    assert data["ASSIGNMENT"] == {"PUSH": True, "ALIMTALK": True, "SMS": True, "EMAIL": False}
    r = client.put("/api/notifications/preferences", headers=headers, json={"ASSIGNMENT": {"SMS": False}})
    assert r.json()["data"]["ASSIGNMENT"] == ALL_ON_ASSIGNMENT
    assert r.json()["data"]["REPORT"]["EMAIL"] is True
    again = client.get("/api/notifications/preferences", headers=headers).json()["data"]
    assert again == r.json()["data"]
    # The same document goes back unchanged (a GET → PUT round trip is accepted).
    assert client.put("/api/notifications/preferences", headers=headers, json=again).json()["data"] == again
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "NOTIFICATION_PREFERENCES_UPDATE")).scalars().all()
    assert len(entry) == 2  # the unchanged round trip records nothing


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"ASSIGNMENT": {"PUSH": False}}, ["ASSIGNMENT.PUSH"]),
        ({"SECURITY": {"SMS": False, "PUSH": False}}, ["SECURITY.SMS", "SECURITY.PUSH"]),
        ({"assignment": {"alimtalk": False}}, ["assignment.alimtalk"]),
        ({"WEATHER": {"PUSH": True}}, ["WEATHER"]),
        ({"REPORT": {"FAX": True}}, ["REPORT.FAX"]),
        ({"REPORT": {"SLACK": True}}, ["REPORT.SLACK"]),
        ({"REPORT": {"PUSH": "no"}}, ["REPORT.PUSH"]),
        ({"REPORT": {"PUSH": 0}}, ["REPORT.PUSH"]),
        ({"REPORT": True}, ["REPORT"]),
        ([], ["body"]),
    ],
)
def test_preferences_validation(
    client: TestClient, db: Any, world: dict[str, Any], body: Any, fields: list[str]
) -> None:
    headers = auth(world["tokens"]["worker"])
    r = client.put("/api/notifications/preferences", headers=headers, json=body)
    assert error_of(r) == (400, "VALIDATION_ERROR", fields)
    assert (
        client.get("/api/notifications/preferences", headers=headers).json()["data"]["ASSIGNMENT"] == ALL_ON_ASSIGNMENT
    )


def test_admin_email_is_locked_on_for_security_but_optional_elsewhere(
    client: TestClient, db: Any, world: dict[str, Any]
) -> None:
    headers = auth(world["tokens"]["district_admin"])
    r = client.put("/api/notifications/preferences", headers=headers, json={"SECURITY": {"EMAIL": False}})
    assert error_of(r) == (400, "VALIDATION_ERROR", ["SECURITY.EMAIL"])
    r = client.put("/api/notifications/preferences", headers=headers, json={"REPORT": {"EMAIL": False}})
    assert r.status_code == 200 and r.json()["data"]["REPORT"]["EMAIL"] is False


# --- broadcast --------------------------------------------------------------------------------


def recipients_of(db: Any) -> set[int]:
    db.expire_all()
    found = set(db.execute(select(Notification.user_id).where(Notification.category == "NOTICE")).scalars())
    db.commit()
    return found


def test_broadcast_reaches_active_users_in_scope(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    u = world["users"]
    r = client.post(
        "/api/notifications/broadcast",
        headers=auth(world["tokens"]["city_admin"]),
        json={"title": "기상 특보", "message": "태풍 접근으로 오늘 작업은 중지합니다."},
    )
    assert r.status_code == 200, r.text
    in_scope = {u[k].id for k in ("city_admin", "district_admin", "worker", "cleaner", "collector")}
    assert r.json()["data"] == {"recipients": len(in_scope)}
    assert recipients_of(db) == in_scope
    row = db.execute(select(Notification).where(Notification.user_id == u["worker"].id)).scalar_one()
    assert (row.category, row.event, row.title) == ("NOTICE", "NOTICE_BROADCAST", "기상 특보")
    audit = db.execute(select(AuditEntry).where(AuditEntry.action == "NOTIFICATION_BROADCAST")).scalar_one()
    assert audit.actor_id == u["city_admin"].id


def test_broadcast_by_roles_orgs_and_channels(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    u = world["users"]
    other_city_id = world["other_city"].id
    service.register_device(db, u["cleaner"], fcm_token="tok-cleaner", platform="ANDROID")
    db.commit()
    headers = auth(world["tokens"]["platform"])
    r = client.post(
        "/api/notifications/broadcast",
        headers=headers,
        json={
            "title": "공지",
            "message": "장비 점검",
            "roles": ["cleaner", "COLLECTOR"],
            "org_ids": [world["district"].id],
            "channels": ["push", "sms"],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"recipients": 2}
    assert recipients_of(db) == {u["cleaner"].id, u["collector"].id}
    sent = db.execute(select(Delivery.user_id, Delivery.channel).where(Delivery.channel != "INAPP")).all()
    db.commit()
    assert sent == [(u["cleaner"].id, "PUSH")]  # SMS is off for NOTICE unless chosen
    r = client.post(
        "/api/notifications/broadcast",
        headers=headers,
        json={"title": "공지", "message": "도시 전체", "org_ids": [other_city_id]},
    )
    assert r.json()["data"] == {"recipients": 1}


def test_broadcast_outside_scope_and_bad_input(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    headers = auth(world["tokens"]["district_admin"])
    body = {"title": "t", "message": "m", "org_ids": [world["other_district"].id]}
    assert error_of(client.post("/api/notifications/broadcast", headers=headers, json=body))[:2] == (404, "NOT_FOUND")
    body["org_ids"] = [world["city"].id]  # the parent of my district is outside my scope too
    assert error_of(client.post("/api/notifications/broadcast", headers=headers, json=body))[:2] == (404, "NOT_FOUND")
    body["org_ids"] = [987654321]
    assert error_of(client.post("/api/notifications/broadcast", headers=headers, json=body))[:2] == (404, "NOT_FOUND")
    assert recipients_of(db) == set()
    bad = {"title": " ", "message": "x" * 2001, "roles": ["KING"], "channels": ["SLACK"], "org_ids": [-1]}
    assert error_of(client.post("/api/notifications/broadcast", headers=headers, json=bad)) == (
        400,
        "VALIDATION_ERROR",
        ["title", "message", "roles[0]", "org_ids[0]", "channels[0]"],
    )
    worker = client.post(
        "/api/notifications/broadcast", headers=auth(world["tokens"]["worker"]), json={"title": "t", "message": "m"}
    )
    assert error_of(worker)[:2] == (403, "FORBIDDEN")


# --- devices ----------------------------------------------------------------------------------


def test_register_device(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    u = world["users"]
    headers = auth(world["tokens"]["worker"])
    r = client.post("/api/users/me/devices", headers=headers, json={"fcm_token": "fcm:abc-123", "platform": "ios"})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert set(data) == {"id", "platform", "created_at", "last_seen_at"} and data["platform"] == "IOS"
    again = client.post("/api/users/me/devices", headers=headers, json={"fcm_token": "fcm:abc-123", "platform": "IOS"})
    assert again.status_code == 200 and again.json()["data"]["id"] == data["id"]
    # The same phone signed in to another account: the token moves there.
    moved = client.post(
        "/api/users/me/devices",
        headers=auth(world["tokens"]["cleaner"]),
        json={"fcm_token": "fcm:abc-123", "platform": "IOS"},
    )
    assert moved.status_code == 201 and moved.json()["data"]["id"] == data["id"]
    db.expire_all()
    device = db.execute(select(UserDevice)).scalar_one()
    assert device.user_id == u["cleaner"].id and device.fcm_token == "fcm:abc-123"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"platform": "ANDROID"}, ["fcm_token"]),
        ({"fcm_token": "", "platform": "ANDROID"}, ["fcm_token"]),
        ({"fcm_token": "a b", "platform": "ANDROID"}, ["fcm_token"]),
        ({"fcm_token": "x" * 401, "platform": "ANDROID"}, ["fcm_token"]),
        ({"fcm_token": "ok", "platform": "BLACKBERRY"}, ["platform"]),
        ({"fcm_token": "ok", "platform": "WEB", "user_id": 3}, ["user_id"]),
    ],
)
def test_register_device_validation(
    client: TestClient, db: Any, world: dict[str, Any], body: Any, fields: list[str]
) -> None:
    r = client.post("/api/users/me/devices", headers=auth(world["tokens"]["worker"]), json=body)
    assert error_of(r) == (400, "VALIDATION_ERROR", fields)


def test_devices_are_capped_per_user(client: TestClient, db: Any, world: dict[str, Any]) -> None:
    headers = auth(world["tokens"]["worker"])
    for i in range(service.MAX_DEVICES + 2):
        assert (
            client.post(
                "/api/users/me/devices", headers=headers, json={"fcm_token": f"t{i}", "platform": "WEB"}
            ).status_code
            == 201
        )
    tokens = set(db.execute(select(UserDevice.fcm_token)).scalars())
    assert tokens == {f"t{i}" for i in range(2, service.MAX_DEVICES + 2)}
