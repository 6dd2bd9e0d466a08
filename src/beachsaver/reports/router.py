from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import CurrentUser, DbSession
from beachsaver.core.enums import ReportStatus, ReportType
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.fields import MAX_ID, IdPath
from beachsaver.core.http import ApiRoute
from beachsaver.core.i18n import pick_language
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.core.time import to_utc
from beachsaver.reports import service
from beachsaver.reports.models import Report
from beachsaver.reports.schemas import (
    ClaimIn,
    ContributionIn,
    ContributionOut,
    CreditsIn,
    ObjectionIn,
    ReportCreate,
    ReportOut,
    ReportPatch,
    SyncBody,
    SyncResult,
)
from beachsaver.reports.sync import sync_batch

router = APIRouter(prefix="/api/reports", tags=["reports"], route_class=ApiRoute)

SORT = {
    "created_at": Report.created_at,
    "id": Report.id,
    "submitted_at": Report.submitted_at,
    "updated_at": Report.updated_at,
    "status": Report.status,
    "type": Report.type,
}
FILTER = {
    "type": lambda v: Report.type == ReportType(v),
    "status": lambda v: Report.status == ReportStatus(v),
    "beach_id": lambda v: Report.beach_id == int(v),
    "team_id": lambda v: Report.team_id == int(v),
    "user_id": lambda v: Report.user_id == int(v),
    "org_id": lambda v: Report.org_id == int(v),
}


@router.get("", response_model=ListEnvelope[ReportOut], summary="Reports I may see")
def list_reports(
    db: DbSession,
    principal: CurrentUser,
    paging: PageParams = Depends(page_params),
    type: ReportType | None = Query(None),
    status: ReportStatus | None = Query(None),
    beach_id: int | None = Query(None, gt=0, le=MAX_ID),
    team_id: int | None = Query(None, gt=0, le=MAX_ID),
    user_id: int | None = Query(None, gt=0, le=MAX_ID),
    org_id: int | None = Query(None, gt=0, le=MAX_ID),
    from_: AwareDatetime | None = Query(None, alias="from"),
    to: AwareDatetime | None = Query(None),
) -> dict[str, Any]:
    stmt = select(Report).where(service.visible_clause(db, principal)).options(service.AREAS_BY_PRESENTATION)
    for column, value in (
        (Report.type, type),
        (Report.status, status),
        (Report.beach_id, beach_id),
        (Report.team_id, team_id),
        (Report.user_id, user_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if org_id is not None:
        if principal.is_admin and not principal.can_see_org(db, org_id):
            raise errors.NotFound()
        from beachsaver.orgs import service as org_service

        org = org_service.get(db, org_id)
        if org is None:
            raise errors.NotFound()
        stmt = stmt.where(Report.org_id.in_(org_service.subtree_ids(db, org)))
    if from_ is not None:
        stmt = stmt.where(Report.created_at >= to_utc(from_))
    if to is not None:
        stmt = stmt.where(Report.created_at < to_utc(to))
    stmt = stmt.where(*parse_filter(paging, FILTER))
    rows, meta = paginate(db, stmt, paging, parse_sort(paging, SORT, [Report.created_at.desc(), Report.id.desc()]))
    return ok(service.present_many(db, rows), meta)


def _create(body: ReportCreate, db: DbSession, principal: CurrentUser) -> Any:
    outcome = service.create(db, principal, body)
    data = service.present(db, outcome.report)
    if outcome.status == "CREATED":
        return ok(data)
    return JSONResponse(status_code=200, content=_encode(data))


def _encode(data: dict[str, Any]) -> dict[str, Any]:
    return Envelope[ReportOut](success=True, data=ReportOut.model_validate(data)).model_dump(mode="json")


CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[ReportOut], "description": "a replay of a known client_id: the stored report"},
}


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ReportOut],
    responses=CREATE_RESPONSES,
    summary="Create a report (submitted unless is_draft)",
)
def create_report(body: ReportCreate, db: DbSession, principal: CurrentUser) -> Any:
    return _create(body, db, principal)


