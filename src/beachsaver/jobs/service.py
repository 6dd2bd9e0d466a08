"""Jobs and volunteer slots (02-api §8, 07 §8).

A job is work an admin creates for a beach of a district: ``OPEN`` → ``ASSIGNED`` (first
assignee) → ``IN_PROGRESS`` (first accept or a linked report) → ``DONE`` (a linked report is
submitted) | ``CANCELLED`` (admins). Its ``headcount`` places go to regular workers first (admins
assign them); the remaining places of a ``CLEANING`` job open as volunteer slots, first come
first served with a waiting list, approved automatically.

Places: an assignee row holds a place while ``ASSIGNED`` or ``ACCEPTED``. The stored
``volunteer_slots`` is a cap (default: the headcount); the volunteer places available now are
``min(cap, headcount − regular places held)``, which is the ``volunteer_slots`` clients see.
Whenever a place frees up (decline, no-show, withdrawal) waiting applicants are promoted in
order while volunteer places remain.

Concurrency: every change locks the job row first (``SELECT … FOR UPDATE``; on SQLite writers
serialise at ``BEGIN IMMEDIATE``), so concurrent applications for the last place can never
over-fill a job. The job's team row is locked after the job row when members join or leave.

Team membership: cleaners assigned to a ``CLEANING`` job and volunteers whose place is granted
become ``ACTIVE`` members of the job's team. A membership that started with the place (joined
at or after the assignee row was created) ends when the place ends, unless the person leads the
team or holds a place on another open job of that team — so credit for the cleaning report is
never split with someone who did not take part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.beaches.models import Beach
from beachsaver.core import errors
from beachsaver.core.deps import Principal
from beachsaver.core.enums import (
    CleanerType,
    MembershipStatus,
    ReportStatus,
    ReportType,
    Role,
    TeamRole,
    TeamStatus,
    UserStatus,
)
from beachsaver.core.time import seoul_today, utcnow
from beachsaver.jobs.models import Job, JobAssignee
from beachsaver.jobs.schemas import (
    ApplicationStatus,
    AssigneeKind,
    AssigneeStatus,
    JobCreate,
    JobPatchStatus,
    JobStatus,
    JobType,
    JobUpdate,
)
from beachsaver.notifications import service as notification_service
from beachsaver.orgs import service as org_service
from beachsaver.reports.models import Report
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.teams.schemas import MAX_MEMBERS
from beachsaver.users.models import User

#: Assignee states that hold a place.
HOLDING = (AssigneeStatus.ASSIGNED, AssigneeStatus.ACCEPTED)
#: Job states in which places can be taken, given back and changed.
WORKING = (JobStatus.OPEN, JobStatus.ASSIGNED, JobStatus.IN_PROGRESS)
ROLE_FOR_TYPE = {
    JobType.INVESTIGATION: Role.INVESTIGATOR,
    JobType.CLEANING: Role.CLEANER,
    JobType.COLLECTION: Role.COLLECTOR,
}
ELIGIBLE_MESSAGE = {
    JobType.INVESTIGATION: "must be an active investigator of the job's district",
    JobType.CLEANING: "must be an active regular cleaner of the job's district",
    JobType.COLLECTION: "must be an active, verified collector of the job's district",
}
#: Position given to a row joining a group before the group is renumbered (it sorts last).
APPEND = 1_000_000
ASSIGNMENT = "ASSIGNMENT"


# ---- reading -----------------------------------------------------------------------------------


def _select_job(job_id: int, *, for_update: bool) -> Select[tuple[Job]]:
    stmt = select(Job).where(Job.id == job_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return stmt


def rows_of(db: Session, job_id: int) -> list[JobAssignee]:
    return list(
        db.execute(
            select(JobAssignee)
            .where(JobAssignee.job_id == job_id)
            .order_by(JobAssignee.id)
            .execution_options(populate_existing=True)
        ).scalars()
    )


def _has_row(user_id: int) -> Any:
    return exists().where(JobAssignee.job_id == Job.id, JobAssignee.user_id == user_id)


def can_see(db: Session, principal: Principal, job: Job) -> bool:
    """Admins: jobs of their subtree. Workers: jobs they are (or were) on, applications included."""
    if principal.is_admin:
        return principal.can_see_org(db, job.org_id)
    row = db.execute(
        select(JobAssignee.id).where(JobAssignee.job_id == job.id, JobAssignee.user_id == principal.id)
    ).first()
    return row is not None and job.org_id == principal.org.id


def get_visible(db: Session, principal: Principal, job_id: int, *, for_update: bool = False) -> Job:
    job = db.execute(_select_job(job_id, for_update=for_update)).scalar_one_or_none()
    if job is None or not can_see(db, principal, job):
        raise errors.NotFound()
    return job


def list_query(
    db: Session,
    principal: Principal,
    *,
    status: JobStatus | None = None,
    job_type: JobType | None = None,
    beach_id: int | None = None,
    team_id: int | None = None,
    org_id: int | None = None,
    user_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select[tuple[Job]]:
    """Admins: jobs of their subtree; workers: their own jobs."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise errors.ValidationFailed.field("query.to", "'to' is before 'from'")
    scope = principal.scope_org_ids(db)
    stmt = select(Job).where(Job.org_id.in_(scope))
    if not principal.is_admin:
        stmt = stmt.where(_has_row(principal.id))
    if org_id is not None:
        org = org_service.get(db, org_id)
        if org is None or org.id not in scope:
            raise errors.NotFound()
        stmt = stmt.where(Job.org_id.in_(org_service.subtree_ids(db, org)))
    if user_id is not None:
        stmt = stmt.where(_has_row(user_id))
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if job_type is not None:
        stmt = stmt.where(Job.type == job_type)
    if beach_id is not None:
        stmt = stmt.where(Job.beach_id == beach_id)
    if team_id is not None:
        stmt = stmt.where(Job.team_id == team_id)
    if date_from is not None:
        stmt = stmt.where(Job.date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Job.date <= date_to)
    return stmt


