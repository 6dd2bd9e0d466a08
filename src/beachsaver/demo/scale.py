"""Years of Busan field history for benchmarks: ``beachsaver seed-demo --scale N``.

Builds on the demo data (the city, its eight coastal districts, their eighteen beaches, the demo
accounts and teams) and adds, with bulk inserts (SQLAlchemy Core ``executemany`` in chunks of
explicit ids, one transaction per chunk):

- a workforce of about one account per ten reports (investigators, regular cleaners, volunteer
  cleaners, collectors with vehicles, nine in ten verified), spread over the districts by their
  number of beaches; teams of a leader, two regular cleaners and three volunteers, plus the
  memberships of volunteers who have left;
- ``N`` reports over ``years`` years with seasonal patterns: more litter and more reports in the
  summer season (July-August), typhoon and heavy-rain events in late summer that bring a surge of
  litter, daytime work hours in Asia/Seoul and growth from year to year. Investigations (35%)
  estimate litres over one to three areas along the shore; cleaning reports (40%, mostly by
  teams) record kg and bags, follow a recent investigation of the beach (claiming it for the team)
  and carry the credits of the team's members and the hours of its volunteers; collection
  requests (25%) follow the team's cleaning and leave one or two depots, collected within hours
  or days by a verified collector of the district (recent ones still waiting, on a route or with
  an issue). Drafts, rejections and the review of older reports are there too.

The command tops up: reports it made earlier (their ``client_id`` starts with
``GENERATED_PREFIX``) count towards ``N``, so running it again with the same ``N`` adds nothing.
It must not run while the service writes to the same database (ids are allocated above the
current maximum). Generated history carries no photos: images are blobs and play no part in the
figures the benchmarks measure.
"""

from __future__ import annotations

import bisect
import importlib
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pymysql.converters import escape_string
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine

from beachsaver.beaches.models import Beach
from beachsaver.core.db import session_scope
from beachsaver.core.enums import CleanerType, DepotStatus, ReportStatus, Role, UserStatus
from beachsaver.core.runtime import Runtime
from beachsaver.core.time import SEOUL
from beachsaver.depots.models import CollectionDepot, request_is_live
from beachsaver.orgs.models import Organization
from beachsaver.reports.models import Contribution, Credit, Report, ReportArea
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.users.models import SystemIdSerial, User, VehicleProfile, WorkerProfile
from beachsaver.users.service import ROLE_TOKEN

GENERATED_PREFIX = "5ca1ab1e-"
GENERATED_EMAIL_DOMAIN = "gen.beachsaver.example"
#: Generated accounts use phones 0108nnnnnnn (the demo accounts use 0100000nnnn).
PHONE_PREFIX = "0108"
CHUNK = 5000

#: Relative number of reports by month (January first): the bathing season and the typhoon
#: season bring most of the litter and most of the work.
MONTH_WEIGHT = (0.45, 0.45, 0.65, 0.85, 1.05, 1.35, 2.0, 2.3, 1.7, 1.05, 0.7, 0.5)
#: Litter per area by month, relative.
MONTH_LITTER = (0.7, 0.7, 0.8, 0.9, 1.0, 1.2, 1.6, 1.8, 1.5, 1.0, 0.8, 0.7)
YEARLY_GROWTH = 1.12
WORKFORCE_SHARE = (("INVESTIGATOR", 0.15), ("REGULAR", 0.30), ("VOLUNTEER", 0.40), ("COLLECTOR", 0.15))
TEAM_REGULARS, TEAM_VOLUNTEERS = 3, 3

SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민유"
    "진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
)
GIVEN = "민서준지우현수하도윤예은진영성호연재경희정아주원혜동석태유나라상철인미선"
AREA_NAMES = ("A구역", "B구역", "C구역")
LITTER = (
    ("PLASTIC", 30),
    ("STYROFOAM", 18),
    ("FISHING_GEAR", 14),
    ("MIXED", 10),
    ("CIGARETTE", 6),
    ("GLASS", 4),
    ("METAL", 4),
    ("WOOD", 4),
    ("NATURAL", 3),
    ("PAPER", 2),
    ("RUBBER", 2),
    ("TEXTILE", 1),
    ("LARGE_ITEM", 1),
    ("HAZARDOUS", 1),
)
WEATHER_BY_SEASON = {
    "winter": (("SUNNY", 45), ("CLOUDY", 30), ("WINDY", 15), ("SNOW", 5), ("RAIN", 5)),
    "spring": (("SUNNY", 45), ("CLOUDY", 30), ("FOG", 10), ("RAIN", 10), ("WINDY", 5)),
    "summer": (("SUNNY", 40), ("CLOUDY", 25), ("RAIN", 20), ("FOG", 5), ("WINDY", 5), ("STORM", 5)),
    "autumn": (("SUNNY", 50), ("CLOUDY", 30), ("WINDY", 10), ("RAIN", 10)),
}
SEASON = ("winter", "winter", "spring", "spring", "spring", "summer", "summer", "summer", "autumn", "autumn",
          "autumn", "winter")  # fmt: skip
