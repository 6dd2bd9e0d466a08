"""Permission matrix of the admin endpoints: account import/export, PDF reports and their
schedules, statistics, and operations — every endpoint × every role × own / other organisation.

The callers live in the "own" city (the district admin and the workers in its district). Each
side has its own import job, report schedule and incident, made by that side's admins; a cell's
"other" request targets the other city's object or passes ``org_id`` of the other city's
district. A cell expects a status, or a status and the ``data.status`` of the answer (an import
into an organisation outside the caller's scope is recorded as a ``FAILED`` job, nothing written).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.enums import Role, UserStatus
from beachsaver.orgs import service as org_service
from tests.factories import auth, make_beach, make_city, make_district, make_team, make_user, token_for
from tests.imports.world import xlsx
from tests.permissions.matrix import ROLES, Builder, Cells, Expected, assert_cells, matches

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_phones = itertools.count(40_000_001)


def fresh_phone() -> str:
    return f"010{next(_phones):08d}"


@dataclass
class Side:
    city: Any
    district: Any
    import_job_id: int
    schedule_id: int
    incident_id: int


@dataclass
class World:
    own: Side
    other: Side
    tokens: dict[str, str]
    side_admins: dict[str, dict[str, str]]  # side → {"city": token, "district": token}


def _data(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def import_file(district: Any) -> bytes:
    row = {
        "role": "CLEANER",
        "org_code": district.code,
        "nickname": "바다지킴이",
        "phone": fresh_phone(),
        "cleaner_type": "REGULAR",
    }
    return xlsx([row])


def import_request(district: Any) -> dict[str, Any]:
    return {"files": {"file": ("accounts.xlsx", import_file(district), XLSX)}, "data": {"dry_run": "true"}}


def build(client: TestClient, db: Any) -> World:
    root = org_service.ensure_root(db)
    orgs = {}
    for side in ("own", "other"):
        city = make_city(db)
        district = make_district(db, city)
        beach = make_beach(db, district, name=f"해변-{side}")
        leader = make_user(db, Role.CLEANER, district)
        make_team(db, district, leader, [])
        orgs[side] = (city, district, beach, leader)
    own_city, own_district, _beach, own_leader = orgs["own"]
    other_city, other_district, _b, _l = orgs["other"]
    callers = {
        "PLATFORM": make_user(db, Role.PLATFORM_ADMIN, root),
        "CITY": make_user(db, Role.CITY_ADMIN, own_city),
        "DISTRICT": make_user(db, Role.DISTRICT_ADMIN, own_district),
        "INVESTIGATOR": make_user(db, Role.INVESTIGATOR, own_district),
        "CLEANER": own_leader,
        "COLLECTOR": make_user(db, Role.COLLECTOR, own_district, verified=True),
        "CITIZEN": make_user(db, Role.CITIZEN, own_district, status=UserStatus.PENDING_APPROVAL),
    }
    tokens = {name: token_for(db, user) for name, user in callers.items()}
    side_admins = {
        "own": {"city": tokens["CITY"], "district": tokens["DISTRICT"]},
        "other": {
            "city": token_for(db, make_user(db, Role.CITY_ADMIN, other_city)),
            "district": token_for(db, make_user(db, Role.DISTRICT_ADMIN, other_district)),
        },
    }
    db.commit()
    sides = {}
    for side in ("own", "other"):
        city, district, _beach, _leader = orgs[side]
        admins = side_admins[side]
        job = _data(client.post("/api/users/import", headers=auth(admins["district"]), **import_request(district)), 201)
        schedule = _data(
            client.post(
                "/api/statistics/report-schedules",
                headers=auth(admins["district"]),
                json={"org_id": district.id, "frequency": "WEEKLY", "recipients": ["ops@example.org"]},
            ),
            201,
        )
        incident = _data(
            client.post(
                "/api/ops/incidents", headers=auth(admins["city"]), json={"title": f"장애-{side}", "severity": "LOW"}
            ),
            201,
        )
        sides[side] = Side(
            city=city,
            district=district,
            import_job_id=job["id"],
            schedule_id=schedule["id"],
            incident_id=incident["id"],
        )
    return World(own=sides["own"], other=sides["other"], tokens=tokens, side_admins=side_admins)


def _side(w: World, s: str) -> Side:
    return w.own if s == "own" else w.other


def _new_schedule(w: World, s: str, client: TestClient) -> int:
    side = _side(w, s)
    r = client.post(
        "/api/statistics/report-schedules",
        headers=auth(w.side_admins[s]["district"]),
        json={"org_id": side.district.id, "frequency": "MONTHLY", "recipients": ["boss@example.org"]},
    )
    return int(_data(r, 201)["id"])


ALL_ADMINS = {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (200, 404)}
UNSCOPED_ADMINS = {"PLATFORM": (200, 200), "CITY": (200, 200), "DISTRICT": (200, 200)}
WORKERS_403 = {r: (403, 403) for r in ("INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN")}
OPS_ADMINS = {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (403, 403)}


def stats(path: str, **params: Any) -> Builder:
    return lambda w, s: ("GET", path, {"params": {**params, "org_id": _side(w, s).district.id}})


# endpoint → (request builder, {role: (own, other)}); builders that need the client get it via CLIENT_CELLS.
CELLS: Cells = {
    # ---- account import and export ----
    "POST /api/users/import (dry run)": (
        lambda w, s: ("POST", "/api/users/import", import_request(_side(w, s).district)),
        {
            "PLATFORM": ((201, "VALIDATED"), (201, "VALIDATED")),
            "CITY": ((201, "VALIDATED"), (201, "FAILED")),
            "DISTRICT": ((201, "VALIDATED"), (201, "FAILED")),
            **{r: (403, 403) for r in ("INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN")},
        },
    ),
    "GET /api/users/import": (lambda w, s: ("GET", "/api/users/import", {}), {**UNSCOPED_ADMINS, **WORKERS_403}),
    "GET /api/users/import/template": (
        lambda w, s: ("GET", "/api/users/import/template", {}),
        {**UNSCOPED_ADMINS, **WORKERS_403},
    ),
    "GET /api/users/import/{job_id}": (
        lambda w, s: ("GET", f"/api/users/import/{_side(w, s).import_job_id}", {}),
        {**ALL_ADMINS, **WORKERS_403},
    ),
    "GET /api/users/import/{job_id}/errors.xlsx": (
        lambda w, s: ("GET", f"/api/users/import/{_side(w, s).import_job_id}/errors.xlsx", {}),
        {**ALL_ADMINS, **WORKERS_403},
    ),
    "GET /api/users/export?org_id=": (
        lambda w, s: ("GET", "/api/users/export", {"params": {"org_id": _side(w, s).district.id}}),
        {**ALL_ADMINS, **WORKERS_403},
    ),
    # ---- PDF reports and their schedules ----
    "GET /api/statistics/report.pdf?org_id=": (
        stats("/api/statistics/report.pdf"),
        {**ALL_ADMINS, **WORKERS_403},
    ),
    "GET /api/statistics/report-schedules": (
        lambda w, s: ("GET", "/api/statistics/report-schedules", {}),
        {**UNSCOPED_ADMINS, **WORKERS_403},
    ),
    "POST /api/statistics/report-schedules": (
        lambda w, s: (
            "POST",
            "/api/statistics/report-schedules",
            {"json": {"org_id": _side(w, s).district.id, "frequency": "WEEKLY", "recipients": ["a@example.org"]}},
        ),
        {"PLATFORM": (201, 201), "CITY": (201, 404), "DISTRICT": (201, 404), **WORKERS_403},
    ),
    # ---- statistics ----
    "GET /api/statistics?org_id=": (stats("/api/statistics"), {**ALL_ADMINS, **WORKERS_403}),
    "GET /api/statistics?group_by=org": (stats("/api/statistics", group_by="org"), {**ALL_ADMINS, **WORKERS_403}),
    "GET /api/statistics/export?org_id=": (stats("/api/statistics/export"), {**ALL_ADMINS, **WORKERS_403}),
    "GET /api/statistics/map?layer=litter": (
        stats("/api/statistics/map", layer="litter"),
        {**ALL_ADMINS, **WORKERS_403},
    ),
    "GET /api/statistics/map?layer=depots": (
        stats("/api/statistics/map", layer="depots"),
        {**ALL_ADMINS, **WORKERS_403},
    ),
    "GET /api/statistics/map?layer=forecast": (
        stats("/api/statistics/map", layer="forecast"),
        {**ALL_ADMINS, **WORKERS_403},
    ),
    "GET /api/statistics/dashboard?org_id=": (stats("/api/statistics/dashboard"), {**ALL_ADMINS, **WORKERS_403}),
    "GET /api/users/me/performance": (
        lambda w, s: ("GET", "/api/users/me/performance", {}),
        {
            "PLATFORM": (403, 403),
            "CITY": (403, 403),
            "DISTRICT": (403, 403),
            "INVESTIGATOR": (200, 200),
            "CLEANER": (200, 200),
            "COLLECTOR": (200, 200),
            "CITIZEN": (403, 403),
        },
    ),
    # ---- operations (platform and city admins) ----
    "GET /api/ops/incidents": (
        lambda w, s: ("GET", "/api/ops/incidents", {}),
        {"PLATFORM": (200, 200), "CITY": (200, 200), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    "POST /api/ops/incidents": (
        lambda w, s: ("POST", "/api/ops/incidents", {"json": {"title": "점검", "severity": "MEDIUM"}}),
        {"PLATFORM": (201, 201), "CITY": (201, 201), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    "GET /api/ops/incidents/{id}": (
        lambda w, s: ("GET", f"/api/ops/incidents/{_side(w, s).incident_id}", {}),
        {**OPS_ADMINS, **WORKERS_403},
    ),
    "PATCH /api/ops/incidents/{id}": (
        lambda w, s: ("PATCH", f"/api/ops/incidents/{_side(w, s).incident_id}", {"json": {"severity": "HIGH"}}),
        {**OPS_ADMINS, **WORKERS_403},
    ),
    "GET /api/ops/incidents/{id}/export.md": (
        lambda w, s: ("GET", f"/api/ops/incidents/{_side(w, s).incident_id}/export.md", {}),
        {**OPS_ADMINS, **WORKERS_403},
    ),
    "GET /api/ops/inspections": (
        lambda w, s: ("GET", "/api/ops/inspections", {}),
        {"PLATFORM": (200, 200), "CITY": (200, 200), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    "GET /api/ops/job-runs": (
        lambda w, s: ("GET", "/api/ops/job-runs", {}),
        {"PLATFORM": (200, 200), "CITY": (200, 200), "DISTRICT": (403, 403), **WORKERS_403},
    ),
    # The Alertmanager relay takes its own webhook token, never a user's (none configured here).
    "POST /api/ops/alerts/webhook": (
        lambda w, s: ("POST", "/api/ops/alerts/webhook", {"json": {"status": "firing", "alerts": []}}),
        {r: (401, 401) for r in ROLES},
    ),
}


def _check(
    client: TestClient,
    world: World,
    name: str,
    role: str,
    side: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    want: Expected,
) -> str | None:
    response = client.request(method, path, headers=auth(world.tokens[role]), **kwargs)
    if matches(response, want):
        return None
    return f"{name} as {role} ({side}): {response.status_code} != {want} {response.text[:160]}"


def test_admin_permission_matrix(client: TestClient, db: Any) -> None:
    world = build(client, db)
    assert_cells(client, world, world.tokens, CELLS)


def test_deleting_report_schedules(client: TestClient, db: Any) -> None:
    """A delete consumes its target: each cell deletes a schedule made for it."""
    world = build(client, db)
    expected = {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (200, 404), **WORKERS_403}
    mismatches = []
    for role in ROLES:
        for index, side in enumerate(("own", "other")):
            schedule_id = _new_schedule(world, side, client)
            path = f"/api/statistics/report-schedules/{schedule_id}"
            problem = _check(client, world, "DELETE schedule", role, side, "DELETE", path, {}, expected[role][index])
            if problem:
                mismatches.append(problem)
    assert not mismatches, "\n".join(mismatches)


def test_admin_lists_never_leak_other_organisations(client: TestClient, db: Any) -> None:
    world = build(client, db)
    for role in ("CITY", "DISTRICT"):
        headers = auth(world.tokens[role])
        jobs = client.get("/api/users/import", params={"size": 100}, headers=headers).json()["data"]
        assert world.other.import_job_id not in {j["id"] for j in jobs}
        assert world.own.import_job_id in {j["id"] for j in jobs}
        schedules = client.get("/api/statistics/report-schedules", params={"size": 100}, headers=headers).json()
        assert world.other.schedule_id not in {s["id"] for s in schedules["data"]}
        assert world.own.schedule_id in {s["id"] for s in schedules["data"]}
    incidents = client.get("/api/ops/incidents", params={"size": 100}, headers=auth(world.tokens["CITY"])).json()
    assert world.other.incident_id not in {i["id"] for i in incidents["data"]}
    assert world.own.incident_id in {i["id"] for i in incidents["data"]}
    everything = client.get("/api/ops/incidents", params={"size": 100}, headers=auth(world.tokens["PLATFORM"])).json()
    assert {world.own.incident_id, world.other.incident_id} <= {i["id"] for i in everything["data"]}