@dataclass
class Places:
    """The places of one job right now."""

    regular: int
    volunteers: int
    waiting: int
    volunteer_slots: int

    @property
    def held(self) -> int:
        return self.regular + self.volunteers

    @property
    def remaining(self) -> int:
        return max(0, self.volunteer_slots - self.volunteers)


def places(job: Job, rows: Iterable[JobAssignee]) -> Places:
    regular = volunteers = waiting = 0
    for row in rows:
        if row.status in HOLDING:
            if row.kind == AssigneeKind.REGULAR:
                regular += 1
            else:
                volunteers += 1
        elif row.status == AssigneeStatus.WAITING:
            waiting += 1
    volunteer_slots = max(0, min(job.volunteer_slots, job.headcount - regular))
    return Places(regular=regular, volunteers=volunteers, waiting=waiting, volunteer_slots=volunteer_slots)


def _rows_by_job(db: Session, job_ids: Sequence[int]) -> dict[int, list[JobAssignee]]:
    out: dict[int, list[JobAssignee]] = {job_id: [] for job_id in job_ids}
    if job_ids:
        for row in db.execute(
            select(JobAssignee).where(JobAssignee.job_id.in_(job_ids)).order_by(JobAssignee.id)
        ).scalars():
            out[row.job_id].append(row)
    return out


def _nicknames(db: Session, user_ids: Iterable[int]) -> dict[int, str]:
    ids = set(user_ids)
    if not ids:
        return {}
    return {int(uid): str(nick) for uid, nick in db.execute(select(User.id, User.nickname).where(User.id.in_(ids)))}


def _group(row: JobAssignee) -> int:
    if row.status in HOLDING:
        return 0
    if row.status == AssigneeStatus.WAITING:
        return 1
    return 2


def _sorted(rows: Iterable[JobAssignee]) -> list[JobAssignee]:
    return sorted(rows, key=lambda r: (r.kind != AssigneeKind.REGULAR, _group(r), r.position, r.id))


def present(job: Job, rows: Sequence[JobAssignee], nicknames: dict[int, str], principal: Principal) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": job.type,
        "org_id": job.org_id,
        "beach_id": job.beach_id,
        "area_names": list(job.area_names or []),
        "date": job.date,
        "headcount": job.headcount,
        "volunteer_slots": places(job, rows).volunteer_slots,
        "status": job.status,
        "investigation_report_id": job.investigation_report_id,
        "team_id": job.team_id,
        "assignees": [
            {
                "user_id": r.user_id,
                "nickname": nicknames.get(r.user_id, ""),
                "kind": r.kind,
                "status": r.status,
                "position": r.position,
                # A decline reason is personal: admins and the person see it.
                "reason": r.reason if principal.is_admin or r.user_id == principal.id else None,
            }
            for r in _sorted(rows)
        ],
        "cancel_reason": job.cancel_reason,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def present_many(db: Session, principal: Principal, jobs: Sequence[Job]) -> list[dict[str, Any]]:
    rows = _rows_by_job(db, [j.id for j in jobs])
    nicknames = _nicknames(db, (r.user_id for group in rows.values() for r in group))
    return [present(j, rows[j.id], nicknames, principal) for j in jobs]


def present_one(db: Session, principal: Principal, job: Job) -> dict[str, Any]:
    return present_many(db, principal, [job])[0]


def snapshot(job: Job) -> dict[str, Any]:
    return {
        "type": job.type,
        "org_id": job.org_id,
        "beach_id": job.beach_id,
        "area_names": list(job.area_names or []),
        "date": job.date.isoformat(),
        "headcount": job.headcount,
        "volunteer_slots": job.volunteer_slots,
        "status": job.status,
        "investigation_report_id": job.investigation_report_id,
        "team_id": job.team_id,
    }


# ---- helpers of the rules ----------------------------------------------------------------------


def _ensure_working(job: Job) -> None:
    if job.status not in WORKING:
        raise errors.InvalidState()


