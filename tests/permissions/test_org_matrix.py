"""Permission matrix of organisations, teams, beaches, colleagues, phone-change requests and the
backup list — every endpoint × every role × own / other organisation.

The world is the core matrix's: each side (a city with one district) has a beach and a team led
by a cleaner; the callers live in the "own" city and district and the cleaner caller leads the
own team. Mutating cells act on a target made for that cell.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.enums import Role
from beachsaver.core.runtime import cipher_of
from beachsaver.teams.models import TeamMembership
from beachsaver.users.models import PhoneChangeRequest
from tests.factories import next_phone
from tests.permissions.matrix import Call, Cells, Expected, assert_cells, same
from tests.permissions.test_core_matrix import World, build

_serial = itertools.count(1)

SCOPED = {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (200, 404)}
SCOPED_201 = {"PLATFORM": (201, 201), "CITY": (201, 404), "DISTRICT": (201, 404)}
WORKERS_403 = same(403, ["INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN"])
# Workers read what lies in their own district; a pending citizen reads none of it.
DISTRICT_READERS = {"INVESTIGATOR": (200, 404), "CLEANER": (200, 404), "COLLECTOR": (200, 404), "CITIZEN": (403, 403)}
# Only the team's leader among the workers (the cleaner caller leads the own team).
TEAM_LEADER_ONLY: dict[str, tuple[Expected, Expected]] = {
    "INVESTIGATOR": (403, 403),
    "CLEANER": (200, 404),
    "COLLECTOR": (403, 403),
    "CITIZEN": (403, 403),
}


def _side(w: World, s: str) -> Any:
    return w.own if s == "own" else w.other


def _fresh_member(w: World, s: str) -> int:
    """A cleaner of the side's district who is an active member of the side's team."""
    side = _side(w, s)
    member = w.target(s, Role.CLEANER)
    w.db.add(TeamMembership(team_id=side.team.id, user_id=member.id, role_in_team="MEMBER", status="ACTIVE"))
    w.db.commit()
    return int(member.id)


def _fresh_phone_change(w: World, s: str) -> int:
    """A pending phone-change request of a cleaner of the side's district."""
    requester = w.target(s, Role.CLEANER)
    cipher = cipher_of(w.db)
    new_phone = next_phone()
    request = PhoneChangeRequest(
        user_id=requester.id,
        org_id=requester.org_id,
        old_phone_hash=requester.phone_hash,
        new_phone_enc=cipher.encrypt(new_phone),
        new_phone_hash=cipher.lookup_hash(new_phone),
        new_phone_last4=new_phone[-4:],
        status="PENDING",
    )
    w.db.add(request)
    w.db.commit()
    return int(request.id)


def _beach_body(w: World, s: str) -> dict[str, Any]:
    return {
        "org_id": _side(w, s).district.id,
        "beach_name": f"새해변{next(_serial)}",
        "si": "부산광역시",
        "gu_gun": "해운대구",
        "dong_eub": "중동",
        "workplace": "관리사무소",
        "latitude": 35.16,
        "longitude": 129.16,
    }


