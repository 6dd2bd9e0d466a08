"""Permission matrix of the field endpoints: reports, depots, jobs, images and notifications —
every endpoint × every role × own / other organisation.

Each side (a city with one district) has an investigator's submitted investigation report with a
photo, a team leader's collection request with one waiting depot, and an open job. The callers
live in the "own" district: the investigator and the team leader are the authors of the own
side's reports. Mutating cells act on a target made for that cell.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.enums import Role, UserStatus
from beachsaver.core.time import seoul_today
from beachsaver.orgs import service as org_service
from tests.factories import auth, make_beach, make_city, make_district, make_image, make_team, make_user, token_for
from tests.permissions.matrix import ROLES, Cells, assert_cells, small_jpeg


@dataclass
class Side:
    district: Any
    beach: Any
    investigator: Any
    leader: Any
    tokens: dict[str, str]  # "investigator", "leader", "admin" of this side
    investigation_id: int
    request_id: int
    depot_id: int
    image_id: int
    job_id: int


@dataclass
class World:
    own: Side
    other: Side
    tokens: dict[str, str]
    client: TestClient
    db: Any

    def side(self, name: str) -> Side:
        return self.own if name == "own" else self.other


def _data(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def _ago(minutes: int = 30) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def upload_photo(client: TestClient, token: str, image_type: str) -> int:
    files = {"file": ("a.jpg", small_jpeg(), "image/jpeg")}
    return int(
        _data(client.post("/api/images", headers=auth(token), files=files, data={"type": image_type}), 201)["id"]
    )


def submit_investigation(client: TestClient, db: Any, side: Side, *, photo_id: int | None = None) -> int:
    photo_id = photo_id or make_image(db, side.investigator, "INVESTIGATION_MAIN").id
    db.commit()
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "INVESTIGATION",
        "beach_id": side.beach.id,
        "investigation_at": _ago(),
        "weather": "SUNNY",
        "confirm_duplicate": True,
        "images": [photo_id],
        "areas": [
            {
                "area_name": "A구역",
                "start_latitude": 35.1581,
                "start_longitude": 129.1590,
                "end_latitude": 35.1590,
                "end_longitude": 129.1620,
                "trash_amount_est_l": 120.5,
                "main_trash_type": "PLASTIC",
            }
        ],
    }
    return int(_data(client.post("/api/reports", json=body, headers=auth(side.tokens["investigator"])), 201)["id"])


def submit_request(client: TestClient, db: Any, side: Side) -> tuple[int, int]:
    photo = make_image(db, side.leader, "COLLECTION_DEPOT")
    db.commit()
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "COLLECTION_REQUEST",
        "beach_id": side.beach.id,
        "confirm_duplicate": True,
        "collection_depots": [{"name": "집하장", "latitude": 35.16, "longitude": 129.161, "photo": photo.id}],
    }
    report = _data(client.post("/api/reports", json=body, headers=auth(side.tokens["leader"])), 201)
    return int(report["id"]), int(report["collection_depots"][0]["id"])


def create_job(client: TestClient, side: Side) -> int:
    body = {"type": "INVESTIGATION", "beach_id": side.beach.id, "date": seoul_today().isoformat(), "headcount": 1}
    return int(_data(client.post("/api/jobs", json=body, headers=auth(side.tokens["admin"])), 201)["id"])


def build(client: TestClient, db: Any) -> World:
    root = org_service.ensure_root(db)
    people: dict[str, dict[str, Any]] = {}
    for name in ("own", "other"):
        city = make_city(db)
        district = make_district(db, city)
        beach = make_beach(db, district, name=f"해변-{name}")
        investigator = make_user(db, Role.INVESTIGATOR, district)
        leader = make_user(db, Role.CLEANER, district)
        make_team(db, district, leader, [])
        admin = make_user(db, Role.DISTRICT_ADMIN, district)
        people[name] = {
            "city": city,
            "district": district,
            "beach": beach,
            "investigator": investigator,
            "leader": leader,
            "admin": admin,
        }
    own = people["own"]
    callers = {
        "PLATFORM": make_user(db, Role.PLATFORM_ADMIN, root),
        "CITY": make_user(db, Role.CITY_ADMIN, own["city"]),
        "DISTRICT": own["admin"],
        "INVESTIGATOR": own["investigator"],
        "CLEANER": own["leader"],
        "COLLECTOR": make_user(db, Role.COLLECTOR, own["district"], verified=True),
        "CITIZEN": make_user(db, Role.CITIZEN, own["district"], status=UserStatus.PENDING_APPROVAL),
    }
    tokens = {name: token_for(db, user) for name, user in callers.items()}
    side_tokens = {
        "own": {"investigator": tokens["INVESTIGATOR"], "leader": tokens["CLEANER"], "admin": tokens["DISTRICT"]},
        "other": {key: token_for(db, people["other"][key]) for key in ("investigator", "leader", "admin")},
    }
    db.commit()
    sides = {}
    for name in ("own", "other"):
        p = people[name]
        side = Side(
            district=p["district"],
            beach=p["beach"],
            investigator=p["investigator"],
            leader=p["leader"],
            tokens=side_tokens[name],
            investigation_id=0,
            request_id=0,
            depot_id=0,
            image_id=0,
            job_id=0,
        )
        side.image_id = upload_photo(client, side.tokens["investigator"], "INVESTIGATION_MAIN")
        side.investigation_id = submit_investigation(client, db, side, photo_id=side.image_id)
        side.request_id, side.depot_id = submit_request(client, db, side)
        side.job_id = create_job(client, side)
        sides[name] = side
    return World(own=sides["own"], other=sides["other"], tokens=tokens, client=client, db=db)


ADMINS_SCOPED = {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (200, 404)}
CITIZEN_403 = {"CITIZEN": (403, 403)}


def fresh_depot(w: World, s: str) -> int:
    return submit_request(w.client, w.db, w.side(s))[1]


CELLS: Cells = {
    # ---- reports ----
    "GET /api/reports": (
        lambda w, s: ("GET", "/api/reports", {}),
        {r: (200, 200) for r in ROLES if r != "CITIZEN"} | CITIZEN_403,
    ),
    "GET /api/reports?org_id=": (
        lambda w, s: ("GET", "/api/reports", {"params": {"org_id": w.side(s).district.id}}),
        {**ADMINS_SCOPED, "INVESTIGATOR": (200, 200), "CLEANER": (200, 200), "COLLECTOR": (200, 200), **CITIZEN_403},
    ),
    "GET /api/reports/{investigation}": (
        lambda w, s: ("GET", f"/api/reports/{w.side(s).investigation_id}", {}),
        {**ADMINS_SCOPED, "INVESTIGATOR": (200, 404), "CLEANER": (200, 404), "COLLECTOR": (404, 404), **CITIZEN_403},
    ),
    "GET /api/reports/{collection request}": (
        lambda w, s: ("GET", f"/api/reports/{w.side(s).request_id}", {}),
        {**ADMINS_SCOPED, "INVESTIGATOR": (404, 404), "CLEANER": (200, 404), "COLLECTOR": (200, 404), **CITIZEN_403},
    ),
    "PATCH /api/reports/{id} (approve)": (
        lambda w, s: (
            "PATCH",
            f"/api/reports/{submit_investigation(w.client, w.db, w.side(s))}",
            {"json": {"status": "APPROVED"}},
        ),
        {**ADMINS_SCOPED, "INVESTIGATOR": (403, 404), "CLEANER": (403, 404), "COLLECTOR": (404, 404), **CITIZEN_403},
    ),
    # ---- depots ----
    "GET /api/collection-depots": (
        lambda w, s: ("GET", "/api/collection-depots", {"params": {"near": "35.16,129.16"}}),
        {
            **{r: (200, 200) for r in ("PLATFORM", "CITY", "DISTRICT", "CLEANER", "COLLECTOR")},
            "INVESTIGATOR": (403, 403),
            **CITIZEN_403,
        },
    ),
    "GET /api/collection-depots?org_id=": (
        lambda w, s: ("GET", "/api/collection-depots", {"params": {"org_id": w.side(s).district.id}}),
        {**ADMINS_SCOPED, "CLEANER": (200, 200), "COLLECTOR": (200, 200), "INVESTIGATOR": (403, 403), **CITIZEN_403},
    ),
    "GET /api/collection-depots/{id}": (
        lambda w, s: ("GET", f"/api/collection-depots/{w.side(s).depot_id}", {}),
        {**ADMINS_SCOPED, "INVESTIGATOR": (404, 404), "CLEANER": (200, 404), "COLLECTOR": (200, 404), **CITIZEN_403},
    ),
    "POST /api/collection-depots/{id}/claim": (
        lambda w, s: ("POST", f"/api/collection-depots/{fresh_depot(w, s)}/claim", {}),
        {
            "PLATFORM": (403, 403),
            "CITY": (403, 404),
            "DISTRICT": (403, 404),
            "INVESTIGATOR": (404, 404),
            "CLEANER": (403, 404),
            "COLLECTOR": (200, 404),
            **CITIZEN_403,
        },
    ),
    "GET /api/collection-depots/route": (
        lambda w, s: ("GET", "/api/collection-depots/route", {"params": {"start": "35.16,129.16"}}),
        {**{r: (403, 403) for r in ROLES}, "COLLECTOR": (200, 200)},
    ),
    # ---- jobs ----
    "GET /api/jobs": (
        lambda w, s: ("GET", "/api/jobs", {}),
        {r: (200, 200) for r in ROLES if r != "CITIZEN"} | CITIZEN_403,
    ),
    "GET /api/jobs/{id}": (
        lambda w, s: ("GET", f"/api/jobs/{w.side(s).job_id}", {}),
        {**ADMINS_SCOPED, "INVESTIGATOR": (404, 404), "CLEANER": (404, 404), "COLLECTOR": (404, 404), **CITIZEN_403},
    ),
    "PATCH /api/jobs/{id} (cancel)": (
        lambda w, s: (
            "PATCH",
            f"/api/jobs/{create_job(w.client, w.side(s))}",
            {"json": {"status": "CANCELLED", "reason": "기상 악화"}},
        ),
        {**ADMINS_SCOPED, **{r: (403, 403) for r in ("INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN")}},
    ),
    # ---- images ----
    "GET /api/images/{id}": (
        lambda w, s: ("GET", f"/api/images/{w.side(s).image_id}", {}),
        {**ADMINS_SCOPED, "INVESTIGATOR": (200, 404), "CLEANER": (200, 404), "COLLECTOR": (404, 404), **CITIZEN_403},
    ),
    "GET /api/images/{id}/content": (
        lambda w, s: ("GET", f"/api/images/{w.side(s).image_id}/content", {}),
        {**ADMINS_SCOPED, "INVESTIGATOR": (200, 404), "CLEANER": (200, 404), "COLLECTOR": (404, 404), **CITIZEN_403},
    ),
    # ---- notifications (always the caller's own) ----
    "GET /api/notifications": (
        lambda w, s: ("GET", "/api/notifications", {}),
        {r: (200, 200) for r in ROLES},
    ),
    "GET /api/notifications/preferences": (
        lambda w, s: ("GET", "/api/notifications/preferences", {}),
        {r: (200, 200) for r in ROLES},
    ),
    "POST /api/notifications/broadcast": (
        lambda w, s: (
            "POST",
            "/api/notifications/broadcast",
            {"json": {"title": "긴급", "message": "기상 특보", "org_ids": [w.side(s).district.id]}},
        ),
        {**ADMINS_SCOPED, **{r: (403, 403) for r in ("INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN")}},
    ),
}


def test_field_permission_matrix(client: TestClient, db: Any) -> None:
    world = build(client, db)
    assert_cells(client, world, world.tokens, CELLS)