def _renumber(rows: Iterable[JobAssignee]) -> None:
    """Positions run 1..n within each group: regular places, volunteer places, the waiting list.
    Rows that no longer hold a place keep the position they had."""
    groups: dict[tuple[str, int], list[JobAssignee]] = {}
    for row in rows:
        group = _group(row)
        if group == 2:
            continue
        key = (row.kind if group == 0 else AssigneeKind.VOLUNTEER.value, group)
        groups.setdefault(key, []).append(row)
    for members in groups.values():
        for i, row in enumerate(sorted(members, key=lambda r: (r.position, r.id)), start=1):
            if row.position != i:
                row.position = i


def _touch(job: Job, now: datetime) -> None:
    job.updated_at = now


def _first_assignee(job: Job) -> None:
    if job.status == JobStatus.OPEN:
        job.status = JobStatus.ASSIGNED


def _lock_team(db: Session, team_id: int) -> Team:
    team = db.execute(
        select(Team).where(Team.id == team_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    return team


def _active_membership(db: Session, team_id: int, user_id: int) -> TeamMembership | None:
    return db.execute(
        select(TeamMembership).where(
            TeamMembership.team_id == team_id,
            TeamMembership.user_id == user_id,
            TeamMembership.status == MembershipStatus.ACTIVE,
        )
    ).scalar_one_or_none()


def _join_team(db: Session, job: Job, user_id: int, actor_id: int | None, now: datetime, *, strict: bool) -> bool:
    """Make ``user_id`` an active member of the job's team. A full team (20 members) answers 409
    when ``strict``, else False (the caller leaves the person waiting)."""
    if job.team_id is None:
        return True
    team = _lock_team(db, job.team_id)
    if team.status != TeamStatus.ACTIVE:
        raise errors.InvalidState()
    if _active_membership(db, team.id, user_id) is not None:
        return True
    count = db.execute(
        select(func.count(TeamMembership.id)).where(
            TeamMembership.team_id == team.id, TeamMembership.status == MembershipStatus.ACTIVE
        )
    ).scalar_one()
    if int(count) >= MAX_MEMBERS:
        if strict:
            raise errors.Conflict()
        return False
    db.add(
        TeamMembership(
            team_id=team.id,
            user_id=user_id,
            role_in_team=TeamRole.MEMBER,
            status=MembershipStatus.ACTIVE,
            joined_at=now,
        )
    )
    team.updated_at = now
    db.flush()
    audit.record(
        db,
        "TEAM_MEMBER_ADD",
        actor_id=actor_id,
        target_type="TEAM",
        target_id=team.id,
        org_id=team.org_id,
        after={"user_id": user_id, "role_in_team": TeamRole.MEMBER.value, "job_id": job.id},
    )
    return True


def _leave_team(db: Session, job: Job, row: JobAssignee, actor_id: int | None, now: datetime) -> None:
    """End a membership that came with the place ``row`` held (see the module notes)."""
    if job.team_id is None or job.type != JobType.CLEANING:
        return
    team = _lock_team(db, job.team_id)
    if team.leader_id == row.user_id:
        return
    membership = _active_membership(db, team.id, row.user_id)
    if membership is None or membership.role_in_team == TeamRole.LEADER or membership.joined_at < row.created_at:
        return
    elsewhere = db.execute(
        select(JobAssignee.id)
        .join(Job, Job.id == JobAssignee.job_id)
        .where(
            Job.team_id == team.id,
            Job.id != job.id,
            Job.status.in_(WORKING),
            JobAssignee.user_id == row.user_id,
            JobAssignee.status.in_(HOLDING),
        )
        .limit(1)
    ).first()
    if elsewhere is not None:
        return
    membership.status = MembershipStatus.LEFT
    membership.left_at = now
    team.updated_at = now
    db.flush()
    audit.record(
        db,
        "TEAM_MEMBER_REMOVE",
        actor_id=actor_id,
        target_type="TEAM",
        target_id=team.id,
        org_id=team.org_id,
        before={"user_id": row.user_id, "role_in_team": membership.role_in_team, "status": "ACTIVE"},
        after={"user_id": row.user_id, "status": MembershipStatus.LEFT.value, "job_id": job.id},
    )


def _notify_admin(db: Session, job: Job, event: str, user_id: int, title: str, message: str, key: str) -> None:
    notification_service.notify(
        db,
        event=event,
        category=ASSIGNMENT,
        user_ids=[job.created_by],
        title=title,
        message=message,
        link=f"/admin/jobs/{job.id}",
        channels=("PUSH", "EMAIL"),
        dedupe=f"job:{job.id}:{key}:{user_id}",
    )


def _notify_assigned(db: Session, job: Job, user_ids: Iterable[int]) -> None:
    for user_id in user_ids:
        notification_service.notify(
            db,
            event="JOB_ASSIGNED",
            category=ASSIGNMENT,
            user_ids=[user_id],
            title="작업 배정",
            message=f"{job.date.isoformat()} 작업(#{job.id})에 배정되었습니다. 수락 또는 거절해 주세요.",
            link=f"/app/jobs/{job.id}",
            channels=("PUSH", "ALIMTALK"),
            dedupe=f"job:{job.id}:assigned:{user_id}",
        )


def _promote(db: Session, job: Job, rows: list[JobAssignee], actor_id: int | None, now: datetime) -> list[int]:
    """Give free volunteer places to the waiting list, first come first served."""
    if job.type != JobType.CLEANING or job.status not in WORKING:
        return []
    state = places(job, rows)
    free = state.volunteer_slots - state.volunteers
    waiting = sorted((r for r in rows if r.status == AssigneeStatus.WAITING), key=lambda r: (r.position, r.id))
    promoted: list[int] = []
    for row in waiting:
        if free <= 0:
            break
        if not _join_team(db, job, row.user_id, actor_id, now, strict=False):
            break
        before = {"status": row.status, "position": row.position}
        row.status = AssigneeStatus.ASSIGNED
        row.position = APPEND + len(promoted)
        row.updated_at = now
        free -= 1
        promoted.append(row.user_id)
        audit.record(
            db,
            "SLOT_PROMOTE",
            actor_id=actor_id,
            target_type="JOB",
            target_id=job.id,
            org_id=job.org_id,
            before={"user_id": row.user_id, **before},
            after={"user_id": row.user_id, "status": AssigneeStatus.ASSIGNED.value},
        )
        notification_service.notify(
            db,
            event="SLOT_PROMOTED",
            category=ASSIGNMENT,
            user_ids=[row.user_id],
            title="봉사 자리 확정",
            message=f"{job.date.isoformat()} 정화 작업(#{job.id})의 대기 순번이 되어 참여가 확정되었습니다.",
            link=f"/app/jobs/{job.id}",
            channels=("PUSH", "ALIMTALK"),
            dedupe=f"job:{job.id}:promoted:{row.user_id}",
        )
    if promoted:
        _first_assignee(job)
    return promoted


def _free_place(
    db: Session, job: Job, rows: list[JobAssignee], row: JobAssignee, actor_id: int | None, now: datetime
) -> list[int]:
    """``row`` no longer holds its place: end the membership it brought, promote, renumber."""
    _leave_team(db, job, row, actor_id, now)
    promoted = _promote(db, job, rows, actor_id, now)
    _renumber(rows)
    _touch(job, now)
    db.flush()
    return promoted


# ---- creating ----------------------------------------------------------------------------------


def create(db: Session, principal: Principal, body: JobCreate) -> Job:
    beach = db.get(Beach, body.beach_id)
    if beach is None or not principal.can_see_org(db, beach.org_id):
        raise errors.NotFound()
    job_type = JobType(body.type)
    problems: list[dict[str, str]] = []
    if body.date < seoul_today():
        problems.append({"field": "date", "message": "must be today or later"})
    if body.volunteer_slots is not None and body.volunteer_slots > body.headcount:
        problems.append({"field": "volunteer_slots", "message": "cannot exceed the headcount"})
    if job_type == JobType.CLEANING and body.team_id is None:
        problems.append({"field": "team_id", "message": "required for a CLEANING job"})
    if job_type != JobType.CLEANING and body.team_id is not None:
        problems.append({"field": "team_id", "message": "only a CLEANING job belongs to a team"})
    if problems:
        raise errors.ValidationFailed(details=problems)

    team: Team | None = None
    if body.team_id is not None:
        team = db.get(Team, body.team_id)
        if team is None or not principal.can_see_org(db, team.org_id):
            raise errors.NotFound()
        if team.org_id != beach.org_id:
            problems.append({"field": "team_id", "message": "must be a team of the beach's district"})
        elif team.status != TeamStatus.ACTIVE:
            problems.append({"field": "team_id", "message": "the team is disbanded"})
    if body.investigation_report_id is not None:
        report = db.get(Report, body.investigation_report_id)
        if report is None or report.deleted_at is not None or not principal.can_see_org(db, report.org_id):
            raise errors.NotFound()
        if report.type != ReportType.INVESTIGATION or report.status not in (
            ReportStatus.SUBMITTED,
            ReportStatus.APPROVED,
        ):
            problems.append(
                {"field": "investigation_report_id", "message": "must be a submitted or approved investigation report"}
            )
        elif report.beach_id != beach.id:
            problems.append({"field": "investigation_report_id", "message": "must be a report of the job's beach"})
        elif team is not None and report.claimed_by_team_id not in (None, team.id):
            raise errors.Conflict()
    if problems:
        raise errors.ValidationFailed(details=problems)

    now = utcnow()
    job = Job(
        type=job_type,
        org_id=beach.org_id,
        beach_id=beach.id,
        area_names=list(body.area_names),
        date=body.date,
        headcount=body.headcount,
        volunteer_slots=body.headcount if body.volunteer_slots is None else body.volunteer_slots,
        status=JobStatus.OPEN,
        investigation_report_id=body.investigation_report_id,
        team_id=body.team_id,
        created_by=principal.id,
        created_at=now,
        updated_at=now,
    )
    db.add(job)
    db.flush()
    audit.record(
        db,
        "JOB_CREATE",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        after=snapshot(job),
    )
    return job


# ---- admin changes -----------------------------------------------------------------------------


def update(db: Session, principal: Principal, job: Job, body: JobUpdate) -> Job:
    """One operation per request; the caller has locked ``job``."""
    given = {name for name in body.model_fields_set if getattr(body, name) is not None}
    if not given:
        raise errors.ValidationFailed.field("body", "nothing to change")
    if "assignee_ids" in given or "team_id" in given:
        extra = sorted(given - {"assignee_ids", "team_id"})
        if {"assignee_ids", "team_id"} <= given:
            extra = ["team_id", *extra]
        if extra:
            raise errors.ValidationFailed(
                details=[{"field": name, "message": "not combined with an assignment"} for name in extra]
            )
        assign(db, principal, job, assignee_ids=body.assignee_ids, team_id=body.team_id)
        return job
    if "status" not in given:
        raise errors.ValidationFailed(
            details=[{"field": name, "message": "only with status"} for name in sorted(given)]
        )
    assert body.status is not None
    status = JobPatchStatus(body.status)
    if status == JobPatchStatus.CANCELLED:
        problems = []
        if "reason" not in given:
            problems.append({"field": "reason", "message": "required to cancel a job"})
        if "assignee_id" in given:
            problems.append({"field": "assignee_id", "message": "only with status NO_SHOW"})
        if problems:
            raise errors.ValidationFailed(details=problems)
        assert body.reason is not None
        cancel(db, principal, job, body.reason)
        return job
    if status == JobPatchStatus.NO_SHOW:
        if body.assignee_id is None:
            raise errors.ValidationFailed.field("assignee_id", "required with status NO_SHOW")
        mark_no_show(db, principal, job, body.assignee_id, body.reason)
        return job
    if "assignee_id" in given:
        raise errors.ValidationFailed.field("assignee_id", "only with status NO_SHOW")
    # OPEN, ASSIGNED, IN_PROGRESS and DONE are reached through the workflow only.
    raise errors.InvalidState()


def _eligible(user: User, job: Job) -> bool:
    job_type = JobType(job.type)
    if user.status != UserStatus.ACTIVE or user.org_id != job.org_id or user.role != ROLE_FOR_TYPE[job_type]:
        return False
    if job_type == JobType.CLEANING:
        return user.cleaner_type == CleanerType.REGULAR
    if job_type == JobType.COLLECTION:
        return user.vehicle is not None and user.vehicle.verified_at is not None
    return True


def _candidates_from_ids(db: Session, principal: Principal, job: Job, ids: list[int]) -> list[int]:
    problems = []
    seen: set[int] = set()
    for i, uid in enumerate(ids):
        if uid in seen:
            problems.append({"field": f"assignee_ids[{i}]", "message": "listed twice"})
        seen.add(uid)
    if problems:
        raise errors.ValidationFailed(details=problems)
    users = {u.id: u for u in db.execute(select(User).where(User.id.in_(seen))).scalars()}
    for uid in ids:
        user = users.get(uid)
        if user is None or not principal.can_see_org(db, user.org_id):
            raise errors.NotFound()
    message = ELIGIBLE_MESSAGE[JobType(job.type)]
    for i, uid in enumerate(ids):
        if not _eligible(users[uid], job):
            problems.append({"field": f"assignee_ids[{i}]", "message": message})
    if problems:
        raise errors.ValidationFailed(details=problems)
    return ids


def _candidates_from_team(db: Session, principal: Principal, job: Job, team_id: int) -> list[int]:
    if job.type != JobType.CLEANING:
        raise errors.ValidationFailed.field("team_id", "only a CLEANING job is assigned to a team")
    team = db.get(Team, team_id)
    if team is None or not principal.can_see_org(db, team.org_id):
        raise errors.NotFound()
    if team.id != job.team_id:
        raise errors.ValidationFailed.field("team_id", "a CLEANING job is assigned to its own team")
    if team.status != TeamStatus.ACTIVE:
        raise errors.InvalidState()
    member_ids = list(
        db.execute(
            select(TeamMembership.user_id)
            .where(TeamMembership.team_id == team.id, TeamMembership.status == MembershipStatus.ACTIVE)
            .order_by(TeamMembership.role_in_team != TeamRole.LEADER, TeamMembership.joined_at, TeamMembership.id)
        ).scalars()
    )
    users = {u.id: u for u in db.execute(select(User).where(User.id.in_(member_ids))).scalars()} if member_ids else {}
    ids = [uid for uid in dict.fromkeys(member_ids) if uid in users and _eligible(users[uid], job)]
    if not ids:
        raise errors.ValidationFailed.field("team_id", "the team has no active regular cleaner")
    return ids


def assign(
    db: Session, principal: Principal, job: Job, *, assignee_ids: list[int] | None, team_id: int | None
) -> list[int]:
    """Give regular places to workers (or to a CLEANING job's team); returns who was added."""
    _ensure_working(job)
    if team_id is not None:
        ids = _candidates_from_team(db, principal, job, team_id)
    else:
        assert assignee_ids is not None
        ids = _candidates_from_ids(db, principal, job, assignee_ids)
    if job.type == JobType.CLEANING and job.team_id is not None:
        team = db.get(Team, job.team_id)
        if team is None or team.status != TeamStatus.ACTIVE:
            raise errors.InvalidState()
    rows = rows_of(db, job.id)
    by_user = {r.user_id: r for r in rows}
    new = [uid for uid in ids if uid not in by_user or by_user[uid].status not in HOLDING]
    if not new:
        return []
    state = places(job, rows)
    if state.held + len(new) > job.headcount:
        raise errors.Conflict()
    if job.type == JobType.CLEANING and job.investigation_report_id is not None and job.team_id is not None:
        from beachsaver.reports import service as report_service

        report_service.claim_for_team(
            db, report_id=job.investigation_report_id, team_id=job.team_id, actor_id=principal.id
        )
    now = utcnow()
    before = {"status": job.status, "assignee_ids": [r.user_id for r in rows if r.status in HOLDING]}
    for offset, uid in enumerate(new):
        row = by_user.get(uid)
        if row is None:
            row = JobAssignee(job_id=job.id, user_id=uid, created_at=now)
            db.add(row)
            rows.append(row)
        else:
            row.created_at = now
        row.kind = AssigneeKind.REGULAR
        row.status = AssigneeStatus.ASSIGNED
        row.reason = None
        row.position = APPEND + offset
        row.updated_at = now
    db.flush()
    if job.type == JobType.CLEANING:
        for uid in new:
            _join_team(db, job, uid, principal.id, now, strict=True)
    _first_assignee(job)
    _renumber(rows)
    _touch(job, now)
    db.flush()
    audit.record(
        db,
        "JOB_ASSIGN",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"status": job.status, "added_ids": new, "team_id": team_id},
    )
    _notify_assigned(db, job, new)
    return new


def cancel(db: Session, principal: Principal, job: Job, reason: str) -> None:
    _ensure_working(job)
    now = utcnow()
    before = {"status": job.status}
    rows = rows_of(db, job.id)
    job.status = JobStatus.CANCELLED
    job.cancel_reason = reason
    for row in rows:
        if row.status in HOLDING:
            _leave_team(db, job, row, principal.id, now)
    _touch(job, now)
    db.flush()
    audit.record(
        db,
        "JOB_CANCEL",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"status": job.status, "reason": reason},
    )
    recipients = [r.user_id for r in rows if r.status in HOLDING or r.status == AssigneeStatus.WAITING]
    for user_id in recipients:
        notification_service.notify(
            db,
            event="JOB_CANCELLED",
            category=ASSIGNMENT,
            user_ids=[user_id],
            title="작업 취소",
            message=f"{job.date.isoformat()} 작업(#{job.id})이 취소되었습니다: {reason}",
            link=f"/app/jobs/{job.id}",
            channels=("PUSH", "ALIMTALK"),
            dedupe=f"job:{job.id}:cancelled:{user_id}",
        )


