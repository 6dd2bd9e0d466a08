"""A small world for team tests: two cities, three districts, admins of each tier, workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core.enums import Role, UserStatus
from beachsaver.orgs.models import Organization
from beachsaver.users.models import User
from tests.factories import auth, make_city, make_district, make_user, token_for


@dataclass
class World:
    db: Session
    client: TestClient
    city: Organization
    d1: Organization
    d2: Organization
    other_city: Organization
    od: Organization
    platform: User
    city_admin: User
    admin1: User
    admin2: User
    other_admin: User
    cleaners: list[User]
    cleaner_d2: User
    cleaner_od: User
    investigator: User
    collector: User
    suspended: User
    _tokens: dict[int, dict[str, str]] = field(default_factory=dict)

    def h(self, user: User) -> dict[str, str]:
        """Authorization headers for ``user`` (one session per user per test)."""
        if user.id not in self._tokens:
            self._tokens[user.id] = auth(token_for(self.db, user))
            self.db.commit()
        return self._tokens[user.id]

    def cleaner(self, nickname: str = "청소원", org: Organization | None = None, **kw: Any) -> User:
        user = make_user(self.db, Role.CLEANER, org or self.d1, nickname=nickname, **kw)
        self.db.commit()
        return user

    def create_team(
        self,
        name: str = "해운대1팀",
        leader: User | None = None,
        members: list[User] | None = None,
        by: User | None = None,
    ) -> dict[str, Any]:
        leader = leader or self.cleaners[0]
        members = self.cleaners[1:3] if members is None else members
        r = self.client.post(
            "/api/teams",
            json={"name": name, "org_id": leader.org_id, "leader_id": leader.id, "member_ids": [m.id for m in members]},
            headers=self.h(by or self.admin1),
        )
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def members(self, team_id: int, by: User | None = None, **params: Any) -> list[dict[str, Any]]:
        r = self.client.get(
            f"/api/teams/{team_id}/members", params={"size": 100, **params}, headers=self.h(by or self.admin1)
        )
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()["data"]
        return rows

    def audit(self, action: str) -> list[AuditEntry]:
        # Audit entries never change, so nothing needs expiring; end the read transaction at once
        # (SQLite transactions begin IMMEDIATE and would hold the write lock the API needs).
        entries = list(
            self.db.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars()
        )
        self.db.commit()
        return entries


@pytest.fixture
def world(db: Session, client: TestClient) -> World:
    city = make_city(db, name="부산")
    d1 = make_district(db, city, name="해운대구")
    d2 = make_district(db, city, name="수영구")
    other_city = make_city(db, name="울산")
    od = make_district(db, other_city, name="동구")
    platform_org = db.execute(select(Organization).where(Organization.code == "PLATFORM")).scalar_one()
    w = World(
        db=db,
        client=client,
        city=city,
        d1=d1,
        d2=d2,
        other_city=other_city,
        od=od,
        platform=make_user(db, Role.PLATFORM_ADMIN, platform_org, nickname="플랫폼"),
        city_admin=make_user(db, Role.CITY_ADMIN, city, nickname="부산시"),
        admin1=make_user(db, Role.DISTRICT_ADMIN, d1, nickname="해운대"),
        admin2=make_user(db, Role.DISTRICT_ADMIN, d2, nickname="수영"),
        other_admin=make_user(db, Role.DISTRICT_ADMIN, od, nickname="동구청"),
        cleaners=[make_user(db, Role.CLEANER, d1, nickname=f"청소{i}") for i in range(4)],
        cleaner_d2=make_user(db, Role.CLEANER, d2, nickname="수영청소"),
        cleaner_od=make_user(db, Role.CLEANER, od, nickname="동구청소"),
        investigator=make_user(db, Role.INVESTIGATOR, d1, nickname="조사원"),
        collector=make_user(db, Role.COLLECTOR, d1, nickname="수거원"),
        suspended=make_user(db, Role.CLEANER, d1, nickname="정지됨", status=UserStatus.SUSPENDED),
    )
    db.commit()
    return w
