from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from beachsaver.core.deps import AdminUser, CurrentUser, DbSession, Principal, require_roles
from beachsaver.core.enums import ADMIN_ROLES, MembershipStatus, Role, TeamRole, TeamStatus
from beachsaver.core.envelope import Envelope, ListEnvelope, ok
from beachsaver.core.http import ApiRoute
from beachsaver.core.paging import PageParams, page_params, paginate, parse_filter, parse_sort
from beachsaver.teams import service
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.teams.schemas import MAX_ID, TeamCreate, TeamMemberAdd, TeamMemberOut, TeamOut, TeamUpdate

router = APIRouter(prefix="/api/teams", tags=["teams"], route_class=ApiRoute)

TeamId = Annotated[int, Path(gt=0, le=MAX_ID)]
UserId = Annotated[int, Path(gt=0, le=MAX_ID)]
#: Admins in scope, or a cleaner who leads the team (checked per team).
MemberManager = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES, Role.CLEANER))]

TEAM_SORT = {
    "created_at": Team.created_at,
    "updated_at": Team.updated_at,
    "id": Team.id,
    "name": Team.name,
    "status": Team.status,
}
TEAM_FILTER = {
    "status": lambda v: Team.status == TeamStatus(v),
    "org_id": lambda v: Team.org_id == int(v),
    "leader_id": lambda v: Team.leader_id == int(v),
}
MEMBER_SORT = {
    "joined_at": TeamMembership.joined_at,
    "left_at": TeamMembership.left_at,
    "id": TeamMembership.id,
    "role_in_team": TeamMembership.role_in_team,
    "status": TeamMembership.status,
}
MEMBER_FILTER = {
    "status": lambda v: TeamMembership.status == MembershipStatus(v),
    "role_in_team": lambda v: TeamMembership.role_in_team == TeamRole(v),
    "user_id": lambda v: TeamMembership.user_id == int(v),
}


@router.get("", response_model=ListEnvelope[TeamOut], summary="Teams (admins: scope; workers: my teams)")
def list_teams(
    db: DbSession,
    principal: CurrentUser,
    paging: PageParams = Depends(page_params),
    org_id: int | None = Query(None, gt=0, le=MAX_ID, description="organisation subtree"),
    status: TeamStatus | None = Query(None),
    q: str | None = Query(None, max_length=100, description="contains, on the name"),
) -> dict[str, Any]:
    stmt = service.list_query(db, principal, org_id=org_id, status=status, q=q)
    stmt = stmt.where(*parse_filter(paging, TEAM_FILTER))
    order = parse_sort(paging, TEAM_SORT, [Team.created_at.desc(), Team.id.desc()])
    rows, meta = paginate(db, stmt, paging, order)
    return ok(service.present_many(db, rows), meta)


@router.post("", status_code=201, response_model=Envelope[TeamOut], summary="Create a team")
def create_team(body: TeamCreate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    team = service.create(db, principal, body)
    return ok(service.present_one(db, team))


@router.get("/{team_id}", response_model=Envelope[TeamOut], summary="One team")
def get_team(team_id: TeamId, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    team = service.get_visible(db, principal, team_id)
    return ok(service.present_one(db, team))


@router.patch("/{team_id}", response_model=Envelope[TeamOut], summary="Rename, change the leader or disband")
def update_team(team_id: TeamId, body: TeamUpdate, db: DbSession, principal: AdminUser) -> dict[str, Any]:
    team = service.get_visible(db, principal, team_id, for_update=True)
    service.update(db, principal, team, body)
    return ok(service.present_one(db, team))


@router.get("/{team_id}/members", response_model=ListEnvelope[TeamMemberOut], summary="Membership history of a team")
def list_members(
    team_id: TeamId,
    db: DbSession,
    principal: CurrentUser,
    paging: PageParams = Depends(page_params),
    status: MembershipStatus | None = Query(None),
) -> dict[str, Any]:
    service.get_visible(db, principal, team_id)
    stmt = service.members_query(team_id, status).where(*parse_filter(paging, MEMBER_FILTER))
    order = parse_sort(paging, MEMBER_SORT, [TeamMembership.joined_at.desc(), TeamMembership.id.desc()])
    rows, meta = paginate(db, stmt, paging, order)
    return ok(service.present_members(db, rows), meta)


@router.post("/{team_id}/members", status_code=201, response_model=Envelope[TeamMemberOut], summary="Add a member")
def add_member(team_id: TeamId, body: TeamMemberAdd, db: DbSession, principal: MemberManager) -> dict[str, Any]:
    team = service.get_visible(db, principal, team_id, for_update=True)
    service.ensure_may_manage_members(db, principal, team)
    row = service.add_member(db, principal, team, body.user_id, body.role_in_team)
    return ok(service.present_members(db, [row])[0])


@router.delete("/{team_id}/members/{user_id}", response_model=Envelope[None], summary="Remove a member")
def remove_member(team_id: TeamId, user_id: UserId, db: DbSession, principal: MemberManager) -> dict[str, Any]:
    team = service.get_visible(db, principal, team_id, for_update=True)
    service.ensure_may_manage_members(db, principal, team)
    service.remove_member(db, principal, team, user_id)
    return ok(None)
