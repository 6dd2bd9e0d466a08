"""Teams: composition rules, leader changes, membership history and scope.

A team belongs to a district and holds 1–20 ``ACTIVE`` ``CLEANER`` members of that district,
the leader included. Membership is history: every stint (and every change of role) is a row
that is closed with ``left_at`` and status ``LEFT``; a person has at most one ``ACTIVE`` row per
team. Mutations lock the team row first so that concurrent changes of one team serialise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.deps import Principal
from beachsaver.core.enums import MembershipStatus, OrgType, Role, TeamRole, TeamStatus, UserStatus
from beachsaver.core.time import utcnow
from beachsaver.orgs import service as org_service
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.teams.schemas import MAX_MEMBERS, TeamCreate, TeamUpdate
from beachsaver.users.models import User

NOT_ELIGIBLE = "must be an active cleaner of the team's district"


# ---- hooks filled by other domains -------------------------------------------------------------


def has_draft_cleaning_report(db: Session, team_id: int) -> bool:
    """Whether the team has a ``DRAFT`` cleaning report (disbanding then answers 409)."""
    from beachsaver.reports.models import Report

    return (
        db.execute(
            select(Report.id)
            .where(
                Report.team_id == team_id,
                Report.type == "CLEANING",
                Report.status == "DRAFT",
                Report.deleted_at.is_(None),
            )
            .limit(1)
        ).first()
        is not None
    )


# ---- look-ups and scope ------------------------------------------------------------------------


def active_team_ids(user_id: int) -> Select[tuple[int]]:
    """Ids of the teams ``user_id`` is an active member of (a sub-query; also for other domains)."""
    return select(TeamMembership.team_id).where(
        TeamMembership.user_id == user_id, TeamMembership.status == MembershipStatus.ACTIVE
    )


def can_see(db: Session, principal: Principal, team: Team) -> bool:
    """Admins: teams of their subtree. Workers: teams they are an active member of."""
    if principal.is_admin:
        return principal.can_see_org(db, team.org_id)
    return active_membership(db, team.id, principal.id) is not None


def get_visible(db: Session, principal: Principal, team_id: int, *, for_update: bool = False) -> Team:
    stmt = select(Team).where(Team.id == team_id)
    if for_update:
        stmt = stmt.with_for_update()
    team = db.execute(stmt).scalar_one_or_none()
    if team is None or not can_see(db, principal, team):
        raise errors.NotFound()
    return team


def active_membership(db: Session, team_id: int, user_id: int) -> TeamMembership | None:
    return db.execute(
        select(TeamMembership).where(
            TeamMembership.team_id == team_id,
            TeamMembership.user_id == user_id,
            TeamMembership.status == MembershipStatus.ACTIVE,
        )
    ).scalar_one_or_none()


def list_query(
    db: Session,
    principal: Principal,
    *,
    org_id: int | None = None,
    status: TeamStatus | None = None,
    q: str | None = None,
) -> Select[tuple[Team]]:
    scope = principal.scope_org_ids(db)
    stmt = select(Team).where(Team.org_id.in_(scope))
    if not principal.is_admin:
        stmt = stmt.where(Team.id.in_(active_team_ids(principal.id)))
    if org_id is not None:
        org = org_service.get(db, org_id)
        if org is None or org.id not in scope:
            raise errors.NotFound()
        stmt = stmt.where(Team.org_id.in_(org_service.subtree_ids(db, org)))
    if status is not None:
        stmt = stmt.where(Team.status == status)
    if q:
        stmt = stmt.where(func.lower(Team.name).contains(q.lower(), autoescape=True))
    return stmt


def member_counts(db: Session, team_ids: Iterable[int]) -> dict[int, int]:
    """Active members per team, in one grouped query."""
    ids = list(team_ids)
    if not ids:
        return {}
    rows = db.execute(
        select(TeamMembership.team_id, func.count(TeamMembership.id))
        .where(TeamMembership.team_id.in_(ids), TeamMembership.status == MembershipStatus.ACTIVE)
        .group_by(TeamMembership.team_id)
    ).all()
    return {int(team_id): int(count) for team_id, count in rows}


def present(team: Team, member_count: int) -> dict[str, Any]:
    return {
        "id": team.id,
        "org_id": team.org_id,
        "name": team.name,
        "status": team.status,
        "leader_id": team.leader_id,
        "member_count": member_count,
        "created_at": team.created_at,
        "updated_at": team.updated_at,
        "disbanded_at": team.disbanded_at,
    }


def present_many(db: Session, teams: Sequence[Team]) -> list[dict[str, Any]]:
    counts = member_counts(db, [t.id for t in teams])
    return [present(t, counts.get(t.id, 0)) for t in teams]


def present_one(db: Session, team: Team) -> dict[str, Any]:
    return present(team, member_counts(db, [team.id]).get(team.id, 0))


def members_query(team_id: int, status: MembershipStatus | None = None) -> Select[tuple[TeamMembership]]:
    stmt = select(TeamMembership).where(TeamMembership.team_id == team_id)
    if status is not None:
        stmt = stmt.where(TeamMembership.status == status)
    return stmt


def present_members(db: Session, rows: Sequence[TeamMembership]) -> list[dict[str, Any]]:
    """Membership rows with the members' nicknames (one query for the whole page)."""
    user_ids = {m.user_id for m in rows}
    nicknames: dict[int, str] = {}
    if user_ids:
        nicknames = {
            int(uid): str(nick)
            for uid, nick in db.execute(select(User.id, User.nickname).where(User.id.in_(user_ids))).all()
        }
    return [
        {
            "id": m.id,
            "user_id": m.user_id,
            "nickname": nicknames.get(m.user_id, ""),
            "role_in_team": m.role_in_team,
            "status": m.status,
            "joined_at": m.joined_at,
            "left_at": m.left_at,
        }
        for m in rows
    ]


