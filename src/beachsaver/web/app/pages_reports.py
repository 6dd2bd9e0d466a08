"""The worker app's report pages (WRK-04/05, G-21..G-26): the three report forms, my reports and
one report's detail with the team members' contributions.

The forms are laid out here and driven by ``static/js/app-reports.js``: every form keeps its
draft on the device (IndexedDB, photos as Blobs) under the report's ``client_id``; [Save draft]
also stores it on the server when online (a team's cleaning draft must be there for the members'
contributions), [Submit] sends it through ``POST /api/reports`` or, offline, leaves it in the
outbox (``static/js/outbox.js``) that ``POST /api/reports/sync`` empties when the app is back
online. Every rule — who may author, edit or contribute, what a submission needs, duplicates —
stays in ``beachsaver.reports.service``; this module only reads and lays out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import false, or_, select

from beachsaver.beaches import service as beach_service
from beachsaver.beaches.models import Beach
from beachsaver.core import errors
from beachsaver.core.deps import DbSession, Principal
from beachsaver.core.enums import CleanerType, DisasterType, LitterType, ReportStatus, ReportType, Role, Weather
from beachsaver.core.paging import paginate
from beachsaver.core.time import SEOUL, to_utc
from beachsaver.images import service as image_service
from beachsaver.images.models import Image
from beachsaver.reports import service as report_service
from beachsaver.reports.models import Report, ReportCoWorker
from beachsaver.reports.schemas import ImageOut, ReportOut
from beachsaver.teams import service as team_service
from beachsaver.teams.models import Team
from beachsaver.web import common, i18n, listing
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)

PAGE_SIZE = 20
REPORT_ROLES = (Role.INVESTIGATOR, Role.CLEANER)
KINDS: dict[str, ReportType] = {
    "investigation": ReportType.INVESTIGATION,
    "cleaning": ReportType.CLEANING,
    "collection-request": ReportType.COLLECTION_REQUEST,
}
KIND_OF = {value: key for key, value in KINDS.items()}
NEW_TITLE = {kind: "fieldreports.new_" + kind.replace("-", "_") for kind in KINDS}
EDIT_TITLE = {kind: "fieldreports.edit_" + kind.replace("-", "_") for kind in KINDS}
#: Who writes which type (the API refuses anyone else with 403; the page follows it).
ROLE_OF = {
    ReportType.INVESTIGATION: Role.INVESTIGATOR,
    ReportType.CLEANING: Role.CLEANER,
    ReportType.COLLECTION_REQUEST: Role.CLEANER,
}
LINKABLE = (ReportStatus.SUBMITTED, ReportStatus.APPROVED)
#: Texts the page's script shows (toasts, states, dialogs): sent to it as one JSON object.
JS_TEXT_PREFIX = "fieldreports.js."


def _worker(request: Request, db: DbSession) -> Principal:
    principal = common.web_principal(request, db)
    common.require_page_roles(principal, *REPORT_ROLES)
    return principal


def seoul_text(value: Any) -> str:
    """An instant (a datetime, or the API's ``...Z`` text) as Seoul wall time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return to_utc(value).astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")


def js_text(request: Request) -> dict[str, str]:
    lang = common.language(request)
    return {
        key[len(JS_TEXT_PREFIX) :]: value
        for key, value in i18n.catalogue(lang).items()
        if key.startswith(JS_TEXT_PREFIX)
    }


def _beaches(db: DbSession, principal: Principal) -> list[dict[str, Any]]:
    stmt = beach_service.list_query(db, principal).order_by(Beach.beach_name, Beach.id)
    return [
        {"id": b.id, "name": b.beach_name, "lat": float(b.latitude), "lng": float(b.longitude)}
        for b in db.execute(stmt).scalars()
    ]


def _team_names(db: DbSession, team_ids: list[int]) -> dict[int, str]:
    if not team_ids:
        return {}
    return {int(i): str(n) for i, n in db.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all()}


def _nicknames(db: DbSession, team_id: int | None) -> dict[int, str]:
    if team_id is None:
        return {}
    rows = list(db.execute(team_service.members_query(team_id)).scalars())
    return {m["user_id"]: m["nickname"] for m in team_service.present_members(db, rows)}


def _mine(db: DbSession, principal: Principal) -> Any:
    """My reports: written by me, by one of my teams, or naming me as a co-worker. (Visibility
    itself is ``report_service.visible_clause``; this only leaves out the district's other
    investigations that a cleaner may read.)"""
    teams = report_service.active_team_ids(db, principal.id)
    coworker = Report.id.in_(select(ReportCoWorker.report_id).where(ReportCoWorker.user_id == principal.id))
    return or_(Report.user_id == principal.id, Report.team_id.in_(teams) if teams else false(), coworker)


def may_edit(db: DbSession, principal: Principal, report: Report) -> bool:
    """Whether the service would let this caller edit or submit the report (07 §6)."""
    if report.status not in (ReportStatus.DRAFT, ReportStatus.REJECTED):
        return False
    try:
        report_service.ensure_may_edit(db, principal, report)
    except errors.Forbidden:
        return False
    return True


# ---- my reports ---------------------------------------------------------------------------------


@router.get("/reports")
def my_reports(
    request: Request,
    db: DbSession,
    type: str = Query(""),
    status: str = Query(""),
    page: str = Query(""),
    size: str = Query(""),
) -> Response:
    principal = _worker(request, db)
    chosen_type = listing.choice(ReportType, type, "type")
    chosen_status = listing.choice(ReportStatus, status, "status")
    params = listing.page_params(page, size, PAGE_SIZE)
    stmt = select(Report).where(report_service.visible_clause(db, principal), _mine(db, principal))
    if chosen_type is not None:
        stmt = stmt.where(Report.type == chosen_type)
    if chosen_status is not None:
        stmt = stmt.where(Report.status == chosen_status)
    rows, meta = paginate(db, stmt, params, [Report.created_at.desc(), Report.id.desc()])
    beaches = {b["id"]: b["name"] for b in _beaches(db, principal)}
    teams = _team_names(db, sorted({r.team_id for r in rows if r.team_id is not None}))
    reports = [
        {
            "id": r.id,
            "client_id": r.client_id,
            "type": r.type,
            "status": r.status,
            "beach_name": beaches.get(r.beach_id or 0, ""),
            "team_name": teams.get(r.team_id or 0),
            "reject_reason": r.reject_reason,
            "created_at": seoul_text(r.created_at),
            "submitted_at": seoul_text(r.submitted_at),
        }
        for r in rows
    ]
    return render(
        request,
        "app/reports/list.html",
        nav="reports",
        reports=reports,
        pager=listing.pager(request, meta),
        chosen_type=chosen_type.value if chosen_type else "",
        chosen_status=chosen_status.value if chosen_status else "",
        report_types=[t.value for t in ReportType],
        report_statuses=[s.value for s in ReportStatus],
        new_kinds=_new_kinds(principal),
        new_title=NEW_TITLE,
        js_text=js_text(request),
    )


def _new_kinds(principal: Principal) -> list[str]:
    return [KIND_OF[t] for t, role in ROLE_OF.items() if role == principal.role]


# ---- detail -------------------------------------------------------------------------------------


@router.get("/reports/{report_id}")
def report_detail(request: Request, db: DbSession, report_id: str, sent: str = Query("")) -> Response:
    principal = _worker(request, db)
    report = report_service.get_visible(db, principal, listing.path_id(report_id))
    data = _wire(db, report)
    nicknames = _nicknames(db, report.team_id)
    beach = db.get(Beach, report.beach_id) if report.beach_id else None
    members = report_service.active_member_ids(db, report.team_id) if report.team_id else []
    may_contribute = (
        report.type == ReportType.CLEANING
        and report.team_id is not None
        and report.status == ReportStatus.DRAFT
        and principal.id in members
    )
    may_request_collection = (
        report.type == ReportType.CLEANING
        and report.status in LINKABLE
        and principal.role == Role.CLEANER
        and (report.user_id == principal.id or report.team_id in report_service.active_team_ids(db, principal.id))
    )
    return render(
        request,
        "app/reports/detail.html",
        nav="reports",
        report=data,
        kind=KIND_OF[ReportType(report.type)],
        beach_name=beach.beach_name if beach else "",
        team_name=_team_names(db, [report.team_id]).get(report.team_id) if report.team_id else None,
        nicknames=nicknames,
        may_edit=may_edit(db, principal, report),
        may_contribute=may_contribute,
        may_request_collection=may_request_collection,
        my_id=principal.id,
        sent=sent == "1",
        when=seoul_text,
        js_text=js_text(request),
    )


def _wire(db: DbSession, report: Report) -> dict[str, Any]:
    """The report exactly as ``GET /api/reports/{id}`` answers it."""
    data = ReportOut.model_validate(report_service.present(db, report)).model_dump(mode="json")
    for depot in data["collection_depots"]:
        depot["images"] = [
            ImageOut.model_validate(image_service.present(db, image)).model_dump(mode="json")
            for image in (db.get(Image, image_id) for image_id in depot["image_ids"])
            if image is not None
        ]
    return data


# ---- forms --------------------------------------------------------------------------------------


@router.get("/reports/new/{kind}")
def new_report(
    request: Request,
    db: DbSession,
    kind: str,
    cleaning_report_id: str = Query(""),
    investigation_report_id: str = Query(""),
    job_id: str = Query(""),
) -> Response:
    report_type = KINDS.get(kind)
    if report_type is None:
        raise errors.NotFound()
    principal = _worker(request, db)
    if principal.role != ROLE_OF[report_type]:
        raise errors.Forbidden()
    preset = {
        "cleaning_report_id": listing.whole_number(cleaning_report_id, "cleaning_report_id", 0) or None,
        "investigation_report_id": listing.whole_number(investigation_report_id, "investigation_report_id", 0) or None,
        "job_id": listing.whole_number(job_id, "job_id", 0) or None,
    }
    return _form(request, db, principal, report_type, None, preset)


@router.get("/reports/{report_id}/edit")
def edit_report(request: Request, db: DbSession, report_id: str) -> Response:
    principal = _worker(request, db)
    report = report_service.get_visible(db, principal, listing.path_id(report_id))
    if report.status not in (ReportStatus.DRAFT, ReportStatus.REJECTED):
        return RedirectResponse(f"/app/reports/{report.id}", status_code=303)
    if not may_edit(db, principal, report):
        raise errors.Forbidden()
    return _form(request, db, principal, ReportType(report.type), report, {})


def _form(
    request: Request,
    db: DbSession,
    principal: Principal,
    report_type: ReportType,
    report: Report | None,
    preset: dict[str, Any],
) -> Response:
    me = principal.id
    led = report_service.led_team_ids(db, me)
    member_of = report_service.active_team_ids(db, me)
    team_names = _team_names(db, sorted(set(led) | set(member_of)))
    volunteer = principal.user.cleaner_type == CleanerType.VOLUNTEER
    wire = _wire(db, report) if report is not None else None
    may_author = report is not None or report_type == ReportType.INVESTIGATION or bool(led) or not volunteer
    visible = report_service.visible_clause(db, principal)
    investigations: list[dict[str, Any]] = []
    cleanings: list[dict[str, Any]] = []
    team_drafts: list[dict[str, Any]] = []
    beaches = _beaches(db, principal)
    beach_names = {b["id"]: b["name"] for b in beaches}
    if report_type == ReportType.CLEANING:
        rows = db.execute(
            select(Report)
            .where(visible, Report.type == ReportType.INVESTIGATION, Report.status.in_(LINKABLE))
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(50)
        ).scalars()
        investigations = [
            {
                "id": r.id,
                "label": f"#{r.id} {beach_names.get(r.beach_id or 0, '')} {seoul_text(r.investigation_at)}".strip(),
                "claimed_by_other": r.claimed_by_team_id is not None and r.claimed_by_team_id not in led,
            }
            for r in rows
        ]
        if member_of:
            drafts = db.execute(
                select(Report)
                .where(
                    visible,
                    Report.type == ReportType.CLEANING,
                    Report.status == ReportStatus.DRAFT,
                    Report.team_id.in_(member_of),
                )
                .order_by(Report.created_at.desc())
                .limit(20)
            ).scalars()
            team_drafts = [
                {
                    "id": r.id,
                    "team_name": team_names.get(r.team_id or 0, ""),
                    "beach": beach_names.get(r.beach_id or 0, ""),
                }
                for r in drafts
                if r.team_id not in led
            ]
    if report_type == ReportType.COLLECTION_REQUEST:
        rows = db.execute(
            select(Report)
            .where(
                visible, _mine(db, principal), Report.type == ReportType.CLEANING, Report.status != ReportStatus.DRAFT
            )
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(50)
        ).scalars()
        cleanings = [
            {"id": r.id, "label": f"#{r.id} {beach_names.get(r.beach_id or 0, '')} {seoul_text(r.cleaning_at)}".strip()}
            for r in rows
        ]
    team_id = report.team_id if report is not None else None
    context = {
        "type": report_type.value,
        "kind": KIND_OF[report_type],
        "user_id": me,
        "report": wire,
        "beaches": beaches,
        "preset": preset,
        "tile_url": listing.tile_url(request),
        "led_team_ids": led,
    }
    return render(
        request,
        "app/reports/form.html",
        nav="reports",
        kind=KIND_OF[report_type],
        title_key=(EDIT_TITLE if report is not None else NEW_TITLE)[KIND_OF[report_type]],
        report_type=report_type.value,
        report=wire,
        beaches=beaches,
        led_teams=[{"id": i, "name": team_names.get(i, "")} for i in led],
        team_id=team_id,
        team_name=(team_names.get(team_id) or _team_names(db, [team_id]).get(team_id)) if team_id else None,
        solo_allowed=not volunteer,
        may_author=may_author,
        team_drafts=team_drafts,
        investigations=investigations,
        cleanings=cleanings,
        preset=preset,
        nicknames=_nicknames(db, team_id),
        litter_types=[t.value for t in LitterType],
        weathers=[w.value for w in Weather],
        disasters=[d.value for d in DisasterType],
        context=context,
        js_text=js_text(request),
        when=seoul_text,
    )
