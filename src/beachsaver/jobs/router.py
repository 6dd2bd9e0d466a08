"""Jobs (``/api/jobs``) and volunteer slots (``/api/slots``); the rules live in ``service``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from beachsaver.core import errors
from beachsaver.core.deps import AdminUser, CurrentUser, DbSession, Principal, require_roles
from beachsaver.core.enums import ADMIN_ROLES, WORKER_ROLES, Role
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.jobs import service
from beachsaver.jobs.models import Job
from beachsaver.jobs.schemas import (
    ApplicationOut,
    DeclineBody,
    JobCreate,
    JobOut,
    JobStatus,
    JobType,
    JobUpdate,
    SlotOut,
)

router = APIRouter(route_class=ApiRoute)

MAX_ID = 2**63 - 1
JobId = Annotated[int, Path(gt=0, le=MAX_ID)]
Worker = Annotated[Principal, Depends(require_roles(*WORKER_ROLES))]
#: Approved volunteers (checked in the service) and, read-only, admins.
SlotReader = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES, Role.CLEANER))]
Cleaner = Annotated[Principal, Depends(require_roles(Role.CLEANER))]

JOB_SORT = {
    "created_at": Job.created_at,
    "updated_at": Job.updated_at,
    "id": Job.id,
    "date": Job.date,
    "status": Job.status,
    "type": Job.type,
    "headcount": Job.headcount,
    "beach_id": Job.beach_id,
}
JOB_FILTER = {
    "status": lambda v: Job.status == JobStatus(v),
    "type": lambda v: Job.type == JobType(v),
    "beach_id": lambda v: Job.beach_id == int(v),
    "team_id": lambda v: Job.team_id == int(v),
    "org_id": lambda v: Job.org_id == int(v),
    "date": lambda v: Job.date == date.fromisoformat(v),
}
SLOT_SORT = {"created_at": Job.created_at, "id": Job.id, "date": Job.date, "beach_id": Job.beach_id}
SLOT_FILTER = {
    "beach_id": lambda v: Job.beach_id == int(v),
    "team_id": lambda v: Job.team_id == int(v),
    "date": lambda v: Job.date == date.fromisoformat(v),
}
DEFAULT_ORDER = [Job.created_at.desc(), Job.id.desc()]


# ---- jobs --------------------------------------------------------------------------------------


@router.get(
    "/api/jobs",
    response_model=ListEnvelope[JobOut],
    tags=["jobs"],
    summary="Jobs (admins: their scope; workers: their own jobs)",
)
def list_jobs(
    db: DbSession,
    principal: CurrentUser,
    paging: PageParams = Depends(page_params),
    status: JobStatus | None = Query(None),
    type: JobType | None = Query(None),
    beach_id: int | None = Query(None, gt=0, le=MAX_ID),
    team_id: int | None = Query(None, gt=0, le=MAX_ID),
    org_id: int | None = Query(None, gt=0, le=MAX_ID, description="organisation subtree"),
    user_id: int | None = Query(None, gt=0, le=MAX_ID, description="jobs this worker is on"),
    from_: date | None = Query(None, alias="from", description="job date from (YYYY-MM-DD, inclusive)"),
    to: date | None = Query(None, description="job date to (YYYY-MM-DD, inclusive)"),
) -> dict[str, Any]:
    stmt = service.list_query(
        db,
        principal,
        status=status,
        job_type=type,
        beach_id=beach_id,
        team_id=team_id,
        org_id=org_id,
        user_id=user_id,
        date_from=from_,
        date_to=to,
    )
    stmt = stmt.where(*parse_filter(paging, JOB_FILTER))
    rows, meta = paginate(db, stmt, paging, parse_sort(paging, JOB_SORT, DEFAULT_ORDER))
    return ok(service.present_many(db, principal, rows), meta)


@router.post("/api/jobs", status_code=201, response_model=Envelope[JobOut], tags=["jobs"], summary="Create a job")
def create_job(body: JobCreate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    job = service.create(db, principal, body)
    return ok(service.present_one(db, principal, job))


@router.get("/api/jobs/{job_id}", response_model=Envelope[JobOut], tags=["jobs"], summary="One job")
def get_job(job_id: JobId, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    job = service.get_visible(db, principal, job_id)
    return ok(service.present_one(db, principal, job))


@router.patch(
    "/api/jobs/{job_id}",
    response_model=Envelope[JobOut],
    tags=["jobs"],
    summary="Assign ({assignee_ids} or {team_id}), cancel ({status: CANCELLED, reason}) "
    "or mark a no-show ({assignee_id, status: NO_SHOW})",
)
def update_job(job_id: JobId, body: JobUpdate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    job = service.get_visible(db, principal, job_id, for_update=True)
    service.update(db, principal, job, body)
    return ok(service.present_one(db, principal, job))


@router.post("/api/jobs/{job_id}/accept", response_model=Envelope[JobOut], tags=["jobs"], summary="Accept my place")
def accept_job(job_id: JobId, db: DbSession, principal: Worker) -> dict[str, Any]:
    job = service.get_visible(db, principal, job_id, for_update=True)
    service.accept(db, principal, job)
    return ok(service.present_one(db, principal, job))


@router.post(
    "/api/jobs/{job_id}/decline",
    response_model=Envelope[JobOut],
    tags=["jobs"],
    summary="Decline my place (frees it; the admin is told)",
)
def decline_job(job_id: JobId, body: DeclineBody, db: DbSession, principal: Worker) -> dict[str, Any]:
    job = service.get_visible(db, principal, job_id, for_update=True)
    service.decline(db, principal, job, body.reason)
    return ok(service.present_one(db, principal, job))


# ---- volunteer slots ---------------------------------------------------------------------------


def _slot_reader(principal: Principal) -> None:
    if not principal.is_admin and not service.is_volunteer(principal):
        raise errors.Forbidden()


@router.get(
    "/api/slots",
    response_model=ListEnvelope[SlotOut],
    tags=["slots"],
    summary="Open volunteer places of CLEANING jobs (volunteers: their district; admins: scope)",
)
def list_slots(
    db: DbSession,
    principal: SlotReader,
    paging: PageParams = Depends(page_params),
    beach_id: int | None = Query(None, gt=0, le=MAX_ID),
    from_: date | None = Query(None, alias="from", description="job date from (YYYY-MM-DD, inclusive)"),
    to: date | None = Query(None, description="job date to (YYYY-MM-DD, inclusive)"),
) -> dict[str, Any]:
    _slot_reader(principal)
    stmt = service.slots_query(db, principal, beach_id=beach_id, date_from=from_, date_to=to)
    stmt = stmt.where(*parse_filter(paging, SLOT_FILTER))
    rows, meta = paginate(db, stmt, paging, parse_sort(paging, SLOT_SORT, DEFAULT_ORDER))
    return ok(service.present_slots(db, principal, rows), meta)


@router.get("/api/slots/{slot_id}", response_model=Envelope[SlotOut], tags=["slots"], summary="One slot")
def get_slot(slot_id: JobId, db: DbSession, principal: SlotReader) -> dict[str, Any]:
    _slot_reader(principal)
    job = service.get_slot(db, principal, slot_id)
    return ok(service.present_slots(db, principal, [job])[0])


@router.post(
    "/api/slots/{slot_id}/application",
    status_code=201,
    response_model=Envelope[ApplicationOut],
    tags=["slots"],
    summary="Apply for a volunteer place: APPROVED, or WAITING when full",
)
def apply_for_slot(slot_id: JobId, db: DbSession, principal: Cleaner) -> dict[str, Any]:
    row, status = service.apply(db, principal, slot_id)
    return ok({"slot_id": slot_id, "job_id": slot_id, "status": status, "position": row.position})


@router.delete(
    "/api/slots/{slot_id}/application",
    response_model=Envelope[None],
    tags=["slots"],
    summary="Withdraw my application (the place goes to the first waiting applicant)",
)
def withdraw_from_slot(slot_id: JobId, db: DbSession, principal: Cleaner) -> dict[str, Any]:
    service.withdraw(db, principal, slot_id)
    return ok(None)