DEPOT_NAMES = ("주차장 옆", "입구 화단", "관리사무소 뒤", "방파제 앞", "공중화장실 옆", "산책로 끝")


@dataclass
class ScaleSummary:
    reports: int = 0
    areas: int = 0
    depots: int = 0
    credits: int = 0
    contributions: int = 0
    users: int = 0
    teams: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"generated: {self.reports} reports, {self.areas} areas, {self.depots} depots, {self.credits} credits, "
            f"{self.contributions} contributions, {self.users} new accounts, {self.teams} new teams "
            f"in {self.seconds:.1f} s"
        )


@dataclass
class TeamInfo:
    id: int
    leader: int
    members: list[int]  # every active member, the leader first
    volunteers: list[int]


@dataclass
class District:
    id: int
    code: str
    name: str
    beaches: list[tuple[int, float, float, float]] = field(default_factory=list)  # id, lat, lng, coastline
    investigators: list[int] = field(default_factory=list)
    regulars: list[int] = field(default_factory=list)
    volunteers: list[int] = field(default_factory=list)
    collectors: list[int] = field(default_factory=list)  # verified
    teams: list[TeamInfo] = field(default_factory=list)
    reviewer: int | None = None


def workforce_size(reports: int) -> int:
    """About one account per ten reports, at least enough for every role of every district."""
    return max(160, reports // 10)


def generated_reports(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(Report).where(Report.client_id.like(f"{GENERATED_PREFIX}%"))
            ).scalar_one()
        )


def generate(
    runtime: Runtime,
    reports: int,
    *,
    years: int = 5,
    seed: int = 2026,
    now: datetime | None = None,
    chunk: int = CHUNK,
) -> ScaleSummary:
    """Top the database up to ``reports`` generated reports (see the module's docstring)."""
    started = time.perf_counter()
    engine = runtime.engine
    rnd = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    summary = ScaleSummary()
    with _bulk(engine) as conn:
        districts = _districts(conn)
        if not districts:
            raise RuntimeError("no districts: load the demo data first (beachsaver seed-demo)")
        users, teams = _ensure_workforce(conn, runtime, districts, workforce_size(reports), rnd, now)
        summary.users, summary.teams = users, teams
    with engine.connect() as conn:
        _load_workforce(conn, districts)
    existing = generated_reports(engine)
    todo = reports - existing
    if todo > 0:
        _generate_reports(engine, districts, todo, existing, years, rnd, now, chunk, summary)
        _forget_rollup(runtime)
        if engine.dialect.name == "mysql":
            with engine.connect() as conn:
                for table in ("reports", "report_areas", "collection_depots", "credits", "contributions", "users"):
                    conn.execute(text(f"ANALYZE TABLE {table}"))
    summary.seconds = time.perf_counter() - started
    return summary


def _forget_rollup(runtime: Runtime) -> None:
    """Rows written without the ORM are not marked for the statistics roll-up: forget it, so that
    everything is computed live until its next run rebuilds it (a no-op on a fresh database)."""
    try:
        rollup = importlib.import_module("beachsaver.statistics.rollup")
    except ImportError:
        return
    reset = getattr(rollup, "reset", None)
    if reset is not None:
        with session_scope(runtime.session_factory) as db:
            reset(db)


# ---- the world: districts, beaches, workforce ------------------------------------------------------


def _districts(conn: Connection) -> list[District]:
    rows = conn.execute(
        select(Organization.id, Organization.code, Organization.name).where(Organization.type == "DISTRICT")
    ).all()
    districts = {r.id: District(id=r.id, code=r.code, name=r.name) for r in rows}
    for beach in conn.execute(
        select(Beach.id, Beach.org_id, Beach.latitude, Beach.longitude, Beach.coastline_m).order_by(Beach.id)
    ):
        if beach.org_id in districts:
            districts[beach.org_id].beaches.append(
                (beach.id, float(beach.latitude), float(beach.longitude), float(beach.coastline_m or 500))
            )
    city_admin = conn.execute(select(User.id).where(User.role == Role.CITY_ADMIN).order_by(User.id)).first()
    for district in districts.values():
        admin = conn.execute(
            select(User.id).where(User.role == Role.DISTRICT_ADMIN, User.org_id == district.id).order_by(User.id)
        ).first()
        district.reviewer = admin[0] if admin else (city_admin[0] if city_admin else None)
    return [d for d in districts.values() if d.beaches]


