"""A small world for job and slot tests: two cities, three districts, admins of each tier,
workers of every kind, a team per district, beaches and investigation reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.beaches.models import Beach
from beachsaver.core.enums import CleanerType, Role, UserStatus
from beachsaver.core.time import seoul_today, utcnow
from beachsaver.jobs.models import Job, JobAssignee
from beachsaver.notifications.models import Notification
from beachsaver.orgs.models import Organization
from beachsaver.reports.models import Report
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.users.models import User
from tests.factories import auth, make_city, make_district, make_user, token_for


def today() -> date:
    return seoul_today()


def in_days(n: int) -> str:
    return (seoul_today() + timedelta(days=n)).isoformat()


def make_beach(db: Session, district: Organization, name: str) -> Beach:
    beach = Beach(
        org_id=district.id,
        beach_name=name,
        si="부산광역시",
        gu_gun=district.name,
        dong_eub="우동",
        workplace="관리사무소",
        latitude=Decimal("35.1586975"),
        longitude=Decimal("129.1603842"),
    )
    db.add(beach)
    db.flush()
    return beach


def make_team(db: Session, district: Organization, name: str, leader: User, members: list[User]) -> Team:
    team = Team(org_id=district.id, name=name, status="ACTIVE", leader_id=leader.id)
    db.add(team)
    db.flush()
    db.add(TeamMembership(team_id=team.id, user_id=leader.id, role_in_team="LEADER", status="ACTIVE"))
    for member in members:
        db.add(TeamMembership(team_id=team.id, user_id=member.id, role_in_team="MEMBER", status="ACTIVE"))
    db.flush()
    return team


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
    investigators: list[User]
    investigator_d2: User
    cleaners: list[User]
    cleaner_d2: User
    volunteers: list[User]
    volunteer_d2: User
    collector: User
    unverified: User
    suspended: User
    team: Team
    team_d2: Team
    team_od: Team
    beach: Beach
    beach_b: Beach
    beach_d2: Beach
    beach_od: Beach
    _tokens: dict[int, dict[str, str]] = field(default_factory=dict)

    # ---- calls ----

    def h(self, user: User) -> dict[str, str]:
        if user.id not in self._tokens:
            self._tokens[user.id] = auth(token_for(self.db, user))
            self.db.commit()
        return self._tokens[user.id]

    def body(self, job_type: str = "CLEANING", **overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": job_type,
            "beach_id": self.beach.id,
            "area_names": ["A구역", "B구역"],
            "date": in_days(3),
            "headcount": 3,
        }
        if job_type == "CLEANING":
            data["team_id"] = self.team.id
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    def create_job(self, job_type: str = "CLEANING", by: User | None = None, **overrides: Any) -> dict[str, Any]:
        r = self.client.post("/api/jobs", json=self.body(job_type, **overrides), headers=self.h(by or self.admin1))
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def patch(self, job_id: int, body: dict[str, Any], by: User | None = None) -> Any:
        return self.client.patch(f"/api/jobs/{job_id}", json=body, headers=self.h(by or self.admin1))

    def assign(self, job_id: int, users: list[User], by: User | None = None) -> dict[str, Any]:
        r = self.patch(job_id, {"assignee_ids": [u.id for u in users]}, by)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def apply(self, job_id: int, user: User) -> Any:
        return self.client.post(f"/api/slots/{job_id}/application", headers=self.h(user))

    def applied(self, job_id: int, user: User) -> dict[str, Any]:
        r = self.apply(job_id, user)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def get(self, job_id: int, by: User | None = None) -> dict[str, Any]:
        r = self.client.get(f"/api/jobs/{job_id}", headers=self.h(by or self.admin1))
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def accept(self, job_id: int, user: User) -> Any:
        return self.client.post(f"/api/jobs/{job_id}/accept", headers=self.h(user))

    def decline(self, job_id: int, user: User, reason: str | None = "개인 사정") -> Any:
        body = {} if reason is None else {"reason": reason}
        return self.client.post(f"/api/jobs/{job_id}/decline", json=body, headers=self.h(user))

    # ---- looking at the database ----

    def audit(self, action: str) -> list[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        entries = list(self.db.execute(stmt.execution_options(populate_existing=True)).scalars())
        self.db.commit()  # ends the read transaction (SQLite writers would wait for it)
        return entries

    def notifications(self, user: User, event: str | None = None) -> list[Notification]:
        stmt = select(Notification).where(Notification.user_id == user.id)
        if event is not None:
            stmt = stmt.where(Notification.event == event)
        notes = list(
            self.db.execute(stmt.order_by(Notification.id).execution_options(populate_existing=True)).scalars()
        )
        self.db.commit()
        return notes

    def active_member(self, team: Team, user: User) -> bool:
        row = self.db.execute(
            select(TeamMembership).where(
                TeamMembership.team_id == team.id,
                TeamMembership.user_id == user.id,
                TeamMembership.status == "ACTIVE",
            )
        ).first()
        self.db.commit()
        return row is not None

    def rows(self, job_id: int) -> dict[int, JobAssignee]:
        stmt = select(JobAssignee).where(JobAssignee.job_id == job_id).execution_options(populate_existing=True)
        rows = {r.user_id: r for r in self.db.execute(stmt).scalars()}
        self.db.commit()
        return rows

    def job_row(self, job_id: int) -> Job:
        job = self.db.get(Job, job_id, populate_existing=True)
        assert job is not None
        self.db.commit()
        return job

    def investigation(
        self,
        beach: Beach | None = None,
        *,
        status: str = "SUBMITTED",
        author: User | None = None,
        report_type: str = "INVESTIGATION",
        claimed_by: Team | None = None,
    ) -> Report:
        beach = beach or self.beach
        report = Report(
            client_id=str(uuid.uuid4()),
            type=report_type,
            status=status,
            user_id=(author or self.investigators[0]).id,
            beach_id=beach.id,
            org_id=beach.org_id,
            submitted_at=utcnow() if status != "DRAFT" else None,
            claimed_by_team_id=claimed_by.id if claimed_by else None,
            claimed_at=utcnow() if claimed_by else None,
        )
        self.db.add(report)
        self.db.commit()
        return report


def assignees(job: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {a["user_id"]: a for a in job["assignees"]}


def fields(response: Any) -> list[str]:
    return [d["field"] for d in response.json()["error"].get("details") or []]


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


@pytest.fixture
def world(db: Session, client: TestClient) -> World:
    city = make_city(db, name="부산")
    d1 = make_district(db, city, name="해운대구")
    d2 = make_district(db, city, name="수영구")
    other_city = make_city(db, name="울산")
    od = make_district(db, other_city, name="동구")
    platform_org = db.execute(select(Organization).where(Organization.code == "PLATFORM")).scalar_one()
    cleaners = [make_user(db, Role.CLEANER, d1, nickname=f"청소{i}") for i in range(5)]
    volunteers = [
        make_user(db, Role.CLEANER, d1, nickname=f"봉사{i}", cleaner_type=CleanerType.VOLUNTEER) for i in range(6)
    ]
    cleaner_d2 = make_user(db, Role.CLEANER, d2, nickname="수영청소")
    cleaner_od = make_user(db, Role.CLEANER, od, nickname="동구청소")
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
        investigators=[make_user(db, Role.INVESTIGATOR, d1, nickname=f"조사{i}") for i in range(3)],
        investigator_d2=make_user(db, Role.INVESTIGATOR, d2, nickname="수영조사"),
        cleaners=cleaners,
        cleaner_d2=cleaner_d2,
        volunteers=volunteers,
        volunteer_d2=make_user(db, Role.CLEANER, d2, nickname="수영봉사", cleaner_type=CleanerType.VOLUNTEER),
        collector=make_user(db, Role.COLLECTOR, d1, nickname="수거원", verified=True),
        unverified=make_user(db, Role.COLLECTOR, d1, nickname="미인증", verified=False),
        suspended=make_user(db, Role.CLEANER, d1, nickname="정지됨", status=UserStatus.SUSPENDED),
        team=make_team(db, d1, "해운대1팀", cleaners[0], [cleaners[1]]),
        team_d2=make_team(db, d2, "수영1팀", cleaner_d2, []),
        team_od=make_team(db, od, "동구1팀", cleaner_od, []),
        beach=make_beach(db, d1, "해운대해수욕장"),
        beach_b=make_beach(db, d1, "송정해수욕장"),
        beach_d2=make_beach(db, d2, "광안리해수욕장"),
        beach_od=make_beach(db, od, "일산해수욕장"),
    )
    db.commit()
    return w
