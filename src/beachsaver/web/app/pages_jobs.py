"""The worker app's job page: one job the worker is (or was) on, read-only — the target of the
assignment and cancellation notices (``/app/jobs/{id}``). It reads through the jobs service as
``GET /api/jobs/{id}`` does (``get_visible``: workers see only their own jobs, 404 otherwise;
``present_one``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from beachsaver.beaches.models import Beach
from beachsaver.core.deps import DbSession
from beachsaver.jobs import service as job_service
from beachsaver.teams.models import Team
from beachsaver.web import common
from beachsaver.web.common import WebRoute, render
from beachsaver.web.listing import local_time, path_id

router = APIRouter(route_class=WebRoute)


@router.get("/jobs/{job_id}")
def job_page(request: Request, db: DbSession, job_id: str) -> Response:
    principal = common.web_principal(request, db)
    job = job_service.get_visible(db, principal, path_id(job_id))
    data = job_service.present_one(db, principal, job)
    beach = db.get(Beach, job.beach_id)
    team = db.get(Team, job.team_id) if job.team_id else None
    return render(
        request,
        "app/jobs/detail.html",
        nav="home",
        job=data,
        beach_name=beach.beach_name if beach else f"#{job.beach_id}",
        team_name=team.name if team else None,
        mine=next((a for a in data["assignees"] if a["user_id"] == principal.id), None),
        updated=local_time(job.updated_at),
    )