def _next_id(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)


def _ensure_workforce(
    conn: Connection, runtime: Runtime, districts: list[District], target: int, rnd: random.Random, now: datetime
) -> tuple[int, int]:
    """Create the generated accounts and teams that are missing; returns (accounts, teams) made."""
    generated = User.email.like(f"%@{GENERATED_EMAIL_DOMAIN}")
    existing: dict[tuple[int, str], int] = defaultdict(int)
    for org_id, role, cleaner_type, count in conn.execute(
        select(User.org_id, User.role, User.cleaner_type, func.count())
        .where(generated)
        .group_by(User.org_id, User.role, User.cleaner_type)
    ):
        kind = role if role != Role.CLEANER else str(cleaner_type or CleanerType.REGULAR)
        existing[(org_id, kind)] += int(count)
    have = sum(existing.values())
    weights = [len(d.beaches) for d in districts]
    total_weight = sum(weights)
    plan: list[tuple[District, str]] = []
    for district, weight in zip(districts, weights, strict=True):
        for kind, share in WORKFORCE_SHARE:
            want = max(TEAM_REGULARS + 1 if kind == "REGULAR" else 2, round(target * share * weight / total_weight))
            plan.extend((district, kind) for _ in range(want - existing[(district.id, kind)]))
    if not plan:
        return 0, 0
    cipher = runtime.cipher
    user_id = _next_id(conn, User.__table__)
    serial = _next_id(conn, SystemIdSerial.__table__)
    users, profiles, vehicles, serials = [], [], [], []
    new_by_district: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, (district, kind) in enumerate(plan, start=have):
        nickname = _name(rnd)
        role = Role.INVESTIGATOR if kind == "INVESTIGATOR" else Role.COLLECTOR if kind == "COLLECTOR" else Role.CLEANER
        phone = f"{PHONE_PREFIX}{index:07d}"
        joined = now - timedelta(days=rnd.randrange(30, 365 * 6))
        code = "CITIZEN" if kind == "VOLUNTEER" else district.code
        serials.append({"id": serial, "created_at": joined})
        users.append(
            {
                "id": user_id,
                "system_id": f"{code}_{nickname}_{ROLE_TOKEN[role]}_{serial:04d}",
                "nickname": nickname,
                "role": role.value,
                "org_id": district.id,
                "status": UserStatus.ACTIVE.value,
                "status_reason": None,
                "cleaner_type": (CleanerType.VOLUNTEER if kind == "VOLUNTEER" else CleanerType.REGULAR).value
                if role == Role.CLEANER
                else None,
                "email": f"w{index}@{GENERATED_EMAIL_DOMAIN}",
                "phone_enc": cipher.encrypt(phone),
                "phone_hash": cipher.lookup_hash(phone),
                "phone_last4": phone[-4:],
                "real_name_enc": None,
                "live": True,
                "preferences": {},
                "created_by_id": None,
                "created_at": joined,
                "updated_at": joined,
                "last_login_at": now - timedelta(hours=rnd.randrange(1, 24 * 60)),
                "withdrawn_at": None,
            }
        )
        profiles.append(
            {
                "user_id": user_id,
                "birth": date(rnd.randrange(1950, 2004), rnd.randrange(1, 13), rnd.randrange(1, 29)),
                "start_date": joined.date(),
                "end_date": None,
            }
        )
        if role == Role.COLLECTOR:
            large = rnd.random() < 0.4
            vehicles.append(
                {
                    "user_id": user_id,
                    "type": "LARGE" if large else "SMALL",
                    "capacity_t": Decimal("5.00") if large else Decimal("1.00"),
                    "plate_no": f"부산{rnd.randrange(10, 99)}사{rnd.randrange(1000, 9999)}",
                    "operator_type": "COMPANY" if large else "INDIVIDUAL",
                    "company_name": "부산해양환경(주)" if large else None,
                    "business_no": "123-45-67890" if large else None,
                    "verified_at": joined + timedelta(days=3) if rnd.random() < 0.9 else None,
                    "verified_by": district.reviewer,
                }
            )
        new_by_district[district.id][kind].append(user_id)
        user_id += 1
        serial += 1
    for table, rows in (
        (SystemIdSerial.__table__, serials),
        (User.__table__, users),
        (WorkerProfile.__table__, profiles),
        (VehicleProfile.__table__, vehicles),
    ):
        _insert(conn, table, rows)
    return len(users), _ensure_teams(conn, districts, new_by_district, rnd, now)


