"""Permission matrix of the field workflow's actions: creating reports, drafts and sync, claims,
contributions, credits, depot actions, uploads, jobs and volunteer slots — every endpoint × every
role × own / other organisation.

The world is the field matrix's (each side: an investigator's submitted investigation, a team
leader's collection request, an open job; the investigator and the leader of the "own" side are
the investigator and cleaner callers) plus, per side, the leader's team with a cleaning draft
holding the leader's contribution, a submitted cleaning report, a verified collector (the own
one is the collector caller) and a volunteer slot. Slot cells add the approved volunteer of the
own district as a caller. Every cell whose request consumes its target (a delete, a claim, an
accept, a completion) builds the target for that cell.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from beachsaver.core.enums import CleanerType, Role
from beachsaver.core.time import seoul_today
from beachsaver.depots.models import CollectionDepot
from beachsaver.teams.models import Team
from beachsaver.users.models import User
from tests.factories import auth, make_image, make_user, token_for
from tests.permissions.matrix import Cells, Expected, assert_cells, same, small_jpeg
from tests.permissions.test_field_matrix import (
    Side,
    World,
    _ago,
    _data,
    build,
    create_job,
    submit_investigation,
)

Row = dict[str, tuple[Expected, Expected]]


@dataclass
class Extra:
    """What a side adds to the field matrix's world."""

    team_id: int
    collector: Any
    collector_token: str
    cleaning_draft_id: int
    contribution_id: int
    cleaning_id: int


@dataclass
class Flow:
    base: World
    extra: dict[str, Extra]
    tokens: dict[str, str]
    standing_slots: dict[str, int] = field(default_factory=dict)

    @property
    def client(self) -> TestClient:
        return self.base.client

    def side(self, name: str) -> Side:
        return self.base.side(name)

    def call(self, token: str, method: str, path: str, status: int, **kwargs: Any) -> Any:
        return _data(self.client.request(method, path, headers=auth(token), **kwargs), status)


def area(**amount: float) -> dict[str, Any]:
    return {
        "area_name": "A구역",
        "start_latitude": 35.1581,
        "start_longitude": 129.1590,
        "end_latitude": 35.1590,
        "end_longitude": 129.1620,
        "main_trash_type": "PLASTIC",
        **amount,
    }


def investigation_body(side: Side) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "type": "INVESTIGATION",
        "beach_id": side.beach.id,
        "investigation_at": _ago(),
        "confirm_duplicate": True,
        "areas": [area(trash_amount_est_l=50)],
    }


def cleaning_body(side: Side, team_id: int | None, *, draft: bool) -> dict[str, Any]:
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "CLEANING",
        "beach_id": side.beach.id,
        "cleaning_at": _ago(),
        "confirm_duplicate": True,
        "is_draft": draft,
        "areas": [area(trash_amount_kg=12.5)],
    }
    return body | ({"team_id": team_id} if team_id else {})


def _extend(base: World, db: Any) -> Flow:
    extra = {}
    for name in ("own", "other"):
        side = base.side(name)
        team_id = db.execute(select(Team.id).where(Team.leader_id == side.leader.id)).scalar_one()
        if name == "own":
            collector = db.execute(
                select(User).where(User.org_id == side.district.id, User.role == Role.COLLECTOR)
            ).scalar_one()
            collector_token = base.tokens["COLLECTOR"]
        else:
            collector = make_user(db, Role.COLLECTOR, side.district, verified=True)
            collector_token = token_for(db, collector)
        db.commit()  # end the read (SQLite would keep the API's writes waiting)
        leader = side.tokens["leader"]
        client = base.client
        draft = _data(
            client.post("/api/reports", json=cleaning_body(side, team_id, draft=True), headers=auth(leader)), 201
        )
        contribution = _data(
            client.post(
                f"/api/reports/{draft['id']}/contributions", json={"note": "쓰레기 3포대"}, headers=auth(leader)
            ),
            201,
        )
        cleaning = _data(
            client.post("/api/reports", json=cleaning_body(side, team_id, draft=False), headers=auth(leader)), 201
        )
        extra[name] = Extra(
            team_id=team_id,
            collector=collector,
            collector_token=collector_token,
            cleaning_draft_id=draft["id"],
            contribution_id=contribution["id"],
            cleaning_id=cleaning["id"],
        )
    volunteer = make_user(db, Role.CLEANER, base.own.district, cleaner_type=CleanerType.VOLUNTEER)
    tokens = {**base.tokens, "VOLUNTEER": token_for(db, volunteer)}
    db.commit()
    return Flow(base=base, extra=extra, tokens=tokens)


# ---- targets made for one cell ----


