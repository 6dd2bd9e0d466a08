"""Permission matrix of the core platform: every endpoint × every role × own / other organisation.

Each cell states the expected status. The caller's "own" objects live in the caller's city /
district; "other" objects live in another city. Mutating cells act on a target made for that cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.enums import CleanerType, Role, UserStatus
from tests.factories import make_beach, make_city, make_district, make_team, make_user, token_for
from tests.permissions.matrix import ROLES, Cells, assert_cells


@dataclass
class Side:
    city: Any
    district: Any
    beach: Any
    team: Any
    cleaner: Any


@dataclass
class World:
    own: Side
    other: Side
    tokens: dict[str, str]
    db: Any

    def target(self, side: str, role: Role, **kw: Any) -> Any:
        """A fresh account for a mutating cell."""
        district = getattr(self, side).district
        user = make_user(self.db, role, district, **kw)
        self.db.commit()
        return user


def build(db: Any) -> World:
    sides = {}
    for name in ("own", "other"):
        city = make_city(db)
        district = make_district(db, city)
        beach = make_beach(db, district, name=f"해변-{name}")
        cleaner = make_user(db, Role.CLEANER, district)
        team = make_team(db, district, cleaner, [])
        sides[name] = Side(city=city, district=district, beach=beach, team=team, cleaner=cleaner)
    own = sides["own"]
    from beachsaver.orgs import service as org_service

    root = org_service.ensure_root(db)
    callers = {
        "PLATFORM": make_user(db, Role.PLATFORM_ADMIN, root),
        "CITY": make_user(db, Role.CITY_ADMIN, own.city),
        "DISTRICT": make_user(db, Role.DISTRICT_ADMIN, own.district),
        "INVESTIGATOR": make_user(db, Role.INVESTIGATOR, own.district),
        "CLEANER": own.cleaner,  # the leader of the own team
        "COLLECTOR": make_user(db, Role.COLLECTOR, own.district, verified=True),
        "CITIZEN": make_user(db, Role.CITIZEN, own.district, status=UserStatus.PENDING_APPROVAL),
    }
    tokens = {name: token_for(db, user) for name, user in callers.items()}
    db.commit()
    return World(own=own, other=sides["other"], tokens=tokens, db=db)


def _cleaner_target(w: World, side: str) -> int:
    return int(w.target(side, Role.CLEANER).id)


def _collector_target(w: World, side: str) -> int:
    return int(w.target(side, Role.COLLECTOR, vehicle=True).id)


def _citizen_target(w: World, side: str) -> int:
    return int(w.target(side, Role.CITIZEN, status=UserStatus.PENDING_APPROVAL).id)


ADMIN_OWN_OTHER = {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (200, 404)}
WORKERS_403 = {r: (403, 403) for r in ("INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN")}

# endpoint name → (request builder, {role: (own, other)})
CELLS: Cells = {
    "GET /api/users": (
        lambda w, s: ("GET", "/api/users", {}),
        {"PLATFORM": (200, 200), "CITY": (200, 200), "DISTRICT": (200, 200), **WORKERS_403},
    ),
    "GET /api/users/{id}": (
        lambda w, s: ("GET", f"/api/users/{getattr(w, s).cleaner.id}", {}),
        {**ADMIN_OWN_OTHER, **WORKERS_403},
    ),
    "PATCH /api/users/{id}": (
        lambda w, s: ("PATCH", f"/api/users/{_cleaner_target(w, s)}", {"json": {"nickname": "바뀐이름"}}),
        {**ADMIN_OWN_OTHER, **WORKERS_403},
    ),
    "PATCH /api/users/{id}/status": (
        lambda w, s: (
            "PATCH",
            f"/api/users/{_cleaner_target(w, s)}/status",
            {"json": {"status": "SUSPENDED", "reason": "점검"}},
        ),
        {**ADMIN_OWN_OTHER, **WORKERS_403},
    ),
    "POST /api/users/{id}/verify-collector": (
        lambda w, s: ("POST", f"/api/users/{_collector_target(w, s)}/verify-collector", {}),
        {**ADMIN_OWN_OTHER, **WORKERS_403},
    ),
    "POST /api/users/{id}/approve": (
        lambda w, s: ("POST", f"/api/users/{_citizen_target(w, s)}/approve", {}),
        {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    "POST /api/users/{id}/reject": (
        lambda w, s: ("POST", f"/api/users/{_citizen_target(w, s)}/reject", {"json": {"reason": "정보 불일치"}}),
        {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    "POST /api/users (cleaner)": (
        lambda w, s: (
            "POST",
            "/api/users",
            {
                "json": {
                    "nickname": "신규청소",
                    "phone": _fresh_phone(),
                    "role": "CLEANER",
                    "org_id": getattr(w, s).district.id,
                }
            },
        ),
        {"PLATFORM": (201, 201), "CITY": (201, 404), "DISTRICT": (201, 404), **WORKERS_403},
    ),
    "GET /api/organizations/{id}": (
        lambda w, s: ("GET", f"/api/organizations/{getattr(w, s).district.id}", {}),
        {
            **ADMIN_OWN_OTHER,
            "INVESTIGATOR": (200, 404),
            "CLEANER": (200, 404),
            "COLLECTOR": (200, 404),
            "CITIZEN": (403, 403),
        },
    ),
    "GET /api/teams/{id}": (
        lambda w, s: ("GET", f"/api/teams/{getattr(w, s).team.id}", {}),
        {
            **ADMIN_OWN_OTHER,
            "INVESTIGATOR": (404, 404),
            "CLEANER": (200, 404),
            "COLLECTOR": (404, 404),
            "CITIZEN": (403, 403),
        },
    ),
    "PATCH /api/teams/{id}": (
        lambda w, s: ("PATCH", f"/api/teams/{getattr(w, s).team.id}", {"json": {"name": f"팀-{_fresh_phone()[-4:]}"}}),
        {
            **ADMIN_OWN_OTHER,
            "INVESTIGATOR": (403, 403),
            "CLEANER": (403, 403),
            "COLLECTOR": (403, 403),
            "CITIZEN": (403, 403),
        },
    ),
    "GET /api/beaches/{id}": (
        lambda w, s: ("GET", f"/api/beaches/{getattr(w, s).beach.id}", {}),
        {
            **ADMIN_OWN_OTHER,
            "INVESTIGATOR": (200, 404),
            "CLEANER": (200, 404),
            "COLLECTOR": (200, 404),
            "CITIZEN": (403, 403),
        },
    ),
    "PATCH /api/beaches/{id}": (
        lambda w, s: ("PATCH", f"/api/beaches/{getattr(w, s).beach.id}", {"json": {"workplace": "새 관리사무소"}}),
        {**ADMIN_OWN_OTHER, **WORKERS_403},
    ),
    "GET /api/logs": (
        lambda w, s: ("GET", "/api/logs", {}),
        {"PLATFORM": (200, 200), "CITY": (200, 200), "DISTRICT": (200, 200), **WORKERS_403},
    ),
    "GET /api/users/me": (
        lambda w, s: ("GET", "/api/users/me", {}),
        {r: (200, 200) for r in ROLES},
    ),
    "GET /api/users/roles": (
        lambda w, s: ("GET", "/api/users/roles", {}),
        {r: (200, 200) for r in ROLES},
    ),
}

_phone_counter = iter(range(20_000_001, 29_999_999))


def _fresh_phone() -> str:
    return f"010{next(_phone_counter):08d}"


def test_core_permission_matrix(client: TestClient, db: Any) -> None:
    world = build(db)
    assert_cells(client, world, world.tokens, CELLS)


def test_lists_never_leak_other_organisations(client: TestClient, db: Any) -> None:
    world = build(db)
    for role in ("CITY", "DISTRICT"):
        headers = {"Authorization": f"Bearer {world.tokens[role]}"}
        users = client.get("/api/users", params={"size": 100}, headers=headers).json()["data"]
        assert world.other.cleaner.id not in {u["id"] for u in users}
        teams = client.get("/api/teams", params={"size": 100}, headers=headers).json()["data"]
        assert world.other.team.id not in {t["id"] for t in teams}
        beaches = client.get("/api/beaches", params={"size": 100}, headers=headers).json()["data"]
        assert world.other.beach.id not in {b["id"] for b in beaches}
        orgs = client.get("/api/organizations", headers=headers).json()["data"]
        assert world.other.district.id not in {o["id"] for o in orgs}


_ = CleanerType