def _ensure_teams(
    conn: Connection,
    districts: list[District],
    new_by_district: dict[int, dict[str, list[int]]],
    rnd: random.Random,
    now: datetime,
) -> int:
    """New regular cleaners form teams of three; volunteers join them (three stay, the rest have left)."""
    team_id = _next_id(conn, Team.__table__)
    membership_id = _next_id(conn, TeamMembership.__table__)
    teams, memberships = [], []
    for district in districts:
        fresh = new_by_district.get(district.id)
        if not fresh:
            continue
        regulars, volunteers = fresh["REGULAR"], list(fresh["VOLUNTEER"])
        existing = int(
            conn.execute(select(func.count()).select_from(Team).where(Team.org_id == district.id)).scalar_one()
        )
        groups = [regulars[i : i + TEAM_REGULARS] for i in range(0, len(regulars), TEAM_REGULARS)]
        for number, group in enumerate(groups, start=existing + 1):
            formed = now - timedelta(days=rnd.randrange(365, 365 * 6))
            teams.append(
                {
                    "id": team_id,
                    "org_id": district.id,
                    "name": f"{district.name} 정화 {number}팀",
                    "status": "ACTIVE",
                    "leader_id": group[0],
                    "created_at": formed,
                    "updated_at": formed,
                    "disbanded_at": None,
                }
            )
            people = [(uid, "LEADER" if i == 0 else "MEMBER", "ACTIVE", None) for i, uid in enumerate(group)]
            for _ in range(TEAM_VOLUNTEERS):
                if volunteers:
                    people.append((volunteers.pop(), "MEMBER", "ACTIVE", None))
            for member_id, role_in_team, status, left in people:
                memberships.append(
                    {
                        "id": membership_id,
                        "team_id": team_id,
                        "user_id": member_id,
                        "role_in_team": role_in_team,
                        "status": status,
                        "joined_at": formed,
                        "left_at": left,
                    }
                )
                membership_id += 1
            team_id += 1
        # volunteers left over took part for a season and left
        team_ids = [t["id"] for t in teams if t["org_id"] == district.id]
        for volunteer in volunteers if team_ids else []:
            joined = now - timedelta(days=rnd.randrange(200, 365 * 5))
            memberships.append(
                {
                    "id": membership_id,
                    "team_id": rnd.choice(team_ids),
                    "user_id": volunteer,
                    "role_in_team": "MEMBER",
                    "status": "LEFT",
                    "joined_at": joined,
                    "left_at": joined + timedelta(days=rnd.randrange(30, 150)),
                }
            )
            membership_id += 1
    _insert(conn, Team.__table__, teams)
    _insert(conn, TeamMembership.__table__, memberships)
    return len(teams)


def _load_workforce(conn: Connection, districts: list[District]) -> None:
    """Every active worker of each district (the demo accounts as well as the generated ones)."""
    by_id = {d.id: d for d in districts}
    verified = {
        row[0] for row in conn.execute(select(VehicleProfile.user_id).where(VehicleProfile.verified_at.is_not(None)))
    }
    for uid, role, org_id, cleaner_type in conn.execute(
        select(User.id, User.role, User.org_id, User.cleaner_type)
        .where(User.status == UserStatus.ACTIVE, User.org_id.in_(list(by_id)))
        .order_by(User.id)
    ):
        district = by_id[org_id]
        if role == Role.INVESTIGATOR:
            district.investigators.append(uid)
        elif role == Role.CLEANER:
            (district.volunteers if cleaner_type == CleanerType.VOLUNTEER else district.regulars).append(uid)
        elif role == Role.COLLECTOR and uid in verified:
            district.collectors.append(uid)
    volunteers = {uid for d in districts for uid in d.volunteers}
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for team_id, user_id, role_in_team in conn.execute(
        select(TeamMembership.team_id, TeamMembership.user_id, TeamMembership.role_in_team)
        .where(TeamMembership.status == "ACTIVE")
        .order_by(TeamMembership.id)
    ):
        members[team_id].append((user_id, role_in_team))
    for team_id, org_id, leader_id in conn.execute(
        select(Team.id, Team.org_id, Team.leader_id).where(Team.status == "ACTIVE").order_by(Team.id)
    ):
        if org_id not in by_id or leader_id is None:
            continue
        people = [uid for uid, _ in members.get(team_id, [])]
        ordered = [leader_id] + [uid for uid in people if uid != leader_id]
        by_id[org_id].teams.append(
            TeamInfo(id=team_id, leader=leader_id, members=ordered, volunteers=[u for u in ordered if u in volunteers])
        )


# ---- the reports ------------------------------------------------------------------------------------


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    names = [p[0] for p in pairs]
    cumulative, total = [], 0
    for _, weight in pairs:
        total += weight
        cumulative.append(total)
    return names, cumulative


