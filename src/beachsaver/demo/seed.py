"""Busan demo data: the city, its coastal districts, their beaches, accounts of every role, teams.

Idempotent: running it again adds nothing that is already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.beaches.models import Beach
from beachsaver.core.enums import CleanerType, OrgType, Role, UserStatus
from beachsaver.core.phone import format_phone
from beachsaver.core.runtime import cipher_of
from beachsaver.core.time import utcnow
from beachsaver.orgs import service as org_service
from beachsaver.orgs.models import Organization
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.users import service as user_service
from beachsaver.users.models import User, VehicleProfile, WorkerProfile

DEMO_PASSWORD = "BeachSaver!2026"
CITY = ("부산광역시", "BSJ001")

# (code suffix, Korean name, English name)
DISTRICTS = [
    ("HAEUN", "해운대구", "Haeundae-gu"),
    ("SUYEONG", "수영구", "Suyeong-gu"),
    ("SAHA", "사하구", "Saha-gu"),
    ("SEO", "서구", "Seo-gu"),
    ("YEONGDO", "영도구", "Yeongdo-gu"),
    ("NAM", "남구", "Nam-gu"),
    ("GIJANG", "기장군", "Gijang-gun"),
    ("GANGSEO", "강서구", "Gangseo-gu"),
]

# district suffix, beach name, dong/eup, workplace, latitude, longitude, coastline (m)
BEACHES = [
    ("HAEUN", "해운대해수욕장", "우동", "해운대 해변 관리사무소", "35.1586975", "129.1603842", 1450),
    ("HAEUN", "송정해수욕장", "송정동", "송정 해변 관리사무소", "35.1786003", "129.1995660", 1200),
    ("HAEUN", "청사포", "중동", "청사포 어촌계", "35.1602300", "129.1915600", 400),
    ("SUYEONG", "광안리해수욕장", "광안동", "광안리 해변 관리사무소", "35.1531696", "129.1186566", 1400),
    ("SUYEONG", "민락수변공원", "민락동", "민락 수변공원", "35.1547000", "129.1331000", 600),
    ("SAHA", "다대포해수욕장", "다대동", "다대포 해변 관리사무소", "35.0466620", "128.9662850", 900),
    ("SAHA", "몰운대", "다대동", "몰운대 관리소", "35.0427000", "128.9628000", 700),
    ("SEO", "송도해수욕장", "암남동", "송도 해변 관리사무소", "35.0757140", "129.0170230", 800),
    ("SEO", "암남공원", "암남동", "암남공원 관리소", "35.0647000", "129.0186000", 500),
    ("YEONGDO", "감지해변", "동삼동", "태종대 관리사무소", "35.0577000", "129.0854000", 300),
    ("YEONGDO", "중리해변", "동삼동", "중리 어촌계", "35.0701000", "129.0660000", 350),
    ("NAM", "이기대", "용호동", "이기대 공원 관리소", "35.1213000", "129.1214000", 2000),
    ("NAM", "오륙도해안", "용호동", "오륙도 관리소", "35.1006000", "129.1236000", 600),
    ("GIJANG", "일광해수욕장", "일광읍", "일광 해변 관리사무소", "35.2598190", "129.2334270", 1100),
    ("GIJANG", "임랑해수욕장", "장안읍", "임랑 해변 관리사무소", "35.3196500", "129.2636800", 1000),
    ("GIJANG", "죽성리해안", "기장읍", "죽성 어촌계", "35.2396000", "129.2471000", 700),
    ("GANGSEO", "가덕도 대항해변", "대항동", "가덕도 어촌계", "35.0166000", "128.8276000", 500),
    ("GANGSEO", "눌차도해안", "눌차동", "눌차 어촌계", "35.0693000", "128.8394000", 650),
]


@dataclass(frozen=True)
class DemoAccount:
    phone: str
    role: Role
    nickname: str
    district: str | None  # district suffix; None for city/platform
    cleaner_type: CleanerType | None = None
    vehicle: bool = False
    verified: bool = False
    status: UserStatus = UserStatus.ACTIVE


DEMO_ACCOUNTS = [
    DemoAccount("01000000001", Role.PLATFORM_ADMIN, "플랫폼관리자", None),
    DemoAccount("01000000002", Role.CITY_ADMIN, "부산시관리자", None),
    DemoAccount("01000000003", Role.DISTRICT_ADMIN, "해운대관리자", "HAEUN"),
    DemoAccount("01000000004", Role.DISTRICT_ADMIN, "수영구관리자", "SUYEONG"),
    DemoAccount("01000000005", Role.DISTRICT_ADMIN, "사하구관리자", "SAHA"),
    DemoAccount("01000001001", Role.INVESTIGATOR, "김조사", "HAEUN"),
    DemoAccount("01000001002", Role.CLEANER, "이팀장", "HAEUN", CleanerType.REGULAR),
    DemoAccount("01000001003", Role.CLEANER, "박청소", "HAEUN", CleanerType.REGULAR),
    DemoAccount("01000001004", Role.CLEANER, "최청소", "HAEUN", CleanerType.REGULAR),
    DemoAccount("01000001005", Role.CLEANER, "정봉사", "HAEUN", CleanerType.VOLUNTEER),
    DemoAccount("01000001006", Role.COLLECTOR, "한수거", "HAEUN", vehicle=True, verified=True),
    DemoAccount("01000001007", Role.COLLECTOR, "오수거", "HAEUN", vehicle=True, verified=False),
    DemoAccount("01000001008", Role.CITIZEN, "윤시민", "HAEUN", status=UserStatus.PENDING_APPROVAL),
    DemoAccount("01000001009", Role.INVESTIGATOR, "강두역할", "SUYEONG"),
    DemoAccount("01000001009", Role.CLEANER, "강두역할", "SUYEONG", CleanerType.REGULAR),
    DemoAccount("01000002001", Role.INVESTIGATOR, "서조사", "SUYEONG"),
    DemoAccount("01000002002", Role.CLEANER, "문팀장", "SUYEONG", CleanerType.REGULAR),
    DemoAccount("01000002003", Role.COLLECTOR, "장수거", "SUYEONG", vehicle=True, verified=True),
]

TEAMS = [
    ("HAEUN", "해운대 1팀", "01000001002", ["01000001003", "01000001004", "01000001005"]),
    ("SUYEONG", "광안리 1팀", "01000002002", ["01000001009"]),
]


def _ensure_orgs(db: Session) -> dict[str, Organization]:
    root = org_service.ensure_root(db)
    city = org_service.by_code(db, CITY[1]) or org_service.create(
        db, actor_id=None, name=CITY[0], code=CITY[1], type=OrgType.CITY, parent=root
    )
    orgs = {"PLATFORM": root, "CITY": city}
    for suffix, name, _english in DISTRICTS:
        code = f"{CITY[1]}-{suffix}"
        orgs[suffix] = org_service.by_code(db, code) or org_service.create(
            db, actor_id=None, name=name, code=code, type=OrgType.DISTRICT, parent=city
        )
    return orgs


def _ensure_beaches(db: Session, orgs: dict[str, Organization]) -> int:
    created = 0
    for suffix, name, dong, workplace, lat, lng, coast in BEACHES:
        org = orgs[suffix]
        exists = db.execute(select(Beach.id).where(Beach.org_id == org.id, Beach.beach_name == name)).first()
        if exists:
            continue
        db.add(
            Beach(
                org_id=org.id,
                beach_name=name,
                si=CITY[0],
                gu_gun=org.name,
                dong_eub=dong,
                workplace=workplace,
                latitude=Decimal(lat),
                longitude=Decimal(lng),
                coastline_m=Decimal(coast),
            )
        )
        created += 1
    db.flush()
    return created


def _find(db: Session, phone: str, role: Role) -> User | None:
    return db.execute(
        select(User).where(User.phone_hash == cipher_of(db).lookup_hash(phone), User.role == role, User.live.is_(True))
    ).scalar_one_or_none()


def _ensure_accounts(db: Session, orgs: dict[str, Organization]) -> int:
    created = 0
    for acc in DEMO_ACCOUNTS:
        if _find(db, acc.phone, acc.role) is not None:
            continue
        if acc.role == Role.PLATFORM_ADMIN:
            org, code = orgs["PLATFORM"], "PLATFORM"
        elif acc.role == Role.CITY_ADMIN:
            org, code = orgs["CITY"], None
        else:
            assert acc.district is not None
            org, code = (
                orgs[acc.district],
                "CITIZEN" if acc.cleaner_type == CleanerType.VOLUNTEER or acc.role == Role.CITIZEN else None,
            )
        user = user_service.build_user(
            db,
            nickname=acc.nickname,
            phone=acc.phone,
            role=acc.role,
            org=org,
            status=acc.status,
            created_by=None,
            cleaner_type=acc.cleaner_type,
            email=f"demo{acc.phone[-4:]}@beachsaver.example" if acc.role.is_admin else None,
            password=DEMO_PASSWORD if acc.role.is_admin else None,
            org_code_for_id=code,
        )
        if acc.role in (Role.INVESTIGATOR, Role.CLEANER, Role.COLLECTOR):
            user.worker_profile = WorkerProfile(start_date=utcnow().date())
        if acc.vehicle:
            user.vehicle = VehicleProfile(
                type="LARGE",
                capacity_t=Decimal("2.50"),
                plate_no=f"부산12가{acc.phone[-4:]}",
                operator_type="COMPANY",
                company_name="부산해양환경(주)",
                business_no="123-45-67890",
                verified_at=utcnow() if acc.verified else None,
            )
        created += 1
    db.flush()
    return created


def _ensure_teams(db: Session, orgs: dict[str, Organization]) -> int:
    created = 0
    for suffix, name, leader_phone, member_phones in TEAMS:
        org = orgs[suffix]
        if db.execute(select(Team.id).where(Team.org_id == org.id, Team.name == name)).first():
            continue
        leader = _find(db, leader_phone, Role.CLEANER)
        assert leader is not None
        team = Team(org_id=org.id, name=name, status="ACTIVE", leader_id=leader.id)
        db.add(team)
        db.flush()
        db.add(TeamMembership(team_id=team.id, user_id=leader.id, role_in_team="LEADER", status="ACTIVE"))
        for phone in member_phones:
            member = _find(db, phone, Role.CLEANER)
            if member is not None:
                db.add(TeamMembership(team_id=team.id, user_id=member.id, role_in_team="MEMBER", status="ACTIVE"))
        created += 1
    db.flush()
    return created


def seed_demo(db: Session, *, scale: int = 0) -> str:
    orgs = _ensure_orgs(db)
    beaches = _ensure_beaches(db, orgs)
    accounts = _ensure_accounts(db, orgs)
    teams = _ensure_teams(db, orgs)
    return (
        f"demo data: {len(orgs) - 1} organisations, {beaches} new beaches, {accounts} new accounts, {teams} new teams"
    )


def demo_accounts_text(base_url: str) -> str:
    lines = [
        "",
        "Beach-Saver demo",
        f"  Admin console : {base_url}/admin",
        f"  Worker app    : {base_url}/app",
        f"  API docs      : {base_url}/docs",
        f"  Sign-in codes : {base_url}/api/dev/messages  (dev outbox, newest first)",
        "",
        f"  Admins sign in with the phone (or system id) and password {DEMO_PASSWORD}, then the code:",
    ]
    for acc in DEMO_ACCOUNTS:
        if acc.role.is_admin:
            lines.append(f"    {acc.role:<15} {format_phone(acc.phone)}  {acc.nickname}")
    lines.append("  Workers sign in with the phone and the code:")
    for acc in DEMO_ACCOUNTS:
        if not acc.role.is_admin:
            extra = " (two accounts: choose a role)" if acc.phone == "01000001009" else ""
            extra += " (unverified collector)" if acc.role == Role.COLLECTOR and not acc.verified else ""
            extra += " (awaiting approval)" if acc.status == UserStatus.PENDING_APPROVAL else ""
            lines.append(f"    {acc.role:<15} {format_phone(acc.phone)}  {acc.nickname}{extra}")
    return "\n".join(lines)
