"""Policy-table events of accounts and teams (N1, N2, N12, N20) reach the right people."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.core.enums import Role, UserStatus
from beachsaver.notifications.models import Notification
from tests.factories import auth, latest_code, make_city, make_district, make_team, make_user, token_for


def _events(db: Any, user_id: int) -> list[str]:
    events = list(db.execute(select(Notification.event).where(Notification.user_id == user_id)).scalars())
    db.rollback()
    return events


def test_signup_approval_and_rejection_are_notified(client: TestClient, db: Any) -> None:
    city = make_city(db)
    district = make_district(db, city)
    city_admin = make_user(db, Role.CITY_ADMIN, city)
    admin_token = token_for(db, city_admin)
    db.commit()
    phone = "01055556666"
    assert client.post("/api/auth/otp", json={"phone": phone, "purpose": "SIGNUP"}).status_code == 200
    body = {
        "nickname": "새봉사",
        "phone": phone,
        "code": latest_code(client, phone),
        "org_id": district.id,
        "privacy_consent": True,
    }
    signup = client.post("/api/users/volunteer", json=body)
    assert signup.status_code == 201, signup.text
    citizen_id = signup.json()["data"]["id"]
    assert _events(db, city_admin.id) == ["SIGNUP_PENDING"]
    assert client.post(f"/api/users/{citizen_id}/approve", headers=auth(admin_token)).status_code == 200
    assert _events(db, citizen_id) == ["SIGNUP_APPROVED"]

    other = make_user(db, Role.CITIZEN, district, status=UserStatus.PENDING_APPROVAL)
    db.commit()
    r = client.post(f"/api/users/{other.id}/reject", json={"reason": "연락처 불일치"}, headers=auth(admin_token))
    assert r.status_code == 200
    assert _events(db, other.id) == ["SIGNUP_REJECTED"]


def test_disbanding_notifies_the_members(client: TestClient, db: Any) -> None:
    district = make_district(db, make_city(db))
    admin = make_user(db, Role.DISTRICT_ADMIN, district)
    leader = make_user(db, Role.CLEANER, district)
    member = make_user(db, Role.CLEANER, district)
    team = make_team(db, district, leader, [member])
    token = token_for(db, admin)
    db.commit()
    r = client.patch(f"/api/teams/{team.id}", json={"status": "DISBANDED"}, headers=auth(token))
    assert r.status_code == 200, r.text
    assert _events(db, member.id) == ["TEAM_DISBANDED"] and _events(db, leader.id) == ["TEAM_DISBANDED"]