def _pick(rnd: random.Random, table: tuple[list[str], list[int]]) -> str:
    names, cumulative = table
    return names[bisect.bisect_right(cumulative, rnd.random() * cumulative[-1])]


def _timestamps(rnd: random.Random, count: int, years: int, now: datetime) -> list[float]:
    """Sorted instants (epoch seconds) with the seasonal and yearly pattern, in Seoul work hours."""
    local_now = now.astimezone(SEOUL)
    first = date(local_now.year - years, local_now.month, 1)
    months: list[tuple[date, int, float]] = []  # first day, days to draw from, weight
    current = first
    while current <= local_now.date():
        age_years = (local_now.date() - current).days / 365.25
        days = (date(current.year + (current.month == 12), current.month % 12 + 1, 1) - current).days
        drawn = min(days, (local_now.date() - current).days + 1)
        weight = MONTH_WEIGHT[current.month - 1] * YEARLY_GROWTH ** (-age_years) * drawn / days
        months.append((current, drawn, weight))
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    cumulative: list[float] = []
    total = 0.0
    for _, _, weight in months:
        total += weight
        cumulative.append(total)
    latest = now.timestamp() - 600
    out: list[float] = []
    for _ in range(count):
        month, days, _ = months[bisect.bisect_right(cumulative, rnd.random() * total)]
        local = datetime(month.year, month.month, 1, tzinfo=SEOUL) + timedelta(
            days=rnd.randrange(days), hours=rnd.uniform(7, 18)
        )
        instant = local.timestamp()
        if instant > latest:
            instant = latest - rnd.uniform(0, 6 * 3600)
        out.append(instant)
    out.sort()
    return out


def _events(rnd: random.Random, years: int, now: datetime) -> list[tuple[float, float, str]]:
    """Typhoons and heavy rains of each late summer: (start, end, disaster type)."""
    events = []
    for year in range(now.year - years, now.year + 1):
        for _ in range(rnd.randrange(1, 4)):
            start = datetime(year, 7, 15, tzinfo=SEOUL) + timedelta(days=rnd.randrange(0, 75))
            kind = "TYPHOON" if rnd.random() < 0.6 else "HEAVY_RAIN"
            events.append((start.timestamp(), (start + timedelta(days=10)).timestamp(), kind))
    return events


def _haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def _coord(value: float) -> Decimal:
    return Decimal(f"{value:.7f}")


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


@dataclass
class _Ids:
    report: int
    area: int
    depot: int
    credit: int
    contribution: int


@dataclass
class _Chunk:
    reports: list[dict[str, Any]] = field(default_factory=list)
    areas: list[dict[str, Any]] = field(default_factory=list)
    depots: list[dict[str, Any]] = field(default_factory=list)
    credits: list[dict[str, Any]] = field(default_factory=list)
    contributions: list[dict[str, Any]] = field(default_factory=list)