def mark_no_show(db: Session, principal: Principal, job: Job, user_id: int, reason: str | None) -> None:
    """An assignee holding a place did not come; also recordable once the job is DONE."""
    if job.status not in (*WORKING, JobStatus.DONE):
        raise errors.InvalidState()
    rows = rows_of(db, job.id)
    row = next((r for r in rows if r.user_id == user_id), None)
    if row is None:
        raise errors.NotFound()
    if row.status not in HOLDING:
        raise errors.InvalidState()
    now = utcnow()
    before = {"user_id": user_id, "status": row.status, "kind": row.kind}
    row.status = AssigneeStatus.NO_SHOW
    row.reason = reason
    row.updated_at = now
    promoted = _free_place(db, job, rows, row, principal.id, now)
    audit.record(
        db,
        "JOB_NO_SHOW",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"user_id": user_id, "status": row.status, "reason": reason, "promoted_ids": promoted},
    )
    _notify_admin(
        db,
        job,
        "JOB_NO_SHOW",
        user_id,
        "작업 불참",
        f"작업 #{job.id} ({job.date.isoformat()})에 배정자 한 명이 나오지 않았습니다. 재배정을 확인해 주세요.",
        "no_show",
    )


# ---- assignee actions --------------------------------------------------------------------------


def _own_row(db: Session, principal: Principal, job: Job) -> tuple[list[JobAssignee], JobAssignee]:
    rows = rows_of(db, job.id)
    row = next((r for r in rows if r.user_id == principal.id), None)
    if row is None:
        raise errors.NotFound()
    return rows, row


