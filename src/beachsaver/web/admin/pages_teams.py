"""The console's team pages (ADM-04, 04a–b): the team list, a new team (district, leader, members),
and a team's detail with its members (add, remove, change the leader), rename and disband.

Reads go through the teams service (scope from the principal); changes are forms sent to
``/api/teams`` by ``api.js``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.core.deps import DbSession
from beachsaver.core.enums import MembershipStatus, OrgType, Role, TeamRole, TeamStatus, UserStatus
from beachsaver.core.paging import paginate, parse_sort
from beachsaver.teams import service as team_service
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.teams.router import TEAM_SORT
from beachsaver.teams.schemas import MAX_MEMBERS
from beachsaver.users.models import User
from beachsaver.web import common, listing
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)

#: G-14: teams are listed 10 per page by default.
TEAM_PAGE_SIZE = 10


def _people(db: Session, ids: set[int]) -> dict[int, dict[str, str]]:
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.nickname, User.system_id).where(User.id.in_(ids))).all()
    return {int(r.id): {"nickname": str(r.nickname), "system_id": str(r.system_id)} for r in rows}


def _active_cleaners(db: Session, district_id: int) -> list[User]:
    """Who may join a team of the district (the service checks it again)."""
    return list(
        db.execute(
            select(User)
            .where(User.org_id == district_id, User.role == Role.CLEANER, User.status == UserStatus.ACTIVE)
            .order_by(User.nickname, User.id)
        ).scalars()
    )


@router.get("/teams")
def teams_page(
    request: Request,
    db: DbSession,
    q: str = "",
    status: str = "ACTIVE",
    org_id: str = "",
    page: str = "",
    size: str = "",
    sort: str = "",
) -> Response:
    principal = common.admin_principal(request, db)
    chosen_status = None if status == "ALL" else listing.choice(TeamStatus, status, "status")
    chosen_org = listing.whole_number(org_id, "org_id", 0, 0) or None
    keyword = q.strip()[:100]
    params = listing.page_params(page, size, TEAM_PAGE_SIZE, sort=sort, sortable=TEAM_SORT)
    stmt = team_service.list_query(db, principal, org_id=chosen_org, status=chosen_status, q=keyword)
    rows, meta = paginate(db, stmt, params, parse_sort(params, TEAM_SORT, [Team.created_at.desc(), Team.id.desc()]))
    orgs = listing.orgs_in_scope(db, principal)
    names = listing.org_names(orgs)
    leaders = _people(db, {t.leader_id for t in rows if t.leader_id})
    teams = [
        {
            **shown,
            "org_name": names.get(shown["org_id"], ""),
            "leader": leaders.get(shown["leader_id"] or 0),
            "created": listing.local_date(shown["created_at"]),
        }
        for shown in team_service.present_many(db, rows)
    ]
    return render(
        request,
        "admin/teams/list.html",
        nav="teams",
        teams=teams,
        meta=meta,
        pager=listing.pager(request, meta),
        sorts=listing.sort_links(request, params.sort or "", ("name", "status", "created_at")),
        q=keyword,
        status="ALL" if chosen_status is None else chosen_status.value,
        statuses=list(TeamStatus),
        org_id=chosen_org,
        orgs=[o for o in orgs if o.type != OrgType.PLATFORM] if len(orgs) > 1 else [],
    )


@router.get("/teams/new")
def new_team_page(request: Request, db: DbSession, org_id: str = "") -> Response:
    principal = common.admin_principal(request, db)
    districts = [o for o in listing.orgs_in_scope(db, principal) if o.type == OrgType.DISTRICT]
    wanted = listing.whole_number(org_id, "org_id", 0, 0)
    district = next((o for o in districts if o.id == wanted), districts[0] if districts else None)
    return render(
        request,
        "admin/teams/new.html",
        nav="teams",
        districts=districts,
        district=district,
        cleaners=_active_cleaners(db, district.id) if district else [],
        max_members=MAX_MEMBERS,
    )


@router.get("/teams/{team_id:int}")
def team_page(request: Request, db: DbSession, team_id: int) -> Response:
    principal = common.admin_principal(request, db)
    team = team_service.get_visible(db, principal, listing.path_id(team_id))
    shown = team_service.present_one(db, team)
    history = list(
        db.execute(
            team_service.members_query(team.id).order_by(TeamMembership.joined_at.desc(), TeamMembership.id.desc())
        ).scalars()
    )
    rows = team_service.present_members(db, history)
    people = _people(db, {r["user_id"] for r in rows} | ({team.leader_id} if team.leader_id else set()))
    active: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    for row in rows:
        entry = {
            **row,
            "system_id": people.get(row["user_id"], {}).get("system_id", ""),
            "joined": listing.local_time(row["joined_at"]),
            "left": listing.local_time(row["left_at"]),
        }
        (active if row["status"] == MembershipStatus.ACTIVE else past).append(entry)
    active.sort(key=lambda r: (r["role_in_team"] != TeamRole.LEADER, r["nickname"]))
    member_ids = {r["user_id"] for r in active}
    candidates = [u for u in _active_cleaners(db, team.org_id) if u.id not in member_ids]
    names = listing.org_names(listing.orgs_in_scope(db, principal))
    return render(
        request,
        "admin/teams/detail.html",
        nav="teams",
        team=shown,
        org_name=names.get(team.org_id, ""),
        leader=people.get(team.leader_id or 0),
        active_members=active,
        past_members=past[:100],
        candidates=candidates,
        is_active=team.status == TeamStatus.ACTIVE,
        full=len(active) >= MAX_MEMBERS,
        max_members=MAX_MEMBERS,
        created=listing.local_time(team.created_at),
        disbanded=listing.local_time(team.disbanded_at),
    )