def _generate_reports(
    engine: Engine,
    districts: list[District],
    todo: int,
    first_number: int,
    years: int,
    rnd: random.Random,
    now: datetime,
    chunk_size: int,
    summary: ScaleSummary,
) -> None:
    with engine.connect() as conn:
        ids = _Ids(
            report=_next_id(conn, Report.__table__),
            area=_next_id(conn, ReportArea.__table__),
            depot=_next_id(conn, CollectionDepot.__table__),
            credit=_next_id(conn, Credit.__table__),
            contribution=_next_id(conn, Contribution.__table__),
        )
    usable = [d for d in districts if d.investigators and d.regulars]
    if not usable:
        raise RuntimeError("no district has investigators and cleaners")
    district_table = ([str(i) for i in range(len(usable))], list(_cumulative([len(d.beaches) for d in usable])))
    litter = _weighted(LITTER)
    weather = {season: _weighted(pairs) for season, pairs in WEATHER_BY_SEASON.items()}
    events = _events(rnd, years, now)
    instants = _timestamps(rnd, todo, years, now)
    now_ts = now.timestamp()
    number = first_number
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scale-writer")
    writing: Future[None] | None = None
    for start in range(0, todo, chunk_size):
        chunk = _Chunk()
        pending_investigation: dict[int, dict[str, Any]] = {}  # beach id -> the latest unclaimed one
        pending_cleaning: dict[tuple[int, int], int] = {}  # (beach id, team id) -> cleaning report id
        for instant in instants[start : start + chunk_size]:
            district = usable[int(_pick(rnd, district_table))]
            beach_id, beach_lat, beach_lng, coastline = rnd.choice(district.beaches)
            at = datetime.fromtimestamp(instant, UTC)
            local_month = datetime.fromtimestamp(instant, SEOUL).month
            age_days = (now_ts - instant) / 86400
            disaster = next((kind for lo, hi, kind in events if lo <= instant < hi), None)
            surge = (3.0 if disaster == "TYPHOON" else 2.0) if disaster else 1.0
            litter_factor = MONTH_LITTER[local_month - 1] * surge * (0.5 + coastline / 1500)
            kind = rnd.random()
            rtype = "INVESTIGATION" if kind < 0.35 else "CLEANING" if kind < 0.75 else "COLLECTION_REQUEST"
            roll = rnd.random()
            if roll < 0.02 and age_days < 30:
                status = ReportStatus.DRAFT
            elif roll < 0.06:
                status = ReportStatus.REJECTED
            elif age_days > 14:
                status = ReportStatus.APPROVED if roll < 0.97 else ReportStatus.SUBMITTED
            else:
                status = ReportStatus.APPROVED if roll < 0.35 else ReportStatus.SUBMITTED
            live = status != ReportStatus.DRAFT
            team: TeamInfo | None = None
            if rtype == "INVESTIGATION":
                author = rnd.choice(district.investigators)
            elif district.teams and rnd.random() < (0.8 if rtype == "CLEANING" else 0.7):
                team = rnd.choice(district.teams)
                author = team.leader
            else:
                author = rnd.choice(district.regulars)
            report_id = ids.report
            ids.report += 1
            reviewed = live and status != ReportStatus.SUBMITTED
            review_at = min(at + timedelta(hours=rnd.uniform(4, 72)), now) if reviewed else None
            season = SEASON[local_month - 1]
            report: dict[str, Any] = {
                "id": report_id,
                "client_id": f"{GENERATED_PREFIX}0000-4000-8000-{number:012d}",
                "type": rtype,
                "status": status.value,
                "user_id": author,
                "team_id": team.id if team else None,
                "beach_id": beach_id,
                "org_id": district.id,
                "job_id": None,
                "investigation_report_id": None,
                "cleaning_report_id": None,
                "investigation_at": at if rtype == "INVESTIGATION" else None,
                "cleaning_at": at if rtype == "CLEANING" else None,
                "weather": _pick(rnd, weather[season]) if rtype != "COLLECTION_REQUEST" else None,
                "disaster_type": (disaster or "NONE") if rtype == "INVESTIGATION" else None,
                "gps_lat": _coord(beach_lat + rnd.uniform(-0.002, 0.002)),
                "gps_lng": _coord(beach_lng + rnd.uniform(-0.002, 0.002)),
                "note": None,
                "reject_reason": "사진이 흐려 확인할 수 없습니다" if status == ReportStatus.REJECTED else None,
                "coastline_m": None,
                "duplicate_of_id": None,
                "claimed_by_team_id": None,
                "claimed_at": None,
                "payload_hash": None,
                "event_at": at if live else None,
                "submitted_at": at if live else None,
                "reviewed_at": review_at,
                "reviewed_by": district.reviewer if reviewed else None,
                "deleted_at": None,
                "created_at": at - timedelta(minutes=rnd.uniform(5, 90)),
                "updated_at": review_at or at,
            }
            number += 1
            chunk.reports.append(report)
            if rtype in ("INVESTIGATION", "CLEANING"):
                total_kg = _areas(chunk, ids, report, rnd, rtype, beach_lat, beach_lng, litter_factor, litter)
                if rtype == "INVESTIGATION" and live:
                    pending_investigation[beach_id] = report
                if rtype == "CLEANING" and team is not None:
                    followed = pending_investigation.get(beach_id)
                    if followed is not None and instant - followed["investigation_at"].timestamp() < 30 * 86400:
                        report["investigation_report_id"] = followed["id"]
                        followed["claimed_by_team_id"] = team.id
                        followed["claimed_at"] = at
                        del pending_investigation[beach_id]
                    if live:
                        pending_cleaning[(beach_id, team.id)] = report_id
                        _credits(chunk, ids, report_id, team, total_kg, at, rnd)
            else:
                if team is not None:
                    report["cleaning_report_id"] = pending_cleaning.pop((beach_id, team.id), None)
                _depots(chunk, ids, report, district, rnd, beach_lat, beach_lng, litter_factor, age_days, now)
        # the database stores this chunk while the next one is built
        if writing is not None:
            writing.result()
        writing = writer.submit(_store, engine, chunk)
        summary.reports += len(chunk.reports)
        summary.areas += len(chunk.areas)
        summary.depots += len(chunk.depots)
        summary.credits += len(chunk.credits)
        summary.contributions += len(chunk.contributions)
    if writing is not None:
        writing.result()
    writer.shutdown()