def snapshot(team: Team) -> dict[str, Any]:
    return {"name": team.name, "org_id": team.org_id, "leader_id": team.leader_id, "status": team.status}


# ---- rules ------------------------------------------------------------------------------------


def _check_candidates(db: Session, principal: Principal, district_id: int, candidates: list[tuple[str, int]]) -> None:
    """Each (field, user_id) must be visible to the caller (else 404) and an ACTIVE CLEANER of the
    district (else 400 naming every field at fault)."""
    if not candidates:
        return
    ids = {uid for _, uid in candidates}
    found = {
        int(row.id): row
        for row in db.execute(select(User.id, User.org_id, User.role, User.status).where(User.id.in_(ids))).all()
    }
    scope = principal.scope_org_ids(db)
    for _, uid in candidates:
        row = found.get(uid)
        if row is None or row.org_id not in scope:
            raise errors.NotFound()
    problems = []
    for field, uid in candidates:
        row = found[uid]
        if row.role != Role.CLEANER or row.status != UserStatus.ACTIVE or row.org_id != district_id:
            problems.append({"field": field, "message": NOT_ELIGIBLE})
    if problems:
        raise errors.ValidationFailed(details=problems)


def _name_taken(db: Session, org_id: int, name: str, *, except_id: int | None = None) -> bool:
    stmt = select(Team.id).where(Team.org_id == org_id, func.lower(Team.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Team.id != except_id)
    return db.execute(stmt.limit(1)).first() is not None


def _active_count(db: Session, team_id: int) -> int:
    return int(
        db.execute(
            select(func.count(TeamMembership.id)).where(
                TeamMembership.team_id == team_id, TeamMembership.status == MembershipStatus.ACTIVE
            )
        ).scalar_one()
    )


def _ensure_active(team: Team) -> None:
    if team.status != TeamStatus.ACTIVE:
        raise errors.InvalidState()


def _open(db: Session, team: Team, user_id: int, role: TeamRole, at: Any) -> TeamMembership:
    row = TeamMembership(
        team_id=team.id, user_id=user_id, role_in_team=role, status=MembershipStatus.ACTIVE, joined_at=at
    )
    db.add(row)
    return row


def _close(row: TeamMembership, at: Any) -> None:
    row.status = MembershipStatus.LEFT
    row.left_at = at


def _set_role(db: Session, team: Team, row: TeamMembership, role: TeamRole, at: Any) -> TeamMembership:
    """A change of role is history too: the current row closes and a new one opens."""
    _close(row, at)
    return _open(db, team, row.user_id, role, at)


def _make_leader(db: Session, team: Team, user_id: int, at: Any) -> None:
    """``user_id`` leads from now on; the old leader stays as a ``MEMBER``."""
    old_leader_id = team.leader_id
    if old_leader_id == user_id:
        return
    if old_leader_id is not None:
        old_row = active_membership(db, team.id, old_leader_id)
        if old_row is not None:
            _set_role(db, team, old_row, TeamRole.MEMBER, at)
    row = active_membership(db, team.id, user_id)
    if row is not None:
        _set_role(db, team, row, TeamRole.LEADER, at)
    else:
        if _active_count(db, team.id) >= MAX_MEMBERS:
            raise errors.Conflict("team_full")
        _open(db, team, user_id, TeamRole.LEADER, at)
    team.leader_id = user_id


# ---- changes ----------------------------------------------------------------------------------


def create(db: Session, principal: Principal, body: TeamCreate) -> Team:
    org = org_service.get(db, body.org_id)
    if org is None or not principal.can_see_org(db, org.id):
        raise errors.NotFound()
    if org.type != OrgType.DISTRICT:
        raise errors.ValidationFailed.field("org_id", "a team belongs to a district")
    problems = []
    seen: set[int] = set()
    for i, uid in enumerate(body.member_ids):
        if uid in seen:
            problems.append({"field": f"member_ids[{i}]", "message": "listed twice"})
        seen.add(uid)
    if len(seen | {body.leader_id}) > MAX_MEMBERS:
        problems.append({"field": "member_ids", "message": f"a team has at most {MAX_MEMBERS} members"})
    if problems:
        raise errors.ValidationFailed(details=problems)
    candidates = [("leader_id", body.leader_id)] + [
        (f"member_ids[{i}]", uid) for i, uid in enumerate(body.member_ids) if uid != body.leader_id
    ]
    _check_candidates(db, principal, org.id, candidates)
    if _name_taken(db, org.id, body.name):
        raise errors.Conflict("duplicate_name")

    now = utcnow()
    team = Team(
        org_id=org.id,
        name=body.name,
        status=TeamStatus.ACTIVE,
        leader_id=body.leader_id,
        created_at=now,
        updated_at=now,
    )
    db.add(team)
    db.flush()
    _open(db, team, body.leader_id, TeamRole.LEADER, now)
    member_ids = [uid for uid in dict.fromkeys(body.member_ids) if uid != body.leader_id]
    for uid in member_ids:
        _open(db, team, uid, TeamRole.MEMBER, now)
    db.flush()
    audit.record(
        db,
        "TEAM_CREATE",
        actor_id=principal.id,
        target_type="TEAM",
        target_id=team.id,
        org_id=team.org_id,
        after={**snapshot(team), "member_ids": [body.leader_id, *member_ids]},
    )
    return team


def update(db: Session, principal: Principal, team: Team, body: TeamUpdate) -> Team:
    """Rename, change the leader, disband; the caller has locked ``team``."""
    _ensure_active(team)
    fields = body.model_fields_set
    before = snapshot(team)
    now = utcnow()
    changed = False
    if "name" in fields and body.name is not None and body.name != team.name:
        if _name_taken(db, team.org_id, body.name, except_id=team.id):
            raise errors.Conflict("duplicate_name")
        team.name = body.name
        changed = True
    if "leader_id" in fields and body.leader_id is not None and body.leader_id != team.leader_id:
        _check_candidates(db, principal, team.org_id, [("leader_id", body.leader_id)])
        _make_leader(db, team, body.leader_id, now)
        changed = True
    if changed:
        team.updated_at = now
        db.flush()
        audit.record(
            db,
            "TEAM_UPDATE",
            actor_id=principal.id,
            target_type="TEAM",
            target_id=team.id,
            org_id=team.org_id,
            before=before,
            after=snapshot(team),
        )
    if "status" in fields and body.status == TeamStatus.DISBANDED:
        disband(db, principal, team, now)
    return team


def disband(db: Session, principal: Principal, team: Team, at: Any) -> None:
    """DISBANDED is final: every active membership closes (the history stays)."""
    if has_draft_cleaning_report(db, team.id):
        raise errors.Conflict("team_has_draft_report")
    before = snapshot(team)
    rows = db.execute(members_query(team.id, MembershipStatus.ACTIVE)).scalars().all()
    for row in rows:
        _close(row, at)
    team.status = TeamStatus.DISBANDED
    team.disbanded_at = at
    team.updated_at = at
    db.flush()
    audit.record(
        db,
        "TEAM_DISBAND",
        actor_id=principal.id,
        target_type="TEAM",
        target_id=team.id,
        org_id=team.org_id,
        before=before,
        after={**snapshot(team), "released_member_ids": [r.user_id for r in rows]},
    )
    from beachsaver.notifications import service as notification_service

    notification_service.notify(  # N20: the members hear that their team is dissolved
        db,
        event="TEAM_DISBANDED",
        category="TEAM",
        user_ids=[r.user_id for r in rows],
        title="팀 해산",
        message=f"'{team.name}' 팀이 해산되었습니다.",
        channels=("PUSH",),
        dedupe=f"team:{team.id}:disbanded",
    )


def ensure_may_manage_members(db: Session, principal: Principal, team: Team) -> None:
    """Admins in scope (already checked by visibility) or the team's leader."""
    if principal.is_admin:
        return
    if team.leader_id != principal.id:
        raise errors.Forbidden("team_leader_required")


def add_member(db: Session, principal: Principal, team: Team, user_id: int, role: TeamRole) -> TeamMembership:
    """The caller has locked ``team``. Adding a ``LEADER`` demotes the old leader to ``MEMBER``."""
    _ensure_active(team)
    _check_candidates(db, principal, team.org_id, [("user_id", user_id)])
    if active_membership(db, team.id, user_id) is not None:
        raise errors.Conflict("team_member_exists")
    if _active_count(db, team.id) >= MAX_MEMBERS:
        raise errors.Conflict("team_full")
    now = utcnow()
    before = snapshot(team)
    if role == TeamRole.LEADER:
        _make_leader(db, team, user_id, now)
    else:
        _open(db, team, user_id, TeamRole.MEMBER, now)
    team.updated_at = now
    db.flush()
    row = active_membership(db, team.id, user_id)
    assert row is not None
    audit.record(
        db,
        "TEAM_MEMBER_ADD",
        actor_id=principal.id,
        target_type="TEAM",
        target_id=team.id,
        org_id=team.org_id,
        before={"leader_id": before["leader_id"]},
        after={"user_id": user_id, "role_in_team": str(role), "leader_id": team.leader_id},
    )
    return row


def remove_member(db: Session, principal: Principal, team: Team, user_id: int) -> None:
    """The caller has locked ``team``. The leader cannot leave until another leader is set."""
    _ensure_active(team)
    row = active_membership(db, team.id, user_id)
    if row is None:
        raise errors.NotFound()
    if team.leader_id == user_id or row.role_in_team == TeamRole.LEADER:
        raise errors.Conflict("team_leader_required_to_stay")
    now = utcnow()
    _close(row, now)
    team.updated_at = now
    db.flush()
    audit.record(
        db,
        "TEAM_MEMBER_REMOVE",
        actor_id=principal.id,
        target_type="TEAM",
        target_id=team.id,
        org_id=team.org_id,
        before={"user_id": user_id, "role_in_team": row.role_in_team, "status": MembershipStatus.ACTIVE.value},
        after={"user_id": user_id, "status": MembershipStatus.LEFT.value},
    )
