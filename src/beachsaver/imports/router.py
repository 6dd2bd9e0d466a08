"""Account import and export (02-api §3): full paths, to be included before the users router so
that ``/api/users/import…`` and ``/api/users/export`` are matched before ``/api/users/{user_id}``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.deps import AdminUser, DbSession
from beachsaver.core.enums import CleanerType, Role, UserStatus
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.http import ApiRoute, request_language
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.core.runtime import settings_of
from beachsaver.core.time import seoul_today
from beachsaver.imports import service
from beachsaver.imports.excel import XLSX_MEDIA_TYPE
from beachsaver.imports.models import ImportJob
from beachsaver.imports.schemas import ImportJobOut
from beachsaver.users import service as user_service

router = APIRouter(tags=["users"], route_class=ApiRoute)

MB = 1024 * 1024
CHUNK = 64 * 1024
JobId = Annotated[int, Path(gt=0, le=2**53)]
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an Excel workbook",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}

IMPORT_DESCRIPTION = """Multipart form: `file` (.xlsx) and `dry_run` (true: validate only).

The first sheet's headers are exactly `role, org_code, nickname, real_name, phone, email,
cleaner_type, birth, start_date, end_date, vehicle_type, capacity_t, plate_no, operator_type,
company_name, business_no`. A file that is not an .xlsx workbook, has other headers or more than
`BEACHSAVER_IMPORT_MAX_ROWS` data rows → 400 naming `file`. Otherwise the answer is 201 with the
finished ImportJob: `VALIDATED` (clean dry run), `COMPLETED` (every new account created) or
`FAILED` (nothing written; `errors` lists every problem by spreadsheet row and column). Rows equal
to an existing account (same phone, role, organisation and nickname) count in `existing` and are
skipped, so importing the same file again creates nothing."""


def _xlsx(data: bytes, filename: str) -> Response:
    return Response(
        content=data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.post(
    "/api/users/import",
    status_code=201,
    response_model=Envelope[ImportJobOut],
    summary="Import accounts from Excel",
    description=IMPORT_DESCRIPTION,
)
def import_users(
    request: Request,
    db: DbSession,
    principal: AdminUser,
    file: UploadFile = File(..., description="the filled-in template (.xlsx)"),
    dry_run: bool = Form(False, description="validate only, write nothing"),
) -> dict[str, Any]:
    limit = settings_of(db).max_upload_mb * MB
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise errors.PayloadTooLarge()
    job = service.run_import(
        db, principal, data=data, file_name=file.filename, dry_run=dry_run, lang=request_language(request)
    )
    return ok(service.present_job(job))


@router.get("/api/users/import", response_model=ListEnvelope[ImportJobOut], summary="Import jobs in my scope")
def list_import_jobs(db: DbSession, principal: AdminUser, paging: PageParams = Depends(page_params)) -> dict[str, Any]:
    sort = {"created_at": ImportJob.created_at, "id": ImportJob.id}
    order = parse_sort(paging, sort, [ImportJob.created_at.desc(), ImportJob.id.desc()])
    rows, meta = paginate(db, service.jobs_query(db, principal), paging, order)
    return ok([service.present_job(job, with_results=False) for job in rows], meta)


@router.get(
    "/api/users/import/template",
    response_class=Response,
    responses=XLSX_RESPONSE,
    summary="The import template (.xlsx)",
)
def import_template(request: Request, principal: AdminUser) -> Response:
    return _xlsx(service.template_bytes(request_language(request)), "beachsaver-accounts-template.xlsx")


@router.get("/api/users/import/{job_id}", response_model=Envelope[ImportJobOut], summary="One import job")
def get_import_job(job_id: JobId, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    return ok(service.present_job(service.get_job(db, principal, job_id)))


@router.get(
    "/api/users/import/{job_id}/errors.xlsx",
    response_class=Response,
    responses=XLSX_RESPONSE,
    summary="The per-row report of an import job (.xlsx)",
)
def import_job_report(request: Request, job_id: JobId, db: DbSession, principal: AdminUser) -> Response:
    job = service.get_job(db, principal, job_id)
    return _xlsx(service.job_report_bytes(job, request_language(request)), f"import-{job.id}-report.xlsx")


EXPORT_DESCRIPTION = """The accounts of `GET /api/users` (same filters and sort) as an Excel sheet,
every matching row. `columns` picks the columns (response field names, comma-separated); headers
follow `Accept-Language`. Phones are masked and real names and birth dates left out unless
`reveal=phone` (full phones) or `reveal=pii` (phones, real names, birth dates); every export is
audited (`USER_EXPORT`)."""


def _stream(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


@router.get(
    "/api/users/export",
    response_class=Response,
    responses=XLSX_RESPONSE,
    summary="Export accounts (.xlsx)",
    description=EXPORT_DESCRIPTION,
)
def export_users(
    request: Request,
    db: DbSession,
    principal: AdminUser,
    role: Role | None = Query(None),
    status: UserStatus | None = Query(None),
    org_id: int | None = Query(None, gt=0, le=2**53),
    cleaner_type: CleanerType | None = Query(None),
    q: str | None = Query(None, max_length=100),
    sort: str | None = Query(None, max_length=500, description="field,asc|desc; several separated by ';'"),
    filter: str | None = Query(None, max_length=2000, description="field=value,field=value"),
    columns: str | None = Query(None, max_length=1000, description="comma-separated column keys"),
    reveal: str | None = Query(None, pattern="^(phone|pii)$", description="'pii' shows phones and real names"),
) -> Response:
    from beachsaver.users.router import USER_SORT

    lang = request_language(request)
    chosen = service.parse_columns(columns, reveal)
    scope = principal.scope_org_ids(db)
    params = PageParams(page=1, size=1, sort=sort, filter=filter)
    stmt = user_service.list_query(db, scope, role=role, status=status, org_id=org_id, cleaner_type=cleaner_type, q=q)
    stmt = stmt.where(*parse_filter(params, user_service.list_filters(db, scope)))
    order = parse_sort(params, USER_SORT, [user_service.User.created_at.desc(), user_service.User.id.desc()])
    counter = {"rows": 0}

    def counted() -> Iterator[list[Any]]:
        for row in service.export_rows(db, stmt, order, chosen, reveal):
            counter["rows"] += 1
            yield row

    from beachsaver.imports.excel import write_streamed

    handle = write_streamed(service.export_headers(chosen, lang), counted(), "accounts")
    audit.record(
        db,
        "USER_EXPORT",
        actor_id=principal.id,
        org_id=principal.org.id,
        after={
            "rows": counter["rows"],
            "reveal": reveal,
            "columns": chosen,
            "filters": {
                k: v
                for k, v in {
                    "role": role,
                    "status": status,
                    "org_id": org_id,
                    "cleaner_type": cleaner_type,
                    "q": q,
                    "filter": filter,
                }.items()
                if v is not None
            },
        },
    )
    size = handle.seek(0, 2)
    handle.seek(0)
    filename = f"beachsaver-accounts-{seoul_today().isoformat()}.xlsx"
    return StreamingResponse(
        _stream(handle),
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
            "Cache-Control": "no-store",
        },
    )