def accept(db: Session, principal: Principal, job: Job) -> None:
    _ensure_working(job)
    _, row = _own_row(db, principal, job)
    if row.status != AssigneeStatus.ASSIGNED:
        raise errors.InvalidState()
    now = utcnow()
    before = {"user_id": row.user_id, "status": row.status, "job_status": job.status}
    row.status = AssigneeStatus.ACCEPTED
    row.updated_at = now
    if job.status in (JobStatus.OPEN, JobStatus.ASSIGNED):
        job.status = JobStatus.IN_PROGRESS
    _touch(job, now)
    db.flush()
    audit.record(
        db,
        "JOB_ACCEPT",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"user_id": row.user_id, "status": row.status, "job_status": job.status},
    )


def decline(db: Session, principal: Principal, job: Job, reason: str) -> None:
    _ensure_working(job)
    rows, row = _own_row(db, principal, job)
    if row.status not in HOLDING:
        raise errors.InvalidState()
    now = utcnow()
    before = {"user_id": row.user_id, "status": row.status, "kind": row.kind}
    row.status = AssigneeStatus.DECLINED
    row.reason = reason
    row.updated_at = now
    promoted = _free_place(db, job, rows, row, principal.id, now)
    audit.record(
        db,
        "JOB_DECLINE",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"user_id": row.user_id, "status": row.status, "reason": reason, "promoted_ids": promoted},
    )
    _notify_admin(
        db,
        job,
        "JOB_DECLINED",
        row.user_id,
        "작업 거절",
        f"작업 #{job.id} ({job.date.isoformat()})의 배정이 거절되었습니다: {reason}",
        "declined",
    )