def _store(engine: Engine, chunk: _Chunk) -> None:
    with _bulk(engine) as conn:
        for table, rows in (
            (Report.__table__, chunk.reports),
            (ReportArea.__table__, chunk.areas),
            (CollectionDepot.__table__, chunk.depots),
            (Credit.__table__, chunk.credits),
            (Contribution.__table__, chunk.contributions),
        ):
            _insert(conn, table, rows)


def _cumulative(weights: list[int]) -> Iterator[int]:
    total = 0
    for weight in weights:
        total += weight
        yield total


def _areas(
    chunk: _Chunk,
    ids: _Ids,
    report: dict[str, Any],
    rnd: random.Random,
    rtype: str,
    lat: float,
    lng: float,
    factor: float,
    litter: tuple[list[str], list[int]],
) -> float:
    """One to three stretches of shore; returns the kg cleaned (0 for investigations)."""
    coastline = 0.0
    total_kg = 0.0
    for position in range(rnd.choice((1, 1, 2, 2, 3))):
        start_lat, start_lng = lat + rnd.uniform(-0.003, 0.003), lng + rnd.uniform(-0.003, 0.003)
        end_lat, end_lng = start_lat + rnd.uniform(-0.0015, 0.0015), start_lng + rnd.uniform(-0.0015, 0.0015)
        coastline += _haversine(start_lat, start_lng, end_lat, end_lng)
        amount = rnd.lognormvariate(3.6, 0.7) * factor  # litres, median ~37 l
        kg = amount * 0.35 if rtype == "CLEANING" else None
        chunk.areas.append(
            {
                "id": ids.area,
                "report_id": report["id"],
                "position": position,
                "area_name": AREA_NAMES[position],
                "start_latitude": _coord(start_lat),
                "start_longitude": _coord(start_lng),
                "end_latitude": _coord(end_lat),
                "end_longitude": _coord(end_lng),
                "trash_amount_est_l": _money(amount) if rtype == "INVESTIGATION" else None,
                "trash_amount_kg": _money(kg) if kg is not None else None,
                "bag_count": max(1, round(kg / 8)) if kg is not None else None,
                "main_trash_type": _pick(rnd, litter),
                "note": None,
                "investigation_area_id": None,
            }
        )
        ids.area += 1
        total_kg += float(_money(kg)) if kg is not None else 0.0
    report["coastline_m"] = _money(coastline)
    return total_kg


def _credits(
    chunk: _Chunk, ids: _Ids, report_id: int, team: TeamInfo, total_kg: float, at: datetime, rnd: random.Random
) -> None:
    """The report split among the team's active members (leader 1.5, members 1); volunteers' hours."""
    weights = [(uid, 1.5 if uid == team.leader else 1.0) for uid in team.members]
    total_weight = sum(w for _, w in weights)
    for uid, weight in weights:
        share = weight / total_weight
        chunk.credits.append(
            {
                "id": ids.credit,
                "report_id": report_id,
                "user_id": uid,
                "weight": Decimal(f"{weight:.3f}"),
                "share": Decimal(f"{share:.6f}"),
                "kg": _money(total_kg * share),
            }
        )
        ids.credit += 1
    for uid in team.volunteers:
        if rnd.random() < 0.6:
            chunk.contributions.append(
                {
                    "id": ids.contribution,
                    "report_id": report_id,
                    "user_id": uid,
                    "note": None,
                    "bags": rnd.randrange(1, 6),
                    "kg": _money(rnd.uniform(2, 30)),
                    "hours": Decimal(rnd.choice((1, 2, 2, 3, 3, 4, 5, 6))),
                    "created_at": at,
                    "updated_at": at,
                }
            )
            ids.contribution += 1