def investigation_draft(f: Flow, s: str) -> int:
    side = f.side(s)
    return int(
        f.call(side.tokens["investigator"], "POST", "/api/reports/draft", 201, json=investigation_body(side))["id"]
    )


def claimed_investigation(f: Flow, s: str) -> int:
    report_id = submit_investigation(f.client, f.base.db, f.side(s))
    f.call(f.side(s).tokens["leader"], "POST", f"/api/reports/{report_id}/claim", 200)
    return report_id


def new_contribution(f: Flow, s: str) -> str:
    draft_id = f.extra[s].cleaning_draft_id
    made = f.call(f.side(s).tokens["leader"], "POST", f"/api/reports/{draft_id}/contributions", 201, json={"kg": 1})
    return f"/api/reports/{draft_id}/contributions/{made['id']}"


def depot(f: Flow, s: str, status: str = "WAITING", *, held: bool = False) -> int:
    """A depot added to the side's live collection request; ``held``: by the side's collector."""
    row = CollectionDepot(
        report_id=f.side(s).request_id,
        org_id=f.side(s).district.id,
        name="집하장",
        latitude=Decimal("35.1600000"),
        longitude=Decimal("129.1610000"),
        status=status,
        collector_id=f.extra[s].collector.id if held else None,
    )
    f.base.db.add(row)
    f.base.db.commit()
    return int(row.id)


def completion(f: Flow) -> dict[str, Any]:
    """A completion body with a photo the collector caller uploaded."""
    photo = make_image(f.base.db, f.extra["own"].collector, "COLLECTION_COMPLETED")
    f.base.db.commit()
    return {"collected_amount": 30.5, "photo": photo.id}


def assigned_job(f: Flow, s: str, job_type: str) -> int:
    """A job of the side's district given to the side's investigator or collector."""
    side = f.side(s)
    if job_type == "INVESTIGATION":
        job_id, assignee = create_job(f.client, side), side.investigator.id
    else:
        body = {"type": job_type, "beach_id": side.beach.id, "date": seoul_today().isoformat(), "headcount": 1}
        job_id = int(f.call(side.tokens["admin"], "POST", "/api/jobs", 201, json=body)["id"])
        assignee = f.extra[s].collector.id
    f.call(side.tokens["admin"], "PATCH", f"/api/jobs/{job_id}", 200, json={"assignee_ids": [assignee]})
    return job_id


def slot(f: Flow, s: str, *, applied: bool = False) -> int:
    """A CLEANING job of the side's team with volunteer places; ``applied``: the own volunteer holds one."""
    side = f.side(s)
    body = {
        "type": "CLEANING",
        "beach_id": side.beach.id,
        "date": seoul_today().isoformat(),
        "headcount": 2,
        "team_id": f.extra[s].team_id,
    }
    job_id = int(f.call(side.tokens["admin"], "POST", "/api/jobs", 201, json=body)["id"])
    if applied:
        f.call(f.tokens["VOLUNTEER"], "POST", f"/api/slots/{job_id}/application", 201)
    return job_id


# ---- expected rows ----

ADMINS_403: Row = same(403, ["PLATFORM", "CITY", "DISTRICT"])
# An object the admin sees (403: not its to change that way) or, outside its scope, does not (404).
ADMINS_SEE_403: Row = {"PLATFORM": (403, 403), "CITY": (403, 404), "DISTRICT": (403, 404)}
SCOPED: Row = {"PLATFORM": (200, 200), "CITY": (200, 404), "DISTRICT": (200, 404)}
CITIZEN_403: Row = {"CITIZEN": (403, 403)}
WORKERS_403: Row = same(403, ["INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN"])
# Only the own team's leader among the workers sees the team's cleaning reports.
TEAM_ONLY: Row = {"INVESTIGATOR": (404, 404), "COLLECTOR": (404, 404), **CITIZEN_403}
DEPOT_ACTION: Row = {
    **ADMINS_SEE_403,
    "INVESTIGATOR": (404, 404),
    "CLEANER": (403, 404),  # the own leader wrote the request: it sees the depot
    "COLLECTOR": (200, 404),
    **CITIZEN_403,
}
SLOT_CALLERS_403: Row = {**ADMINS_403, **WORKERS_403}


def _sync(f: Flow, s: str) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/api/reports/sync", {"json": {"reports": [investigation_body(f.side(s))]}}