# ---- volunteer slots ---------------------------------------------------------------------------


def is_volunteer(principal: Principal) -> bool:
    user = principal.user
    return (
        principal.role == Role.CLEANER
        and user.cleaner_type == CleanerType.VOLUNTEER
        and user.status == UserStatus.ACTIVE
    )


def ensure_volunteer(principal: Principal) -> None:
    if not is_volunteer(principal):
        raise errors.Forbidden()


def _slot_scope(db: Session, principal: Principal) -> list[int]:
    return principal.scope_org_ids(db) if principal.is_admin else [principal.org.id]


def get_slot(db: Session, principal: Principal, job_id: int, *, for_update: bool = False) -> Job:
    """A slot is a CLEANING job of the volunteer's district (admins: of their subtree)."""
    job = db.execute(_select_job(job_id, for_update=for_update)).scalar_one_or_none()
    if job is None or job.type != JobType.CLEANING or job.org_id not in _slot_scope(db, principal):
        raise errors.NotFound()
    return job


def slots_query(
    db: Session,
    principal: Principal,
    *,
    beach_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select[tuple[Job]]:
    """Open volunteer places: CLEANING jobs still to be done, today or later, with volunteer
    places (possibly all taken: applying then joins the waiting list)."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise errors.ValidationFailed.field("query.to", "'to' is before 'from'")
    regular_held = (
        select(func.count(JobAssignee.id))
        .where(
            JobAssignee.job_id == Job.id,
            JobAssignee.kind == AssigneeKind.REGULAR,
            JobAssignee.status.in_(HOLDING),
        )
        .correlate(Job)
        .scalar_subquery()
    )
    stmt = select(Job).where(
        Job.type == JobType.CLEANING,
        Job.org_id.in_(_slot_scope(db, principal)),
        Job.status.in_(WORKING),
        Job.date >= seoul_today(),
        and_(Job.volunteer_slots > 0, Job.headcount - regular_held > 0),
    )
    if beach_id is not None:
        stmt = stmt.where(Job.beach_id == beach_id)
    if date_from is not None:
        stmt = stmt.where(Job.date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Job.date <= date_to)
    return stmt


def present_slots(db: Session, principal: Principal, jobs: Sequence[Job]) -> list[dict[str, Any]]:
    rows = _rows_by_job(db, [j.id for j in jobs])
    beach_ids = {j.beach_id for j in jobs}
    names: dict[int, str] = {}
    if beach_ids:
        names = {
            int(bid): str(name)
            for bid, name in db.execute(select(Beach.id, Beach.beach_name).where(Beach.id.in_(beach_ids)))
        }
    out = []
    for job in jobs:
        state = places(job, rows[job.id])
        mine = next((r for r in rows[job.id] if r.user_id == principal.id), None)
        out.append(
            {
                "id": job.id,
                "job_id": job.id,
                "org_id": job.org_id,
                "beach_id": job.beach_id,
                "beach_name": names.get(job.beach_id, ""),
                "area_names": list(job.area_names or []),
                "date": job.date,
                "team_id": job.team_id,
                "job_status": job.status,
                "volunteer_slots": state.volunteer_slots,
                "taken": state.volunteers,
                "remaining": state.remaining,
                "waiting": state.waiting,
                "my_application": {"status": mine.status, "position": mine.position} if mine else None,
                "created_at": job.created_at,
            }
        )
    return out


def apply(db: Session, principal: Principal, job_id: int) -> tuple[JobAssignee, ApplicationStatus]:
    """Take a volunteer place, or a place on the waiting list when none is free."""
    ensure_volunteer(principal)
    job = get_slot(db, principal, job_id, for_update=True)
    _ensure_working(job)
    if job.date < seoul_today() or job.volunteer_slots <= 0:
        raise errors.InvalidState()
    if job.team_id is not None:
        team = db.get(Team, job.team_id)
        if team is None or team.status != TeamStatus.ACTIVE:
            raise errors.InvalidState()
    rows = rows_of(db, job.id)
    row = next((r for r in rows if r.user_id == principal.id), None)
    if row is not None and row.status != AssigneeStatus.DECLINED:
        raise errors.Conflict()
    now = utcnow()
    state = places(job, rows)
    granted = state.volunteers < state.volunteer_slots and state.waiting == 0
    if row is None:
        row = JobAssignee(job_id=job.id, user_id=principal.id)
        db.add(row)
        rows.append(row)
    row.created_at = now
    row.updated_at = now
    row.kind = AssigneeKind.VOLUNTEER
    row.status = AssigneeStatus.ASSIGNED if granted else AssigneeStatus.WAITING
    row.reason = None
    row.position = APPEND
    db.flush()
    if granted:
        _join_team(db, job, principal.id, principal.id, now, strict=True)
        _first_assignee(job)
    _renumber(rows)
    _touch(job, now)
    db.flush()
    status = ApplicationStatus.APPROVED if granted else ApplicationStatus.WAITING
    audit.record(
        db,
        "SLOT_APPLY",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        after={"user_id": principal.id, "status": status.value, "position": row.position},
    )
    return row, status


def withdraw(db: Session, principal: Principal, job_id: int) -> None:
    """Give back a volunteer place (the first waiting applicant gets it) or leave the waiting list."""
    ensure_volunteer(principal)
    job = get_slot(db, principal, job_id, for_update=True)
    rows = rows_of(db, job.id)
    row = next((r for r in rows if r.user_id == principal.id and r.kind == AssigneeKind.VOLUNTEER), None)
    if row is None:
        raise errors.NotFound()
    _ensure_working(job)
    if row.status not in (*HOLDING, AssigneeStatus.WAITING):
        raise errors.InvalidState()
    now = utcnow()
    held = row.status in HOLDING
    before = {"user_id": row.user_id, "status": row.status, "position": row.position}
    rows.remove(row)
    if held:
        _leave_team(db, job, row, principal.id, now)
    db.delete(row)
    db.flush()
    promoted = _promote(db, job, rows, principal.id, now) if held else []
    _renumber(rows)
    _touch(job, now)
    db.flush()
    audit.record(
        db,
        "SLOT_WITHDRAW",
        actor_id=principal.id,
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"user_id": principal.id, "promoted_ids": promoted},
    )
    if held and not promoted:
        _notify_admin(
            db,
            job,
            "SLOT_WITHDRAWN",
            principal.id,
            "봉사 자리 취소",
            f"정화 작업 #{job.id} ({job.date.isoformat()})의 봉사자 한 명이 참여를 취소해 자리가 비었습니다.",
            f"withdrawn:{int(now.timestamp())}",
        )


# ---- hooks called by the reports domain --------------------------------------------------------


def on_report_linked(db: Session, job_id: int, report: Any) -> None:
    """A report now references the job: an OPEN or ASSIGNED job is IN_PROGRESS.

    Raises ``NotFound`` for an unknown job and ``InvalidState`` for a cancelled one.
    """
    job = db.execute(_select_job(job_id, for_update=True)).scalar_one_or_none()
    if job is None:
        raise errors.NotFound()
    if job.status == JobStatus.CANCELLED:
        raise errors.InvalidState()
    if job.status not in (JobStatus.OPEN, JobStatus.ASSIGNED):
        return
    before = {"status": job.status}
    job.status = JobStatus.IN_PROGRESS
    _touch(job, utcnow())
    db.flush()
    audit.record(
        db,
        "JOB_START",
        actor_id=getattr(report, "user_id", None),
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"status": job.status, "report_id": getattr(report, "id", None)},
    )


def on_report_submitted(db: Session, report: Any) -> None:
    """A report linked to a job (``report.job_id``) was submitted: the job is DONE."""
    job_id = getattr(report, "job_id", None)
    if job_id is None:
        return
    job = db.execute(_select_job(job_id, for_update=True)).scalar_one_or_none()
    if job is None or job.status not in WORKING:
        return
    before = {"status": job.status}
    job.status = JobStatus.DONE
    _touch(job, utcnow())
    db.flush()
    audit.record(
        db,
        "JOB_COMPLETE",
        actor_id=getattr(report, "user_id", None),
        target_type="JOB",
        target_id=job.id,
        org_id=job.org_id,
        before=before,
        after={"status": job.status, "report_id": getattr(report, "id", None)},
    )
