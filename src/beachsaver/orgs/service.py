"""Organisations: the tree, codes and scope (the set of org ids a caller may see)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.enums import OrgType, Role
from beachsaver.orgs.models import Organization

CODE_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)?$")
ROOT_CODE = "PLATFORM"


def ensure_root(db: Session) -> Organization:
    root = db.execute(select(Organization).where(Organization.code == ROOT_CODE)).scalar_one_or_none()
    if root is None:
        root = Organization(name="Beach-Saver", code=ROOT_CODE, type=OrgType.PLATFORM, parent_id=None)
        db.add(root)
        db.flush()
        root.path = f"/{root.id}/"
        db.flush()
    return root


def get(db: Session, org_id: int) -> Organization | None:
    return db.get(Organization, org_id)


def by_code(db: Session, code: str) -> Organization | None:
    return db.execute(select(Organization).where(Organization.code == code)).scalar_one_or_none()


def subtree_ids(db: Session, org: Organization) -> list[int]:
    return list(db.execute(select(Organization.id).where(Organization.path.startswith(org.path))).scalars())


def ancestors(db: Session, org: Organization) -> list[Organization]:
    ids = [int(part) for part in org.path.strip("/").split("/") if part]
    if not ids:
        return [org]
    return list(db.execute(select(Organization).where(Organization.id.in_(ids))).scalars())


def in_subtree(org: Organization, root: Organization) -> bool:
    return org.path.startswith(root.path)


CHILD_TYPE = {OrgType.PLATFORM: OrgType.CITY, OrgType.CITY: OrgType.DISTRICT}


def create(
    db: Session, *, actor_id: int | None, name: str, code: str, type: OrgType, parent: Organization
) -> Organization:
    problems: list[dict[str, str]] = []
    if CHILD_TYPE.get(OrgType(parent.type)) != type:
        problems.append(
            {
                "field": "parent_id",
                "message": f"a {type} must have a {'PLATFORM' if type == OrgType.CITY else 'CITY'} parent",
            }
        )
    if not CODE_RE.match(code):
        problems.append({"field": "code", "message": "code must match ^[A-Z0-9]+(-[A-Z0-9]+)?$"})
    elif type == OrgType.DISTRICT and not code.startswith(parent.code + "-"):
        problems.append({"field": "code", "message": f"a district code starts with '{parent.code}-'"})
    elif type == OrgType.CITY and "-" in code:
        problems.append({"field": "code", "message": "a city code has no '-'"})
    if problems:
        raise errors.ValidationFailed(details=problems)
    if by_code(db, code) is not None:
        raise errors.Conflict("duplicate_code")
    org = Organization(name=name, code=code, type=type, parent_id=parent.id)
    try:
        with db.begin_nested():
            db.add(org)
            db.flush()
    except IntegrityError:
        # A concurrent request took the code between the check and the insert.
        raise errors.Conflict("duplicate_code") from None
    org.path = f"{parent.path}{org.id}/"
    db.flush()
    audit.record(
        db,
        "ORGANIZATION_CREATE",
        actor_id=actor_id,
        target_type="ORGANIZATION",
        target_id=org.id,
        org_id=org.id,
        # "org_code", not "code": the audit log masks any "code" key (one-time codes).
        after={"name": name, "org_code": code, "type": str(type), "parent_id": parent.id},
    )
    return org


def visible_ids(db: Session, org: Organization, *, is_admin: bool) -> list[int]:
    """What ``GET /api/organizations`` shows: admins their subtree, workers their own
    organisation and its ancestors."""
    if is_admin:
        return subtree_ids(db, org)
    return [o.id for o in ancestors(db, org)]


#: Who creates and renames each type: cities platform admins, districts city admins (and up).
CHANGER = {OrgType.CITY: Role.PLATFORM_ADMIN, OrgType.DISTRICT: Role.CITY_ADMIN}


def may_change(role: Role, org_type: OrgType) -> bool:
    needed = CHANGER.get(org_type)
    return needed is not None and role.tier >= needed.tier


def rename(db: Session, *, actor_id: int | None, org: Organization, name: str) -> Organization:
    before = {"name": org.name}
    org.name = name
    db.flush()
    audit.record(
        db,
        "ORGANIZATION_UPDATE",
        actor_id=actor_id,
        target_type="ORGANIZATION",
        target_id=org.id,
        org_id=org.id,
        before=before,
        after={"name": name},
    )
    return org
