"""Console: jobs and volunteer slots (ADM-08, ``/admin/jobs``).

The list and the detail read through ``jobs.service`` (the API's own queries and presentation,
scoped to the admin's subtree); creating, assigning, cancelling and marking a no-show are forms
sent to ``POST /api/jobs`` and ``PATCH /api/jobs/{id}`` by ``api.js``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from beachsaver.core import errors
from beachsaver.core.deps import DbSession
from beachsaver.core.enums import UserStatus
from beachsaver.core.paging import paginate
from beachsaver.core.time import seoul_today
from beachsaver.jobs import service as job_service
from beachsaver.jobs.models import Job
from beachsaver.jobs.schemas import MAX_HEADCOUNT, AssigneeStatus, JobStatus, JobType
from beachsaver.users.models import User
from beachsaver.web import common, listing
from beachsaver.web.admin import analytics_support as support
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)

VIEWS = ("jobs", "slots")
ORDER = [Job.date.desc(), Job.created_at.desc(), Job.id.desc()]
SLOT_ORDER = [Job.date.asc(), Job.id.asc()]
#: Assignees whose place can be marked a no-show.
HOLDING = (AssigneeStatus.ASSIGNED, AssigneeStatus.ACCEPTED)


@router.get("/jobs")
def jobs_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    query = support.Query(request.query_params)
    view = query.choice("view", VIEWS, upper=False) or "jobs"
    status = query.choice("status", [s.value for s in JobStatus])
    job_type = query.choice("type", [t.value for t in JobType])
    beach_id = query.ident("beach_id")
    date_from, date_to = query.day("from"), query.day("to")
    paging = query.paging()
    beaches = support.beach_choices(db, principal)
    filters = {
        "view": view,
        "status": status or "",
        "type": job_type or "",
        "beach_id": beach_id or "",
        "from": query.text("from"),
        "to": query.text("to"),
    }
    values: dict[str, Any] = {
        "nav": "jobs",
        "filters": filters,
        "beaches": beaches,
        "beach_names": support.names(beaches),
        "statuses": [s.value for s in JobStatus],
        "types": [t.value for t in JobType],
        "rows": [],
        "pager": None,
        "errors": {},
    }
    try:
        query.check()
        if view == "slots":
            stmt = job_service.slots_query(db, principal, beach_id=beach_id, date_from=date_from, date_to=date_to)
            rows, meta = paginate(db, stmt, paging, SLOT_ORDER)
            values["rows"] = job_service.present_slots(db, principal, rows)
        else:
            stmt = job_service.list_query(
                db,
                principal,
                status=JobStatus(status) if status else None,
                job_type=JobType(job_type) if job_type else None,
                beach_id=beach_id,
                date_from=date_from,
                date_to=date_to,
            )
            rows, meta = paginate(db, stmt, paging, ORDER)
            values["rows"] = job_service.present_many(db, principal, rows)
    except errors.ValidationFailed as exc:
        values["errors"] = support.field_errors(exc, common.language(request))
        return render(request, "admin/jobs/list.html", 400, **values)
    values["pager"] = listing.pager(request, meta)
    return render(request, "admin/jobs/list.html", **values)


@router.get("/jobs/new")
def new_job_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    today = seoul_today()
    return render(
        request,
        "admin/jobs/new.html",
        nav="jobs",
        beaches=support.beach_choices(db, principal),
        teams=support.team_choices(db, principal),
        types=[t.value for t in JobType],
        today=today.isoformat(),
        tomorrow=(today + timedelta(days=1)).isoformat(),
        max_headcount=MAX_HEADCOUNT,
    )


@router.get("/jobs/{job_id}")
def job_detail_page(request: Request, db: DbSession, job_id: str) -> Response:
    principal = common.admin_principal(request, db)
    job = job_service.get_visible(db, principal, listing.path_id(job_id))
    data = job_service.present_one(db, principal, job)
    places = job_service.places(job, job_service.rows_of(db, job.id))
    beaches = support.beach_choices(db, principal)
    teams = support.team_choices(db, principal)
    taken = {a["user_id"] for a in data["assignees"] if a["status"] in HOLDING or a["status"] == "WAITING"}
    # People the admin may pick: active accounts of the job's district in the job's role (the
    # service still checks each one: cleaner type, verified vehicle...).
    role = job_service.ROLE_FOR_TYPE[JobType(job.type)]
    candidates = [
        {"id": uid, "nickname": nick}
        for uid, nick in db.execute(
            select(User.id, User.nickname)
            .where(User.org_id == job.org_id, User.role == role, User.status == UserStatus.ACTIVE)
            .order_by(User.nickname, User.id)
        )
        if uid not in taken
    ]
    return render(
        request,
        "admin/jobs/detail.html",
        nav="jobs",
        job=data,
        places=places,
        beach_name=support.names(beaches).get(job.beach_id, f"#{job.beach_id}"),
        team_name=support.names(teams).get(job.team_id, f"#{job.team_id}") if job.team_id else None,
        candidates=candidates,
        role=str(role),
        working=job.status in job_service.WORKING,
        holding=[str(s) for s in HOLDING],
        local=listing.local_time,
    )
