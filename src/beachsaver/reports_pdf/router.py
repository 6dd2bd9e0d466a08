"""`/api/statistics/report.pdf` and `/api/statistics/report-schedules` (07 §10): full paths."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from beachsaver.core.deps import AdminUser, DbSession
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.http import ApiRoute, request_language
from beachsaver.core.paging import PageParams, page_params, paginate, parse_sort
from beachsaver.reports_pdf import service
from beachsaver.reports_pdf.models import ReportSchedule
from beachsaver.reports_pdf.schemas import ReportScheduleCreate, ReportScheduleOut

router = APIRouter(tags=["statistics"], route_class=ApiRoute)

ScheduleId = Annotated[int, Path(gt=0, le=2**53)]

PDF_DESCRIPTION = """A PDF summary of an organisation's subtree for a period (dates in Asia/Seoul,
both included; default: from the 1st of the month of `to`, `to` today): reports by type, litres
estimated, kg cleaned and collected, depots collected and waiting, and the top beaches by kg
cleaned with a bar chart. `org_id` defaults to the caller's organisation; outside the caller's
scope → 404. Korean by default, English with `Accept-Language: en`."""


@router.get(
    "/api/statistics/report.pdf",
    response_class=Response,
    responses={
        200: {
            "description": "the PDF",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    summary="PDF summary report",
    description=PDF_DESCRIPTION,
)
def report_pdf(
    request: Request,
    db: DbSession,
    principal: AdminUser,
    start: date | None = Query(None, alias="from", description="first day, YYYY-MM-DD"),
    end: date | None = Query(None, alias="to", description="last day, YYYY-MM-DD"),
    org_id: int | None = Query(None, gt=0, le=2**53),
) -> Response:
    org = service.org_in_scope(db, principal, org_id)
    first, last = service.resolve_period(start, end)
    document = service.report_pdf(db, org, first, last, request_language(request))
    return Response(
        content=document,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{service.pdf_filename(org, first, last)}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/api/statistics/report-schedules",
    response_model=ListEnvelope[ReportScheduleOut],
    summary="Scheduled PDF reports in my scope",
)
def list_schedules(db: DbSession, principal: AdminUser, paging: PageParams = Depends(page_params)) -> dict[str, Any]:
    sort = {
        "created_at": ReportSchedule.created_at,
        "id": ReportSchedule.id,
        "next_run_at": ReportSchedule.next_run_at,
    }
    order = parse_sort(paging, sort, [ReportSchedule.created_at.desc(), ReportSchedule.id.desc()])
    rows, meta = paginate(db, service.schedules_query(db, principal), paging, order)
    return ok([service.present_schedule(s) for s in rows], meta)


@router.post(
    "/api/statistics/report-schedules",
    status_code=201,
    response_model=Envelope[ReportScheduleOut],
    summary="Schedule a PDF report by e-mail",
)
def create_schedule(body: ReportScheduleCreate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    return ok(service.present_schedule(service.create_schedule(db, principal, body)))


@router.delete(
    "/api/statistics/report-schedules/{schedule_id}",
    response_model=Envelope[None],
    summary="Delete a scheduled report",
)
def delete_schedule(schedule_id: ScheduleId, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    service.delete_schedule(db, principal, service.get_schedule(db, principal, schedule_id))
    return ok(None)
