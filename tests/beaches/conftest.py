"""A small world for beach tests: two cities, three districts, admins and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core.enums import Role
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
    od: Organization
    city_admin: User
    admin1: User
    admin2: User
    other_admin: User
    cleaner: User
    investigator: User
    collector: User
    cleaner_d2: User
    _tokens: dict[int, dict[str, str]] = field(default_factory=dict)

    def h(self, user: User) -> dict[str, str]:
        if user.id not in self._tokens:
            self._tokens[user.id] = auth(token_for(self.db, user))
            self.db.commit()
        return self._tokens[user.id]

    def body(self, **overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "org_id": self.d1.id,
            "beach_name": "해운대해수욕장",
            "si": "부산광역시",
            "gu_gun": "해운대구",
            "dong_eub": "우동",
            "workplace": "해운대 관리소",
            "latitude": 35.1586975,
            "longitude": 129.1603842,
            "coastline_m": 1450.5,
        }
        data.update(overrides)
        return data

    def create(self, by: User | None = None, **overrides: Any) -> dict[str, Any]:
        r = self.client.post("/api/beaches", json=self.body(**overrides), headers=self.h(by or self.admin1))
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

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
    w = World(
        db=db,
        client=client,
        city=city,
        d1=d1,
        d2=d2,
        od=od,
        city_admin=make_user(db, Role.CITY_ADMIN, city, nickname="부산시"),
        admin1=make_user(db, Role.DISTRICT_ADMIN, d1, nickname="해운대"),
        admin2=make_user(db, Role.DISTRICT_ADMIN, d2, nickname="수영"),
        other_admin=make_user(db, Role.DISTRICT_ADMIN, od, nickname="동구청"),
        cleaner=make_user(db, Role.CLEANER, d1, nickname="청소원"),
        investigator=make_user(db, Role.INVESTIGATOR, d1, nickname="조사원"),
        collector=make_user(db, Role.COLLECTOR, d1, nickname="수거원"),
        cleaner_d2=make_user(db, Role.CLEANER, d2, nickname="수영청소"),
    )
    db.commit()
    return w
