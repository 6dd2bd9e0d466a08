"""Builders for test data, committed through the same services the API uses."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.auth import service as auth_service
from beachsaver.core.enums import CleanerType, OrgType, Role, UserStatus
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.users import service as user_service
from beachsaver.users.models import User, VehicleProfile, WorkerProfile

PASSWORD = "Correct-Horse-9"
_phones = itertools.count(10_000_001)
_codes = itertools.count(1)


def next_phone() -> str:
    return f"010{next(_phones):08d}"


def make_city(db: Session, code: str | None = None, name: str = "테스트시") -> Organization:
    root = org_service.ensure_root(db)
    return org_service.create(
        db, actor_id=None, name=name, code=code or f"C{next(_codes):04d}", type=OrgType.CITY, parent=root
    )


def make_district(db: Session, city: Organization, suffix: str | None = None, name: str = "테스트구") -> Organization:
    return org_service.create(
        db,
        actor_id=None,
        name=name,
        code=f"{city.code}-{suffix or f'D{next(_codes):04d}'}",
        type=OrgType.DISTRICT,
        parent=city,
    )


def make_user(
    db: Session,
    role: Role,
    org: Organization,
    *,
    phone: str | None = None,
    nickname: str = "테스터",
    status: UserStatus = UserStatus.ACTIVE,
    cleaner_type: CleanerType | None = None,
    vehicle: bool | None = None,
    verified: bool = False,
) -> User:
    if role == Role.CLEANER and cleaner_type is None:
        cleaner_type = CleanerType.REGULAR
    user = user_service.build_user(
        db,
        nickname=nickname,
        phone=phone or next_phone(),
        role=role,
        org=org,
        status=status,
        created_by=None,
        cleaner_type=cleaner_type,
        email="admin@example.org" if role.is_admin else None,
        password=PASSWORD if role.is_admin else None,
        org_code_for_id="PLATFORM" if role == Role.PLATFORM_ADMIN else ("CITIZEN" if role == Role.CITIZEN else None),
    )
    if role in (Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR):
        user.worker_profile = WorkerProfile()
    if role == Role.COLLECTOR and vehicle is not False:
        from beachsaver.core.time import utcnow

        user.vehicle = VehicleProfile(
            type="SMALL",
            capacity_t=Decimal("1.00"),
            plate_no="12가3456",
            operator_type="INDIVIDUAL",
            verified_at=utcnow() if verified else None,
        )
    db.flush()
    return user


def token_for(db: Session, user: User) -> str:
    """Sign a user in directly (the sign-in flows have their own tests)."""
    tokens = auth_service.start_session(db, user, auth_service.ClientInfo(ip="127.0.0.1"), kind="test")
    return str(tokens["access_token"])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def latest_code(client: TestClient, phone: str) -> str:
    response = client.get("/api/dev/messages", params={"phone": phone, "size": 100})
    codes = [m["code"] for m in response.json()["data"] if m["code"]]
    assert codes, f"no code sent to {phone}"
    return str(codes[0])


def make_beach(
    db: Session, district: Organization, name: str = "테스트해변", lat: str = "35.1586975", lng: str = "129.1603842"
) -> Any:
    from beachsaver.beaches.models import Beach

    beach = Beach(
        org_id=district.id,
        beach_name=name,
        si="부산광역시",
        gu_gun=district.name,
        dong_eub="우동",
        workplace="관리사무소",
        latitude=Decimal(lat),
        longitude=Decimal(lng),
    )
    db.add(beach)
    db.flush()
    return beach


def make_team(db: Session, district: Organization, leader: User, members: list[User], name: str | None = None) -> Any:
    from beachsaver.teams.models import Team, TeamMembership

    team = Team(org_id=district.id, name=name or f"팀{next(_codes)}", status="ACTIVE", leader_id=leader.id)
    db.add(team)
    db.flush()
    db.add(TeamMembership(team_id=team.id, user_id=leader.id, role_in_team="LEADER", status="ACTIVE"))
    for member in members:
        db.add(TeamMembership(team_id=team.id, user_id=member.id, role_in_team="MEMBER", status="ACTIVE"))
    db.flush()
    return team


def make_image(db: Session, user: User, image_type: str) -> Any:
    """An image row as the upload endpoint leaves it (bytes are not needed by report tests)."""
    import secrets

    from beachsaver.images.models import Image

    image = Image(
        type=image_type,
        storage_key=f"test/{secrets.token_hex(8)}.jpg",
        content_type="image/jpeg",
        width=10,
        height=10,
        bytes=100,
        sha256="0" * 64,
        uploaded_by=user.id,
        org_id=user.org_id,
    )
    db.add(image)
    db.flush()
    return image