def _depots(
    chunk: _Chunk,
    ids: _Ids,
    report: dict[str, Any],
    district: District,
    rnd: random.Random,
    lat: float,
    lng: float,
    factor: float,
    age_days: float,
    now: datetime,
) -> None:
    live = report["status"] != ReportStatus.DRAFT
    request_live = request_is_live(report["status"], report.get("deleted_at"))
    at: datetime = report["created_at"]
    submitted: datetime | None = report["submitted_at"]
    for position in range(rnd.choice((1, 1, 1, 2))):
        estimated = rnd.lognormvariate(4.0, 0.6) * factor
        status: DepotStatus | None = None
        collector: int | None = None
        completed_at: datetime | None = None
        claimed_at: datetime | None = None
        amount: Decimal | None = None
        issue = None
        if live and submitted is not None:
            roll = rnd.random()
            if age_days > 10:
                status = DepotStatus.COMPLETED if roll < 0.97 else DepotStatus.WAITING
            else:
                status = (
                    DepotStatus.WAITING
                    if roll < 0.45
                    else DepotStatus.IN_ROUTE
                    if roll < 0.6
                    else DepotStatus.ISSUE
                    if roll < 0.65
                    else DepotStatus.COMPLETED
                )
            if status != DepotStatus.WAITING and not district.collectors:
                status = DepotStatus.WAITING
            if status == DepotStatus.COMPLETED:
                completed_at = submitted + timedelta(hours=rnd.lognormvariate(3.0, 0.8))
                if completed_at > now - timedelta(minutes=5):
                    status, completed_at = DepotStatus.WAITING, None
            if status in (DepotStatus.COMPLETED, DepotStatus.IN_ROUTE, DepotStatus.ISSUE):
                collector = rnd.choice(district.collectors)
                claimed_at = submitted + timedelta(minutes=rnd.uniform(10, 600))
                if claimed_at > now:
                    claimed_at = now
            if status == DepotStatus.COMPLETED:
                amount = _money(estimated * rnd.uniform(0.8, 1.2))
            if status == DepotStatus.ISSUE:
                issue = "집하장에 쓰레기가 보이지 않습니다"
        d_lat, d_lng = lat + rnd.uniform(-0.002, 0.002), lng + rnd.uniform(-0.002, 0.002)
        chunk.depots.append(
            {
                "id": ids.depot,
                "report_id": report["id"],
                "org_id": district.id,
                "position": position,
                "name": f"{rnd.choice(DEPOT_NAMES)} {position + 1}",
                "address": None,
                "latitude": _coord(d_lat),
                "longitude": _coord(d_lng),
                "note": None,
                "estimated_kg": _money(estimated),
                "status": status.value if status is not None else None,
                "request_live": request_live,
                "collector_id": collector,
                "claimed_at": claimed_at,
                "collected_amount": amount,
                "collection_completed_at": completed_at,
                "completed_latitude": _coord(d_lat) if completed_at else None,
                "completed_longitude": _coord(d_lng) if completed_at else None,
                "completion_note": None,
                "completion_image_id": None,
                "issue_note": issue,
                "issue_image_id": None,
                "created_at": at,
                "updated_at": completed_at or at,
            }
        )
        ids.depot += 1


@contextmanager
def _bulk(engine: Engine) -> Iterator[Connection]:
    """A transaction for bulk loading; on MySQL without per-row foreign key and unique checks
    (the generator keeps both by construction, as a dump being restored does)."""
    with engine.begin() as conn:
        mysql = conn.dialect.name == "mysql"
        if mysql:
            conn.exec_driver_sql("SET foreign_key_checks=0, unique_checks=0")
        try:
            yield conn
        finally:
            if mysql:
                conn.exec_driver_sql("SET foreign_key_checks=1, unique_checks=1")


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]], batch: int = 2000) -> None:
    """Bulk insert: one multi-row INSERT of literals per batch on MySQL (the driver's own
    escaping is most of the cost otherwise), ``executemany`` of plain tuples on SQLite. Values
    are stored as the column types store them (naive UTC datetimes with microseconds)."""
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(columns)
    if conn.dialect.name == "mysql":
        get = LITERALS.get
        for i in range(0, len(rows), batch):
            values = ",".join(
                "(" + ",".join([(get(type(v)) or _literal)(v) for v in map(row.__getitem__, columns)]) + ")"
                for row in rows[i : i + batch]
            )
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES {values}")
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
        [tuple(_plain(row[c]) for c in columns) for row in rows],
    )


def _stamp(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - the fastest way here
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def _plain(value: Any) -> Any:
    """A value as SQLAlchemy hands it to sqlite3."""
    if value is None or isinstance(value, int | str | bytes | float):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return json.dumps(value)


def _json_literal(value: Any) -> str:
    return "'" + escape_string(json.dumps(value)) + "'"


#: MySQL literals by Python type (a dict look-up is much cheaper than a chain of isinstance).
LITERALS: dict[type, Any] = {
    type(None): lambda _: "NULL",
    bool: lambda v: "1" if v else "0",
    int: str,
    Decimal: str,
    float: repr,
    str: lambda v: "'" + escape_string(v) + "'",
    datetime: lambda v: "'" + _stamp(v) + "'",
    date: lambda v: "'" + v.isoformat() + "'",
    bytes: lambda v: "X'" + v.hex() + "'" if v else "''",
    dict: _json_literal,
    list: _json_literal,
}


def _literal(value: Any) -> str:
    """A MySQL literal (enum members and other subclasses by their base type)."""
    for base, convert in LITERALS.items():
        if isinstance(value, base) and base is not type(None):
            return str(convert(value))
    raise TypeError(f"no literal for {type(value).__name__}")