CELLS: Cells = {
    # ---- organisations ----
    "GET /api/organizations": (
        lambda w, s: ("GET", "/api/organizations", {}),
        {**same(200, ["PLATFORM", "CITY", "DISTRICT", "INVESTIGATOR", "CLEANER", "COLLECTOR"]), "CITIZEN": (403, 403)},
    ),
    "POST /api/organizations (district)": (
        lambda w, s: (
            "POST",
            "/api/organizations",
            {
                "json": {
                    "name": "새구",
                    "code": f"{_side(w, s).city.code}-N{next(_serial):04d}",
                    "type": "DISTRICT",
                    "parent_id": _side(w, s).city.id,
                }
            },
        ),
        {"PLATFORM": (201, 201), "CITY": (201, 404), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    "PATCH /api/organizations/{id} (district)": (
        lambda w, s: ("PATCH", f"/api/organizations/{_side(w, s).district.id}", {"json": {"name": "바뀐구"}}),
        {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    # ---- teams ----
    "GET /api/teams?org_id=": (
        lambda w, s: ("GET", "/api/teams", {"params": {"org_id": _side(w, s).district.id}}),
        {**SCOPED, **DISTRICT_READERS},
    ),
    "POST /api/teams": (
        lambda w, s: (
            "POST",
            "/api/teams",
            {
                "json": {
                    "name": f"새팀{next(_serial)}",
                    "org_id": _side(w, s).district.id,
                    "leader_id": _side(w, s).cleaner.id,
                    "member_ids": [],
                }
            },
        ),
        {**SCOPED_201, **WORKERS_403},
    ),
    "GET /api/teams/{id}/members": (
        lambda w, s: ("GET", f"/api/teams/{_side(w, s).team.id}/members", {}),
        {
            **SCOPED,
            "INVESTIGATOR": (404, 404),
            "CLEANER": (200, 404),
            "COLLECTOR": (404, 404),
            "CITIZEN": (403, 403),
        },
    ),
    "POST /api/teams/{id}/members": (
        lambda w, s: (
            "POST",
            f"/api/teams/{_side(w, s).team.id}/members",
            {"json": {"user_id": int(w.target(s, Role.CLEANER).id), "role_in_team": "MEMBER"}},
        ),
        {**SCOPED_201, **TEAM_LEADER_ONLY, "CLEANER": (201, 404)},
    ),
    "DELETE /api/teams/{id}/members/{user_id}": (
        lambda w, s: ("DELETE", f"/api/teams/{_side(w, s).team.id}/members/{_fresh_member(w, s)}", {}),
        {**SCOPED, **TEAM_LEADER_ONLY},
    ),
    # ---- beaches ----
    "GET /api/beaches?org_id=": (
        lambda w, s: ("GET", "/api/beaches", {"params": {"org_id": _side(w, s).district.id}}),
        {**SCOPED, **DISTRICT_READERS},
    ),
    "POST /api/beaches": (
        lambda w, s: ("POST", "/api/beaches", {"json": _beach_body(w, s)}),
        {**SCOPED_201, **WORKERS_403},
    ),
    # ---- accounts ----
    "GET /api/users/colleagues": (
        lambda w, s: ("GET", "/api/users/colleagues", {}),
        {
            **same(403, ["PLATFORM", "CITY", "DISTRICT", "CITIZEN"]),
            **same(200, ["INVESTIGATOR", "CLEANER", "COLLECTOR"]),
        },
    ),
    "GET /api/users/phone-changes": (
        lambda w, s: ("GET", "/api/users/phone-changes", {}),
        {**same(200, ["PLATFORM", "CITY", "DISTRICT"]), **WORKERS_403},
    ),
    "POST /api/users/phone-changes/{id}/approve": (
        lambda w, s: Call("POST", f"/api/users/phone-changes/{_fresh_phone_change(w, s)}/approve"),
        {**SCOPED, **WORKERS_403},
    ),
    "POST /api/users/phone-changes/{id}/reject": (
        lambda w, s: Call(
            "POST",
            f"/api/users/phone-changes/{_fresh_phone_change(w, s)}/reject",
            {"json": {"reason": "본인 확인 불가"}},
        ),
        {**SCOPED, **WORKERS_403},
    ),
    # ---- operations ----
    "GET /api/ops/backups": (
        lambda w, s: ("GET", "/api/ops/backups", {}),
        {"PLATFORM": (200, 200), "CITY": (200, 200), "DISTRICT": (403, 403), **WORKERS_403},
    ),
}


def test_org_permission_matrix(client: TestClient, db: Any) -> None:
    world = build(db)
    assert_cells(client, world, world.tokens, CELLS)


def test_worker_lists_stay_in_their_district(client: TestClient, db: Any) -> None:
    """What a 200 in the matrix returns: workers never see the other city's rows."""
    world = build(db)
    for role in ("INVESTIGATOR", "CLEANER", "COLLECTOR"):
        headers = {"Authorization": f"Bearer {world.tokens[role]}"}
        beaches = client.get("/api/beaches", params={"size": 100}, headers=headers).json()["data"]
        assert {b["id"] for b in beaches} == {world.own.beach.id}
        orgs = client.get("/api/organizations", headers=headers).json()["data"]
        assert world.other.district.id not in {o["id"] for o in orgs}
        assert world.own.district.id in {o["id"] for o in orgs}
        colleagues = client.get("/api/users/colleagues", headers=headers).json()["data"]
        assert world.other.cleaner.id not in {c["id"] for c in colleagues}
        assert world.own.cleaner.id in {c["id"] for c in colleagues}
    headers = {"Authorization": f"Bearer {world.tokens['CLEANER']}"}
    teams = client.get("/api/teams", params={"size": 100}, headers=headers).json()["data"]
    assert {t["id"] for t in teams} == {world.own.team.id}