CELLS: Cells = {
    # ---- reports: who may author what (07 §6) ----
    "POST /api/reports (investigation)": (
        lambda w, s: ("POST", "/api/reports", {"json": investigation_body(w.side(s))}),
        {
            **ADMINS_403,
            "INVESTIGATOR": (201, 404),
            **same(403, ["CLEANER", "COLLECTOR", "CITIZEN"]),
            "VOLUNTEER": (403, 403),
        },
    ),
    "POST /api/reports/draft (cleaning, alone)": (
        lambda w, s: ("POST", "/api/reports/draft", {"json": cleaning_body(w.side(s), None, draft=True)}),
        {
            **ADMINS_403,
            "CLEANER": (201, 404),
            **same(403, ["INVESTIGATOR", "COLLECTOR", "CITIZEN"]),
            "VOLUNTEER": (403, 403),  # a volunteer never authors a solo report
        },
    ),
    # 200 for any signed-in caller; each item answers for itself.
    "POST /api/reports/sync (investigation)": (
        lambda w, s: _sync(w, s),
        {
            **same((200, "ERROR"), ["PLATFORM", "CITY", "DISTRICT", "CLEANER", "COLLECTOR"]),
            "INVESTIGATOR": ((200, "CREATED"), (200, "ERROR")),
            **CITIZEN_403,
        },
    ),
    "DELETE /api/reports/{id} (investigation draft)": (
        lambda w, s: ("DELETE", f"/api/reports/{investigation_draft(w, s)}", {}),
        {
            **ADMINS_SEE_403,
            "INVESTIGATOR": (200, 404),
            "CLEANER": (404, 404),
            "COLLECTOR": (404, 404),
            **CITIZEN_403,
        },
    ),
    "POST /api/reports/{id}/claim": (
        lambda w, s: ("POST", f"/api/reports/{submit_investigation(w.client, w.base.db, w.side(s))}/claim", {}),
        {
            **ADMINS_SEE_403,
            "INVESTIGATOR": (403, 404),  # its own report: seen, not claimable by it
            "CLEANER": (200, 404),
            "COLLECTOR": (404, 404),
            **CITIZEN_403,
        },
    ),
    "DELETE /api/reports/{id}/claim": (
        lambda w, s: ("DELETE", f"/api/reports/{claimed_investigation(w, s)}/claim", {}),
        {
            **SCOPED,
            "INVESTIGATOR": (403, 404),
            "CLEANER": (200, 404),
            "COLLECTOR": (404, 404),
            **CITIZEN_403,
        },
    ),
    "POST /api/reports/{id}/contributions": (
        lambda w, s: (
            "POST",
            f"/api/reports/{w.extra[s].cleaning_draft_id}/contributions",
            {"json": {"note": "추가 수거", "bags": 2}},
        ),
        {**ADMINS_SEE_403, **TEAM_ONLY, "CLEANER": (201, 404)},
    ),
    "PATCH /api/reports/{id}/contributions/{id}": (
        lambda w, s: (
            "PATCH",
            f"/api/reports/{w.extra[s].cleaning_draft_id}/contributions/{w.extra[s].contribution_id}",
            {"json": {"hours": 2}},
        ),
        {**ADMINS_SEE_403, **TEAM_ONLY, "CLEANER": (200, 404)},
    ),
    "DELETE /api/reports/{id}/contributions/{id}": (
        lambda w, s: ("DELETE", new_contribution(w, s), {}),
        {**ADMINS_SEE_403, **TEAM_ONLY, "CLEANER": (200, 404)},
    ),
    "POST /api/reports/{id}/objections": (
        lambda w, s: ("POST", f"/api/reports/{w.extra[s].cleaning_id}/objections", {"json": {"reason": "시간 누락"}}),
        {**ADMINS_SEE_403, **TEAM_ONLY, "CLEANER": (201, 404)},
    ),
    "PATCH /api/reports/{id}/credits": (
        lambda w, s: (
            "PATCH",
            f"/api/reports/{w.extra[s].cleaning_id}/credits",
            {"json": {"weights": {str(w.side(s).leader.id): 2}}},
        ),
        {**SCOPED, **TEAM_ONLY, "CLEANER": (403, 404)},
    ),
    # ---- depots ----
    "POST /api/collection-depots": (
        lambda w, s: (
            "POST",
            "/api/collection-depots",
            {
                "json": {
                    "report_id": w.side(s).request_id,
                    "name": "추가 집하장",
                    "latitude": 35.161,
                    "longitude": 129.162,
                    "photo": _depot_photo(w, s),
                }
            },
        ),
        {
            **ADMINS_SEE_403,
            "INVESTIGATOR": (404, 404),
            "CLEANER": (201, 404),
            "COLLECTOR": (403, 404),  # reads the request, is not its author
            **CITIZEN_403,
        },
    ),
    "DELETE /api/collection-depots/{id}/claim": (
        lambda w, s: ("DELETE", f"/api/collection-depots/{depot(w, s, 'IN_ROUTE', held=True)}/claim", {}),
        DEPOT_ACTION,
    ),
    "PATCH /api/collection-depots/{id}/complete": (
        lambda w, s: (
            "PATCH",
            f"/api/collection-depots/{depot(w, s)}/complete",
            {"json": completion(w)},
        ),
        DEPOT_ACTION,
    ),
    "POST /api/collection-depots/{id}/issue": (
        lambda w, s: (
            "POST",
            f"/api/collection-depots/{depot(w, s)}/issue",
            {"json": {"note": "차량 진입 불가"}},
        ),
        DEPOT_ACTION,
    ),
    "POST /api/collection-depots/{id}/resolve": (
        lambda w, s: ("POST", f"/api/collection-depots/{depot(w, s, 'ISSUE', held=True)}/resolve", {}),
        {
            **SCOPED,
            "INVESTIGATOR": (404, 404),
            "CLEANER": (403, 404),
            "COLLECTOR": (403, 404),  # the collector who reported the issue sees it
            **CITIZEN_403,
        },
    ),
    # ---- images ----
    "POST /api/images": (
        lambda w, s: (
            "POST",
            "/api/images",
            {"files": {"file": ("a.jpg", small_jpeg(), "image/jpeg")}, "data": {"type": "INVESTIGATION_MAIN"}},
        ),
        {**same(201, ["PLATFORM", "CITY", "DISTRICT", "INVESTIGATOR", "CLEANER", "COLLECTOR"]), **CITIZEN_403},
    ),
    # ---- jobs ----
    "POST /api/jobs": (
        lambda w, s: (
            "POST",
            "/api/jobs",
            {
                "json": {
                    "type": "INVESTIGATION",
                    "beach_id": w.side(s).beach.id,
                    "date": seoul_today().isoformat(),
                    "headcount": 1,
                }
            },
        ),
        {"PLATFORM": (201, 201), "CITY": (201, 404), "DISTRICT": (201, 404), **WORKERS_403},
    ),
    "POST /api/jobs/{id}/accept (investigation job)": (
        lambda w, s: ("POST", f"/api/jobs/{assigned_job(w, s, 'INVESTIGATION')}/accept", {}),
        {
            **ADMINS_403,
            "INVESTIGATOR": (200, 404),
            "CLEANER": (404, 404),
            "COLLECTOR": (404, 404),
            **CITIZEN_403,
        },
    ),
    "POST /api/jobs/{id}/decline (collection job)": (
        lambda w, s: (
            "POST",
            f"/api/jobs/{assigned_job(w, s, 'COLLECTION')}/decline",
            {"json": {"reason": "차량 고장"}},
        ),
        {
            **ADMINS_403,
            "INVESTIGATOR": (404, 404),
            "CLEANER": (404, 404),
            "COLLECTOR": (200, 404),
            **CITIZEN_403,
        },
    ),
    # ---- volunteer slots: approved volunteers, and admins read ----
    "GET /api/slots": (
        lambda w, s: ("GET", "/api/slots", {}),
        {**same(200, ["PLATFORM", "CITY", "DISTRICT", "VOLUNTEER"]), **WORKERS_403},
    ),
    "GET /api/slots/{id}": (
        lambda w, s: ("GET", f"/api/slots/{_standing_slot(w, s)}", {}),
        {**SCOPED, **WORKERS_403, "VOLUNTEER": (200, 404)},
    ),
    "POST /api/slots/{id}/application": (
        lambda w, s: ("POST", f"/api/slots/{slot(w, s)}/application", {}),
        {**SLOT_CALLERS_403, "VOLUNTEER": (201, 404)},
    ),
    "DELETE /api/slots/{id}/application": (
        lambda w, s: ("DELETE", f"/api/slots/{slot(w, s, applied=s == 'own')}/application", {}),
        {**SLOT_CALLERS_403, "VOLUNTEER": (200, 404)},
    ),
}


def _depot_photo(f: Flow, s: str) -> int:
    photo = make_image(f.base.db, f.side(s).leader, "COLLECTION_DEPOT")
    f.base.db.commit()
    return int(photo.id)


def _standing_slot(f: Flow, s: str) -> int:
    """One slot per side for the read cells (made on first use)."""
    if s not in f.standing_slots:
        f.standing_slots[s] = slot(f, s)
    return f.standing_slots[s]


def test_workflow_permission_matrix(client: TestClient, db: Any) -> None:
    flow = _extend(build(client, db), db)
    assert_cells(client, flow, flow.tokens, CELLS)