@router.post(
    "/draft",
    status_code=201,
    response_model=Envelope[ReportOut],
    responses=CREATE_RESPONSES,
    summary="Create a draft report",
)
def create_draft(body: ReportCreate, db: DbSession, principal: CurrentUser) -> Any:
    body.is_draft = True
    return _create(body, db, principal)


@router.post("/sync", response_model=Envelope[list[SyncResult]], summary="Send offline reports (≤ 500)")
def sync(body: SyncBody, request: Request, principal: CurrentUser, db: DbSession) -> dict[str, Any]:
    db.commit()  # the items run in transactions of their own
    lang = pick_language(request.headers.get("accept-language"))
    return ok(sync_batch(request.app.state.runtime.session_factory, principal, body.reports, lang))


@router.get("/{report_id}", response_model=Envelope[ReportOut], summary="One report with all its parts")
def get_report(report_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    return ok(service.present(db, service.get_visible(db, principal, report_id, to_present=True)))


@router.patch("/{report_id}", response_model=Envelope[ReportOut], summary="Edit a draft, or change the status")
def patch_report(report_id: IdPath, body: ReportPatch, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id, for_update=True)
    return ok(service.present(db, service.edit(db, principal, report, body)))


@router.delete("/{report_id}", response_model=Envelope[None], summary="Delete my draft (soft)")
def delete_report(report_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    service.delete_draft(db, principal, service.get_visible(db, principal, report_id))
    return ok(None)


@router.post(
    "/{report_id}/contributions",
    status_code=201,
    response_model=Envelope[ContributionOut],
    summary="Add my contribution to a team's cleaning draft",
)
def add_contribution(report_id: IdPath, body: ContributionIn, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id)
    contribution = service.add_contribution(db, principal, report, body)
    return ok(next(c for c in service.present(db, report)["contributions"] if c["id"] == contribution.id))


@router.patch(
    "/{report_id}/contributions/{contribution_id}",
    response_model=Envelope[ContributionOut],
    summary="Edit my contribution",
)
def edit_contribution(
    report_id: IdPath, contribution_id: IdPath, body: ContributionIn, db: DbSession, principal: CurrentUser
) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id)
    service.edit_contribution(db, principal, report, contribution_id, body)
    return ok(next(c for c in service.present(db, report)["contributions"] if c["id"] == contribution_id))


@router.delete(
    "/{report_id}/contributions/{contribution_id}", response_model=Envelope[None], summary="Delete my contribution"
)
def delete_contribution(
    report_id: IdPath, contribution_id: IdPath, db: DbSession, principal: CurrentUser
) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id)
    service.delete_contribution(db, principal, report, contribution_id)
    return ok(None)


@router.post("/{report_id}/claim", response_model=Envelope[ReportOut], summary="Claim an investigation for my team")
def claim(report_id: IdPath, db: DbSession, principal: CurrentUser, body: ClaimIn | None = None) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id)
    if report.type != ReportType.INVESTIGATION:
        raise errors.InvalidState()
    report = service.claim(db, principal, report, body.team_id if body else None)
    return ok(service.present(db, report))


@router.delete("/{report_id}/claim", response_model=Envelope[ReportOut], summary="Release a claim")
def release(report_id: IdPath, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id)
    return ok(service.present(db, service.release_claim(db, principal, report)))


@router.post(
    "/{report_id}/objections",
    status_code=201,
    response_model=Envelope[dict[str, Any]],
    summary="Object to the credit split",
)
def object_to_credit(report_id: IdPath, body: ObjectionIn, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id)
    objection = service.object_to_credit(db, principal, report, body.reason)
    return ok(
        {
            "id": objection.id,
            "report_id": report.id,
            "user_id": objection.user_id,
            "reason": objection.reason,
            "status": objection.status,
        }
    )


@router.patch("/{report_id}/credits", response_model=Envelope[ReportOut], summary="Adjust the credit weights")
def adjust_credits(report_id: IdPath, body: CreditsIn, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    report = service.get_visible(db, principal, report_id)
    service.adjust_credits(db, principal, report, body.weights)
    return ok(service.present(db, report))


_ = datetime
