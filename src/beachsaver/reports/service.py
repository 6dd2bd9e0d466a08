"""Reports: the three report types, their status machine, duplicates, claims, credit and sync.

Visibility is one SQL clause (``visible_clause``) used by every read, so lists and details can
never disagree and nothing outside the caller's reach is returned.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, false, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.audit import service as audit
from beachsaver.beaches.models import Beach
from beachsaver.core import errors
from beachsaver.core.db import rows_affected
from beachsaver.core.deps import Principal
from beachsaver.core.enums import CleanerType, DepotStatus, ReportStatus, ReportType, Role
from beachsaver.core.geo import haversine_m
from beachsaver.core.runtime import settings_of
from beachsaver.core.time import to_utc, utcnow
from beachsaver.depots.models import CollectionDepot, DepotImage, request_is_live
from beachsaver.images import service as image_service
from beachsaver.images.models import Image
from beachsaver.notifications import service as notification_service
from beachsaver.reports import rules
from beachsaver.reports.models import (
    Contribution,
    ContributionImage,
    Credit,
    Objection,
    Report,
    ReportArea,
    ReportCoWorker,
    ReportImage,
)
from beachsaver.teams.models import Team, TeamMembership
from beachsaver.users.models import User

VISIBLE_TO_WORKERS = (ReportStatus.SUBMITTED, ReportStatus.APPROVED)


# ---- teams (read-only look-ups) ---------------------------------------------------------------


def active_team_ids(db: Session, user_id: int) -> list[int]:
    return list(
        db.execute(
            select(TeamMembership.team_id).where(TeamMembership.user_id == user_id, TeamMembership.status == "ACTIVE")
        ).scalars()
    )


def active_member_ids(db: Session, team_id: int) -> list[int]:
    return list(
        db.execute(
            select(TeamMembership.user_id).where(TeamMembership.team_id == team_id, TeamMembership.status == "ACTIVE")
        ).scalars()
    )


def led_team_ids(db: Session, user_id: int) -> list[int]:
    return list(
        db.execute(
            select(Team.id).where(Team.leader_id == user_id, Team.status == "ACTIVE").order_by(Team.id)
        ).scalars()
    )


# ---- visibility --------------------------------------------------------------------------------


def visible_clause(db: Session, principal: Principal) -> ColumnElement[bool]:
    """Which reports the caller may read (07 §5), as one SQL condition."""
    alive = Report.deleted_at.is_(None)
    if principal.is_admin:
        return and_(alive, Report.org_id.in_(principal.scope_org_ids(db)))
    me = principal.id
    coworker = Report.id.in_(select(ReportCoWorker.report_id).where(ReportCoWorker.user_id == me))
    role = principal.role
    if role == Role.INVESTIGATOR:
        return and_(alive, or_(Report.user_id == me, coworker))
    if role == Role.CLEANER:
        teams = active_team_ids(db, me)
        district_investigations = and_(
            Report.type == ReportType.INVESTIGATION,
            Report.status.in_(VISIBLE_TO_WORKERS),
            Report.org_id == principal.org.id,
        )
        own = or_(Report.user_id == me, coworker, Report.team_id.in_(teams) if teams else false())
        return and_(alive, or_(own, district_investigations))
    if role == Role.COLLECTOR:
        return and_(
            alive,
            Report.type == ReportType.COLLECTION_REQUEST,
            Report.status.in_(VISIBLE_TO_WORKERS),
            Report.org_id == principal.org.id,
        )
    return false()


#: For reports that are only presented: their areas are left to ``present_many``, which reads
#: them as rows with the other parts (no ORM objects for them).
AREAS_BY_PRESENTATION = lazyload(Report.areas)


def get_visible(
    db: Session, principal: Principal, report_id: int, *, for_update: bool = False, to_present: bool = False
) -> Report:
    """A report the principal may see (404 otherwise); ``to_present``: only to be presented."""
    stmt = select(Report).where(Report.id == report_id, visible_clause(db, principal))
    if for_update:
        stmt = stmt.with_for_update()
    if to_present:
        stmt = stmt.options(AREAS_BY_PRESENTATION)
    report = db.execute(stmt).scalar_one_or_none()
    if report is None:
        raise errors.NotFound()
    return report


# ---- presentation --------------------------------------------------------------------------------


def _f(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _in_ids(column: Any) -> ColumnElement[bool]:
    return column.in_(bindparam("ids", expanding=True))


# The parts of reports, read as plain rows by statements built once (their cache keys are
# memoised): no ORM objects, no statement construction per request.
_AREAS = (
    select(*ReportArea.__table__.c)
    .where(_in_ids(ReportArea.report_id))
    .order_by(ReportArea.report_id, ReportArea.position)
)
_IMAGE_LINKS = (
    select(ReportImage.report_id, ReportImage.image_id, ReportImage.area_id)
    .where(_in_ids(ReportImage.report_id))
    .order_by(ReportImage.position)
)
_DEPOTS = (
    select(*CollectionDepot.__table__.c).where(_in_ids(CollectionDepot.report_id)).order_by(CollectionDepot.position)
)
_DEPOT_IMAGES = (
    select(DepotImage.depot_id, DepotImage.image_id).where(_in_ids(DepotImage.depot_id)).order_by(DepotImage.position)
)
_CONTRIBUTIONS = select(*Contribution.__table__.c).where(_in_ids(Contribution.report_id)).order_by(Contribution.id)
_CONTRIBUTION_IMAGES = (
    select(ContributionImage.contribution_id, ContributionImage.image_id)
    .where(_in_ids(ContributionImage.contribution_id))
    .order_by(ContributionImage.position)
)
_CREDITS = (
    select(Credit.report_id, Credit.user_id, Credit.weight, Credit.share, Credit.kg)
    .where(_in_ids(Credit.report_id))
    .order_by(Credit.user_id)
)
_CO_WORKERS = select(ReportCoWorker.report_id, ReportCoWorker.user_id).where(_in_ids(ReportCoWorker.report_id))
_LINKED_REPORTS = select(Report.id, Report.investigation_report_id, Report.cleaning_report_id, Report.type).where(
    Report.deleted_at.is_(None),
    or_(_in_ids(Report.investigation_report_id), _in_ids(Report.cleaning_report_id)),
)


def present_many(db: Session, reports: list[Report]) -> list[dict[str, Any]]:
    """Reports with every part, loaded in a fixed number of queries whatever the page size."""
    if not reports:
        return []
    ids = [r.id for r in reports]
    presented = set(ids)
    db.flush()  # the parts are read on the connection, past the session's autoflush
    connection = db.connection()

    def rows(statement: Any, keys: list[int]) -> list[Any]:
        return list(connection.execute(statement, {"ids": keys})) if keys else []

    # areas not loaded with their reports (``AREAS_BY_PRESENTATION``) are read here
    areas_to_read = {r.id for r in reports if "areas" in sa_inspect(r).unloaded}
    area_rows: dict[int, list[Any]] = defaultdict(list)
    for area in rows(_AREAS, sorted(areas_to_read)):
        area_rows[area.report_id].append(area)
    report_images = rows(_IMAGE_LINKS, ids)
    # parts only some types can have: depots (rules.carries_depots), contributions and credits
    # (cleaning reports), follow-up reports (not collection requests)
    of_type: dict[str, list[int]] = defaultdict(list)
    for r in reports:
        of_type[r.type].append(r.id)
    depots = rows(_DEPOTS, [r.id for r in reports if rules.carries_depots(r.type)])
    depot_images: dict[int, list[int]] = defaultdict(list)
    for depot_id, image_id in rows(_DEPOT_IMAGES, [d.id for d in depots]):
        depot_images[depot_id].append(image_id)
    contributions = rows(_CONTRIBUTIONS, of_type[ReportType.CLEANING])
    contribution_images: dict[int, list[int]] = defaultdict(list)
    for contribution_id, image_id in rows(_CONTRIBUTION_IMAGES, [c.id for c in contributions]):
        contribution_images[contribution_id].append(image_id)
    credits = rows(_CREDITS, of_type[ReportType.CLEANING])
    co_workers = rows(_CO_WORKERS, ids)
    image_ids = {ri.image_id for ri in report_images} | {i for v in depot_images.values() for i in v}
    images = (
        {img.id: img for img in db.execute(select(Image).where(Image.id.in_(image_ids))).scalars()} if image_ids else {}
    )
    cleaning_children: dict[int, int] = {}
    request_children: dict[int, list[int]] = defaultdict(list)
    parents = of_type[ReportType.INVESTIGATION] + of_type[ReportType.CLEANING]
    for child_id, inv_id, clean_id, child_type in rows(_LINKED_REPORTS, parents):
        if child_type == ReportType.CLEANING and inv_id in presented:
            cleaning_children.setdefault(inv_id, child_id)
        if child_type == ReportType.COLLECTION_REQUEST and clean_id in presented:
            request_children[clean_id].append(child_id)

    images_by_report: dict[int, list[Any]] = defaultdict(list)
    for ri in report_images:
        images_by_report[ri.report_id].append(ri)
    depots_by_report: dict[int, list[Any]] = defaultdict(list)
    for depot in depots:
        depots_by_report[depot.report_id].append(depot)
    contributions_by_report: dict[int, list[Any]] = defaultdict(list)
    for c in contributions:
        contributions_by_report[c.report_id].append(c)
    credits_by_report: dict[int, list[Any]] = defaultdict(list)
    for cr in credits:
        credits_by_report[cr.report_id].append(cr)
    coworkers_by_report: dict[int, list[int]] = defaultdict(list)
    for cw in co_workers:
        coworkers_by_report[cw.report_id].append(cw.user_id)

    def image_out(image_id: int) -> dict[str, Any]:
        image = images.get(image_id)
        return image_service.present(db, image) if image is not None else {"id": image_id, "type": "UNKNOWN"}

    out = []
    for r in reports:
        linked = images_by_report[r.id]
        area_images: dict[int, list[int]] = defaultdict(list)
        main_images = []
        for ri in linked:
            if ri.area_id is None:
                main_images.append(ri.image_id)
            else:
                area_images[ri.area_id].append(ri.image_id)
        investigation_link = r.investigation_report_id
        cleaning_link = r.cleaning_report_id
        if r.type == ReportType.INVESTIGATION:
            cleaning_link = cleaning_children.get(r.id)
        out.append(
            {
                "id": r.id,
                "client_id": r.client_id,
                "type": r.type,
                "status": r.status,
                "user_id": r.user_id,
                "team_id": r.team_id,
                "beach_id": r.beach_id,
                "org_id": r.org_id,
                "job_id": r.job_id,
                "investigation_report_id": r.investigation_report_id,
                "cleaning_report_id": r.cleaning_report_id,
                "investigation_at": r.investigation_at,
                "cleaning_at": r.cleaning_at,
                "weather": r.weather,
                "disaster_type": r.disaster_type,
                "gps_lat": _f(r.gps_lat),
                "gps_lng": _f(r.gps_lng),
                "note": r.note,
                "reject_reason": r.reject_reason,
                "coastline_m": _f(r.coastline_m),
                "co_worker_ids": sorted(coworkers_by_report[r.id]),
                "areas": [
                    {
                        "id": a.id,
                        "area_name": a.area_name,
                        "start_latitude": _f(a.start_latitude),
                        "start_longitude": _f(a.start_longitude),
                        "end_latitude": _f(a.end_latitude),
                        "end_longitude": _f(a.end_longitude),
                        "trash_amount_est_l": _f(a.trash_amount_est_l),
                        "trash_amount_kg": _f(a.trash_amount_kg),
                        "bag_count": a.bag_count,
                        "main_trash_type": a.main_trash_type,
                        "note": a.note,
                        "investigation_area_id": a.investigation_area_id,
                        "images": [image_out(i) for i in area_images[a.id]],
                    }
                    for a in (area_rows[r.id] if r.id in areas_to_read else r.areas)
                ],
                "images": [image_out(i) for i in main_images],
                "collection_depots": [present_depot(db, d, depot_images[d.id], images) for d in depots_by_report[r.id]],
                "contributions": [
                    {
                        "id": c.id,
                        "user_id": c.user_id,
                        "note": c.note,
                        "bags": c.bags,
                        "kg": _f(c.kg),
                        "hours": _f(c.hours),
                        "image_ids": contribution_images[c.id],
                        "created_at": c.created_at,
                    }
                    for c in contributions_by_report[r.id]
                ],
                "credits": [
                    {"user_id": c.user_id, "weight": float(c.weight), "share": float(c.share), "kg": float(c.kg)}
                    for c in credits_by_report[r.id]
                ],
                "links": {
                    "investigation": investigation_link,
                    "cleaning": cleaning_link,
                    "collection_requests": sorted(request_children.get(r.id, [])),
                },
                "duplicate_of_id": r.duplicate_of_id,
                "claimed_by_team_id": r.claimed_by_team_id,
                "claimed_at": r.claimed_at,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "submitted_at": r.submitted_at,
            }
        )
    return out


def present(db: Session, report: Report) -> dict[str, Any]:
    return present_many(db, [report])[0]


def present_depot(
    db: Session, depot: CollectionDepot | Row[Any], image_ids: list[int], images: dict[int, Image] | None = None
) -> dict[str, Any]:
    """A depot (an ORM object or a row of its table) as the wire format has it."""
    photo_url = None
    if image_ids:
        image = (images or {}).get(image_ids[0]) or db.get(Image, image_ids[0])
        if image is not None:
            photo_url = image_service.present(db, image).get("file_url")
    return {
        "id": depot.id,
        "report_id": depot.report_id,
        "org_id": depot.org_id,
        "name": depot.name,
        "address": depot.address,
        "latitude": _f(depot.latitude),
        "longitude": _f(depot.longitude),
        "status": depot.status,
        "collector_id": depot.collector_id,
        "photo_url": photo_url,
        "image_ids": image_ids,
        "estimated_kg": _f(depot.estimated_kg),
        "collected_amount": _f(depot.collected_amount),
        "collection_completed_at": depot.collection_completed_at,
        "note": depot.note,
        "created_at": depot.created_at,
    }


# ---- content -------------------------------------------------------------------------------------


def stored_content(db: Session, report: Report) -> dict[str, Any]:
    """The report as the submission rules see it."""
    depots = (
        list(db.execute(select(CollectionDepot).where(CollectionDepot.report_id == report.id)).scalars())
        if rules.carries_depots(report.type)
        else []
    )
    depot_photos: dict[int, list[int]] = defaultdict(list)
    if depots:
        for row in db.execute(select(DepotImage).where(DepotImage.depot_id.in_([d.id for d in depots]))).scalars():
            depot_photos[row.depot_id].append(row.image_id)
    return {
        "beach_id": report.beach_id,
        "investigation_at": report.investigation_at,
        "cleaning_at": report.cleaning_at,
        "areas": [
            {
                "area_name": a.area_name,
                "start_latitude": a.start_latitude,
                "start_longitude": a.start_longitude,
                "end_latitude": a.end_latitude,
                "end_longitude": a.end_longitude,
                "trash_amount_est_l": a.trash_amount_est_l,
                "trash_amount_kg": a.trash_amount_kg,
                "main_trash_type": a.main_trash_type,
            }
            for a in report.areas
        ],
        "collection_depots": [
            {"name": d.name, "latitude": d.latitude, "longitude": d.longitude, "image_ids": depot_photos[d.id]}
            for d in depots
        ],
    }


def coastline_m(areas: list[ReportArea]) -> Decimal | None:
    total = 0.0
    counted = False
    for a in areas:
        if None in (a.start_latitude, a.start_longitude, a.end_latitude, a.end_longitude):
            continue
        total += haversine_m(
            (float(a.start_latitude), float(a.start_longitude)),  # type: ignore[arg-type]
            (float(a.end_latitude), float(a.end_longitude)),  # type: ignore[arg-type]
        )
        counted = True
    return Decimal(str(round(total, 2))) if counted else None


@dataclass
class Authoring:
    team: Team | None


def _is_volunteer(user: User) -> bool:
    return user.cleaner_type == CleanerType.VOLUNTEER


def check_author(db: Session, principal: Principal, report_type: ReportType, team_id: int | None) -> Authoring:
    """07 §6: who may create (and submit) each type; returns the team when there is one."""
    if report_type == ReportType.INVESTIGATION or team_id is None:
        check_solo_author(principal, report_type)
        return Authoring(team=None)
    if principal.role != Role.CLEANER:
        raise errors.Forbidden()
    team = db.get(Team, team_id)
    if team is None or team.org_id != principal.org.id:
        raise errors.NotFound()
    if team.status != "ACTIVE":
        raise errors.InvalidState()
    if team.leader_id != principal.id:
        raise errors.Forbidden("team_leader_required")
    return Authoring(team=team)


def check_solo_author(principal: Principal, report_type: ReportType) -> None:
    """``check_author`` for a report without a team (every investigation is one): no look-up."""
    role = principal.role
    if report_type == ReportType.INVESTIGATION:
        if role != Role.INVESTIGATOR:
            raise errors.Forbidden()
        return
    if role != Role.CLEANER or _is_volunteer(principal.user):
        raise errors.Forbidden()


def _beach_in_district(db: Session, principal: Principal, beach_id: int | None) -> Beach | None:
    if beach_id is None:
        return None
    beach = db.get(Beach, beach_id)
    if beach is None or beach.org_id != principal.org.id:
        raise errors.NotFound()
    return beach


def allowed_uploaders(db: Session, report: Report) -> set[int]:
    allowed = {report.user_id}
    if report.team_id is not None:
        allowed.update(active_member_ids(db, report.team_id))
    return allowed


def _check_references(db: Session, principal: Principal, report: Report, content: Any, fields: set[str]) -> None:
    """Chain links: investigation → cleaning → collection request (same district, visible)."""
    if "investigation_report_id" in fields and content.investigation_report_id is not None:
        if report.type != ReportType.CLEANING:
            raise errors.ValidationFailed.field(
                "investigation_report_id", "only cleaning reports follow an investigation"
            )
        inv = db.get(Report, content.investigation_report_id)
        if (
            inv is None
            or inv.deleted_at is not None
            or inv.type != ReportType.INVESTIGATION
            or inv.org_id != report.org_id
            or inv.status not in VISIBLE_TO_WORKERS
        ):
            raise errors.NotFound()
        team_id = report.team_id
        if inv.claimed_by_team_id is not None and inv.claimed_by_team_id != team_id:
            raise errors.Conflict()
        if inv.claimed_by_team_id is None and team_id is not None:
            claim_for_team(db, report_id=inv.id, team_id=team_id, actor_id=principal.id)
    if "cleaning_report_id" in fields and content.cleaning_report_id is not None:
        if report.type != ReportType.COLLECTION_REQUEST:
            raise errors.ValidationFailed.field(
                "cleaning_report_id", "only collection requests follow a cleaning report"
            )
        cleaning = db.get(Report, content.cleaning_report_id)
        if (
            cleaning is None
            or cleaning.deleted_at is not None
            or cleaning.type != ReportType.CLEANING
            or cleaning.org_id != report.org_id
        ):
            raise errors.NotFound()
        if cleaning.user_id != principal.id and cleaning.team_id not in active_team_ids(db, principal.id):
            raise errors.NotFound()
    if "job_id" in fields and content.job_id is not None:
        from beachsaver.jobs.models import Job

        job = db.get(Job, content.job_id)
        if job is None or job.org_id != report.org_id:
            raise errors.NotFound()
        if job.team_id is not None and job.team_id != report.team_id:
            raise errors.ValidationFailed.field("job_id", "the job belongs to another team")


def apply_content(db: Session, principal: Principal, report: Report, content: Any, fields: set[str]) -> None:
    """Write the given fields; a list given replaces the whole list (07 §6)."""
    _apply_fields(db, principal, report, content, fields)
    db.flush()
    _apply_parts(db, principal, report, content, fields)


def _apply_fields(db: Session, principal: Principal, report: Report, content: Any, fields: set[str]) -> None:
    """The checks and the report's own columns of ``apply_content``; nothing is flushed."""
    problems = rules.type_problems(ReportType(report.type), content.model_dump(include=fields))
    if problems:
        raise errors.ValidationFailed(details=problems)
    if "beach_id" in fields:
        _beach_in_district(db, principal, content.beach_id)
        report.beach_id = content.beach_id
    for name in (
        "investigation_at",
        "cleaning_at",
        "weather",
        "disaster_type",
        "note",
        "investigation_report_id",
        "cleaning_report_id",
        "job_id",
    ):
        if name in fields:
            setattr(report, name, getattr(content, name))
    for name in ("gps_lat", "gps_lng"):
        if name in fields:
            value = getattr(content, name)
            setattr(report, name, Decimal(str(value)) if value is not None else None)
    _check_references(db, principal, report, content, fields)


def _apply_parts(db: Session, principal: Principal, report: Report, content: Any, fields: set[str]) -> None:
    """The lists of ``apply_content`` (co-workers, areas, images, depots), on a report with an id."""
    report_type = ReportType(report.type)
    uploaders = allowed_uploaders(db, report)
    if "co_worker_ids" in fields:
        _replace_co_workers(db, principal, report, content.co_worker_ids or [])
    if "areas" in fields:
        _replace_areas(db, report, content.areas or [], uploaders)
    if "images" in fields:
        db.execute(delete(ReportImage).where(ReportImage.report_id == report.id, ReportImage.area_id.is_(None)))
        images = image_service.resolve_for_attachment(
            db,
            content.images or [],
            allowed_uploaders=uploaders,
            allowed_types={str(t) for t in rules.MAIN_IMAGE_TYPES[report_type]},
            field="images",
        )
        for position, image in enumerate(images):
            db.add(ReportImage(report_id=report.id, image_id=image.id, position=position))
    if "collection_depots" in fields:
        _replace_depots(db, report, content.collection_depots or [], uploaders)
    report.coastline_m = coastline_m(report.areas)


def _replace_co_workers(db: Session, principal: Principal, report: Report, ids: list[int]) -> None:
    ids = list(dict.fromkeys(ids))
    if ids:
        found = set(
            db.execute(
                select(User.id).where(User.id.in_(ids), User.org_id == report.org_id, User.status == "ACTIVE")
            ).scalars()
        )
        for i, user_id in enumerate(ids):
            if user_id not in found:
                raise errors.ValidationFailed.field(f"co_worker_ids[{i}]", "not an active worker of this district")
    db.execute(delete(ReportCoWorker).where(ReportCoWorker.report_id == report.id))
    for user_id in ids:
        if user_id != report.user_id:
            db.add(ReportCoWorker(report_id=report.id, user_id=user_id))


def _dec(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _replace_areas(db: Session, report: Report, areas: list[Any], uploaders: set[int]) -> None:
    report_type = ReportType(report.type)
    report.areas.clear()
    db.flush()
    rows = [
        ReportArea(
            position=position,
            area_name=area.area_name,
            start_latitude=_dec(area.start_latitude),
            start_longitude=_dec(area.start_longitude),
            end_latitude=_dec(area.end_latitude),
            end_longitude=_dec(area.end_longitude),
            trash_amount_est_l=area.trash_amount_est_l,
            trash_amount_kg=area.trash_amount_kg,
            bag_count=area.bag_count,
            main_trash_type=area.main_trash_type,
            note=area.note,
            investigation_area_id=area.investigation_area_id,
        )
        for position, area in enumerate(areas)
    ]
    report.areas.extend(rows)
    db.flush()  # one INSERT for every area (MariaDB returns their ids), not one per area
    for position, (area, row) in enumerate(zip(areas, rows, strict=True)):
        images = image_service.resolve_for_attachment(
            db,
            area.image_ids or [],
            allowed_uploaders=uploaders,
            allowed_types={str(t) for t in rules.AREA_IMAGE_TYPES[report_type]},
            field=f"areas[{position}].image_ids",
        )
        for image_position, image in enumerate(images):
            db.add(ReportImage(report_id=report.id, image_id=image.id, area_id=row.id, position=image_position))


def _depot_photo_ids(depot: Any) -> list[int]:
    ids = list(depot.image_ids or [])
    if depot.photo is not None and depot.photo not in ids:
        ids.insert(0, depot.photo)
    return ids


def add_depot_rows(
    db: Session,
    report: Report,
    depots: list[Any],
    uploaders: set[int],
    *,
    start: int = 0,
    status: str | None = None,
    field: str = "collection_depots",
) -> list[CollectionDepot]:
    created = []
    for offset, depot in enumerate(depots):
        row = CollectionDepot(
            report_id=report.id,
            org_id=report.org_id,
            position=start + offset,
            name=depot.name,
            address=depot.address,
            latitude=_dec(depot.latitude),
            longitude=_dec(depot.longitude),
            note=depot.note or depot.description,
            estimated_kg=depot.estimated_kg,
            status=status,
            request_live=request_is_live(report.status, report.deleted_at),
        )
        db.add(row)
        db.flush()
        photos = image_service.resolve_for_attachment(
            db,
            _depot_photo_ids(depot),
            allowed_uploaders=uploaders,
            allowed_types={str(t) for t in rules.DEPOT_IMAGE_TYPES},
            field=f"{field}[{offset}].image_ids",
        )
        for position, image in enumerate(photos):
            db.add(DepotImage(depot_id=row.id, image_id=image.id, position=position))
        created.append(row)
    return created


def _replace_depots(db: Session, report: Report, depots: list[Any], uploaders: set[int]) -> None:
    if report.status not in (ReportStatus.DRAFT, ReportStatus.REJECTED):
        raise errors.InvalidState()
    db.execute(delete(CollectionDepot).where(CollectionDepot.report_id == report.id))
    add_depot_rows(db, report, depots, uploaders)


# ---- create, replay, edit -------------------------------------------------------------------------


def payload_hash(body: Any) -> str:
    data = body.model_dump(mode="json", exclude={"confirm_duplicate"}, exclude_unset=False)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class CreateOutcome:
    report: Report
    status: str  # CREATED | UPDATED | DUPLICATE


def create(db: Session, principal: Principal, body: Any) -> CreateOutcome:
    """Create a report, or follow the replay rules when this author already sent its client id."""
    client_id = str(body.client_id or uuid.uuid4()).lower()
    digest = payload_hash(body)
    existing = _by_client_id(db, principal.id, client_id)
    if existing is not None:
        return _replay(db, principal, existing, body, digest)
    authoring = check_author(db, principal, ReportType(body.type), body.team_id)
    if body.job_id is not None and authoring.team is None and body.type == ReportType.CLEANING:
        pass
    report = Report(
        client_id=client_id,
        type=ReportType(body.type),
        status=ReportStatus.DRAFT,
        user_id=principal.id,
        team_id=authoring.team.id if authoring.team else None,
        org_id=principal.org.id,
        payload_hash=digest,
        areas=[],  # known empty: no look-up when they are replaced
    )
    fields = set(body.model_fields_set) - {"client_id", "type", "is_draft", "confirm_duplicate", "team_id"}
    _apply_fields(db, principal, report, body, fields)  # inserted with its columns, not updated after
    try:
        with db.begin_nested():
            db.add(report)
            db.flush()
    except IntegrityError:
        # A concurrent send of the same client id won: answer as a replay.
        existing = _by_client_id(db, principal.id, client_id)
        if existing is None:
            raise
        return _replay(db, principal, existing, body, digest)
    _apply_parts(db, principal, report, body, fields)
    audit.record(
        db,
        "REPORT_CREATE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"type": report.type, "client_id": client_id},
    )
    if report.job_id is not None:
        _job_hook("on_report_linked", db, report.job_id, report)
    if not body.is_draft:
        submit(db, principal, report, confirm_duplicate=body.confirm_duplicate)
    return CreateOutcome(report=report, status="CREATED")


def _by_client_id(db: Session, user_id: int, client_id: str) -> Report | None:
    return db.execute(
        select(Report).where(Report.user_id == user_id, Report.client_id == client_id)
    ).scalar_one_or_none()


def _replay(db: Session, principal: Principal, report: Report, body: Any, digest: str) -> CreateOutcome:
    if report.payload_hash == digest and report.deleted_at is None:
        return CreateOutcome(report=report, status="DUPLICATE")
    if report.deleted_at is not None or report.status != ReportStatus.DRAFT:
        raise errors.Conflict()
    if ReportType(body.type) != report.type:
        raise errors.Conflict()
    fields = set(body.model_fields_set) - {"client_id", "type", "is_draft", "confirm_duplicate", "team_id"}
    apply_content(db, principal, report, body, fields)
    report.payload_hash = digest
    audit.record(
        db,
        "REPORT_UPDATE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"replay": True},
    )
    if not body.is_draft:
        submit(db, principal, report, confirm_duplicate=body.confirm_duplicate)
    return CreateOutcome(report=report, status="UPDATED")


def ensure_may_edit(db: Session, principal: Principal, report: Report) -> None:
    if report.team_id is not None:
        team = db.get(Team, report.team_id)
        if team is None or team.leader_id != principal.id:
            raise errors.Forbidden("team_leader_required")
    elif report.user_id != principal.id:
        raise errors.Forbidden()


def edit(db: Session, principal: Principal, report: Report, patch: Any) -> Report:
    fields = set(patch.model_fields_set) - {"status", "reason", "confirm_duplicate"}
    if "status" in patch.model_fields_set and patch.status is not None:
        if fields:
            raise errors.ValidationFailed.field("status", "a status change is not combined with content")
        return change_status(db, principal, report, ReportStatus(patch.status), patch.reason, patch.confirm_duplicate)
    if principal.is_admin:
        raise errors.Forbidden()
    ensure_may_edit(db, principal, report)
    if report.status not in (ReportStatus.DRAFT, ReportStatus.REJECTED):
        raise errors.InvalidState()
    if "team_id" in fields:
        raise errors.ValidationFailed.field("team_id", "the team of a report cannot change")
    if report.status == ReportStatus.REJECTED:
        report.status = ReportStatus.DRAFT
    previous_job = report.job_id
    apply_content(db, principal, report, patch, fields)
    report.payload_hash = None
    if report.job_id is not None and report.job_id != previous_job:
        _job_hook("on_report_linked", db, report.job_id, report)
    audit.record(
        db,
        "REPORT_UPDATE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"fields": sorted(fields)},
    )
    return report


def delete_draft(db: Session, principal: Principal, report: Report) -> None:
    ensure_may_edit(db, principal, report)
    if report.status != ReportStatus.DRAFT:
        raise errors.InvalidState()
    report.deleted_at = utcnow()
    audit.record(
        db,
        "REPORT_DELETE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        before={"status": report.status},
    )


# ---- status machine -------------------------------------------------------------------------------


def change_status(
    db: Session, principal: Principal, report: Report, status: ReportStatus, reason: str | None, confirm: bool
) -> Report:
    if status == ReportStatus.SUBMITTED:
        if principal.is_admin:
            raise errors.Forbidden()
        ensure_may_edit(db, principal, report)
        if report.status not in (ReportStatus.DRAFT, ReportStatus.REJECTED):
            raise errors.InvalidState()
        submit(db, principal, report, confirm_duplicate=confirm)
        return report
    if status in (ReportStatus.APPROVED, ReportStatus.REJECTED):
        if not principal.is_admin:
            raise errors.Forbidden()
        if report.status != ReportStatus.SUBMITTED:
            raise errors.InvalidState()
        if status == ReportStatus.REJECTED and not reason:
            raise errors.ValidationFailed.field("reason", "a reason is required to reject")
        before = {"status": report.status}
        report.status = status
        report.reject_reason = reason if status == ReportStatus.REJECTED else None
        report.reviewed_at = utcnow()
        report.reviewed_by = principal.id
        if status == ReportStatus.REJECTED and rules.carries_depots(report.type):
            # its depots leave the field with it (D46); a resubmission brings them back
            db.execute(update(CollectionDepot).where(CollectionDepot.report_id == report.id).values(request_live=False))
        db.flush()
        verb = "APPROVE" if status == ReportStatus.APPROVED else "REJECT"
        audit.record(
            db,
            f"REPORT_{verb}",
            actor_id=principal.id,
            target_type="REPORT",
            target_id=report.id,
            org_id=report.org_id,
            before=before,
            after={"status": status, "reason": reason},
        )
        notification_service.notify(
            db,
            event=f"REPORT_{verb}D".replace("EED", "ED"),
            category="REPORT",
            user_ids=[report.user_id],
            title="보고서 승인" if verb == "APPROVE" else "보고서 반려",
            message=f"보고서 #{report.id}" + (f" 반려 사유: {reason}" if reason else " 이(가) 승인되었습니다."),
            link=f"/app/reports/{report.id}",
            channels=("PUSH",),
            dedupe=f"report:{report.id}:{verb.lower()}:{utcnow():%Y%m%d%H%M%S%f}",
        )
        return report
    raise errors.InvalidState()


def _position(db: Session, report: Report) -> tuple[float, float] | None:
    if report.gps_lat is not None and report.gps_lng is not None:
        return float(report.gps_lat), float(report.gps_lng)
    for area in report.areas:
        if area.start_latitude is not None and area.start_longitude is not None:
            return float(area.start_latitude), float(area.start_longitude)
    depot = db.execute(
        select(CollectionDepot)
        .where(CollectionDepot.report_id == report.id, CollectionDepot.latitude.is_not(None))
        .order_by(CollectionDepot.position)
        .limit(1)
    ).scalar_one_or_none()
    if depot is not None and depot.latitude is not None and depot.longitude is not None:
        return float(depot.latitude), float(depot.longitude)
    if report.beach_id is not None:
        beach = db.get(Beach, report.beach_id)
        if beach is not None:
            return float(beach.latitude), float(beach.longitude)
    return None


#: Where a report without GPS is placed, in order: its first area start, then its first depot.
_POSITION_FALLBACKS = (
    (ReportArea.report_id, ReportArea.start_latitude, ReportArea.start_longitude, ReportArea.position),
    (CollectionDepot.report_id, CollectionDepot.latitude, CollectionDepot.longitude, CollectionDepot.position),
)


def candidate_positions(
    db: Session, candidates: Sequence[tuple[int, Decimal | None, Decimal | None]], *, chunk: int = 500
) -> dict[int, tuple[float, float]]:
    """``_position`` up to the beach step for many reports given as (id, GPS latitude, longitude)
    rows: the GPS, else the first area start, else the first depot with a position. One statement
    per fallback and chunk of ids, none when every candidate has GPS; a report placed by none of
    them is left out (the caller falls back to its beach)."""
    positions = {rid: (float(lat), float(lng)) for rid, lat, lng in candidates if lat is not None and lng is not None}
    for report_id, lat, lng, position in _POSITION_FALLBACKS:
        missing = [rid for rid, _, _ in candidates if rid not in positions]
        for start in range(0, len(missing), chunk):
            for rid, first_lat, first_lng in db.execute(
                select(report_id, lat, lng)
                .where(report_id.in_(missing[start : start + chunk]), lat.is_not(None), lng.is_not(None))
                .order_by(report_id, position)
            ):
                positions.setdefault(rid, (float(first_lat), float(first_lng)))
    return positions


def find_duplicate(db: Session, report: Report) -> int | None:
    """Another author's live report of the same type and beach within the time window whose
    position (``_position``) lies within the radius: the newest of the 50 nearest in time.

    The candidates are read as rows, their positions in at most two more statements (the first
    area start of those without GPS, then the first depot of those without either), not as 50
    reports with their areas."""
    settings = settings_of(db)
    when = report.event_at or utcnow()
    window = timedelta(hours=getattr(settings, "dup_window_h", 6))
    radius = float(getattr(settings, "dup_radius_m", 200))
    here = _position(db, report)
    if here is None or report.beach_id is None:
        return None
    with db.no_autoflush:  # other authors' rows only: the report's own changes can wait for its next flush
        return _nearest_candidate(db, report, here, when - window, when + window, radius)


def _nearest_candidate(
    db: Session, report: Report, here: tuple[float, float], since: datetime, until: datetime, radius: float
) -> int | None:
    candidates = (
        db.execute(
            select(Report.id, Report.gps_lat, Report.gps_lng)
            .where(
                Report.beach_id == report.beach_id,
                Report.type == report.type,
                Report.status.in_(VISIBLE_TO_WORKERS),
                Report.deleted_at.is_(None),
                Report.user_id != report.user_id,
                Report.id != report.id,
                Report.event_at >= since,
                Report.event_at <= until,
            )
            .order_by(Report.event_at.desc())
            .limit(50)
        )
        .tuples()
        .all()
    )
    positions = candidate_positions(db, candidates)
    if len(positions) < len(candidates):  # placed by nothing of their own: at the beach
        beach = db.get(Beach, report.beach_id)
        if beach is not None:
            for rid, _, _ in candidates:
                positions.setdefault(rid, (float(beach.latitude), float(beach.longitude)))
    for rid, _, _ in candidates:
        there = positions.get(rid)
        if there is not None and haversine_m(here, there) <= radius:
            return int(rid)
    return None


def submit(db: Session, principal: Principal, report: Report, *, confirm_duplicate: bool) -> None:
    report_type = ReportType(report.type)
    if report.team_id is not None:
        ensure_may_edit(db, principal, report)
        report.user_id = principal.id  # the current leader submits and becomes the author
    problems = rules.submission_problems(report_type, stored_content(db, report))
    if problems:
        raise errors.ValidationFailed(details=problems)
    now = utcnow()
    report.event_at = to_utc(report.investigation_at or report.cleaning_at or now)
    duplicate_id = find_duplicate(db, report)
    if duplicate_id is not None:
        if not confirm_duplicate:
            raise errors.DuplicateSuspected(details=[{"field": "existing_report_id", "message": str(duplicate_id)}])
        report.duplicate_of_id = duplicate_id
    report.status = ReportStatus.SUBMITTED
    report.submitted_at = now
    report.reject_reason = None
    db.flush()
    audit.record(
        db,
        "REPORT_SUBMIT",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"status": report.status, "duplicate_of_id": report.duplicate_of_id},
    )
    admins = district_admin_ids(db, report.org_id)
    notification_service.notify(
        db,
        event="REPORT_SUBMITTED",
        category="REPORT",
        user_ids=admins,
        title="새 보고서",
        message=f"{report_type} 보고서 #{report.id}이(가) 제출되었습니다.",
        link=f"/admin/reports/{report.id}",
        channels=("PUSH", "EMAIL"),
        dedupe=f"report:{report.id}:submitted:{now:%Y%m%d%H%M%S%f}",
    )
    if report_type == ReportType.COLLECTION_REQUEST:
        db.execute(
            update(CollectionDepot)
            .where(CollectionDepot.report_id == report.id)
            .values(status=DepotStatus.WAITING, request_live=True)
        )
        collectors = list(
            db.execute(
                select(User.id).where(
                    User.org_id == report.org_id, User.role == Role.COLLECTOR, User.status == "ACTIVE"
                )
            ).scalars()
        )
        notification_service.notify(
            db,
            event="COLLECTION_REQUESTED",
            category="DEPOT",
            user_ids=collectors,
            title="수거 요청",
            message=f"수거 요청 #{report.id}: 새 집하장이 등록되었습니다.",
            link=f"/app/depots?report_id={report.id}",
            channels=("PUSH", "ALIMTALK"),
            dedupe=f"report:{report.id}:collection_requested",
        )
    if report_type == ReportType.CLEANING and report.team_id is not None:
        compute_credits(db, report)
    if report.job_id is not None:
        _job_hook("on_report_submitted", db, report)


def district_admin_ids(db: Session, org_id: int) -> list[int]:
    return list(
        db.execute(
            select(User.id).where(User.org_id == org_id, User.role == Role.DISTRICT_ADMIN, User.status == "ACTIVE")
        ).scalars()
    )


def _job_hook(name: str, db: Session, *args: Any) -> None:
    from beachsaver.jobs import service as job_service

    hook = getattr(job_service, name, None)
    if hook is not None:
        hook(db, *args)


# ---- credit -----------------------------------------------------------------------------------------


def compute_credits(db: Session, report: Report, weights: dict[int, Decimal] | None = None) -> None:
    settings = settings_of(db)
    leader_weight = Decimal(str(getattr(settings, "credit_leader_weight", 1.5)))
    members = active_member_ids(db, report.team_id) if report.team_id else [report.user_id]
    team = db.get(Team, report.team_id) if report.team_id else None
    if weights is None:
        weights = {m: (leader_weight if team is not None and m == team.leader_id else Decimal(1)) for m in members}
    total_weight = sum(weights.values()) or Decimal(1)
    total_kg = sum((a.trash_amount_kg or Decimal(0)) for a in report.areas)
    db.execute(delete(Credit).where(Credit.report_id == report.id))
    for user_id, weight in sorted(weights.items()):
        share = (weight / total_weight).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        kg = (Decimal(total_kg) * weight / total_weight).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        db.add(Credit(report_id=report.id, user_id=user_id, weight=weight, share=share, kg=kg))
    db.flush()


def object_to_credit(db: Session, principal: Principal, report: Report, reason: str) -> Objection:
    if report.type != ReportType.CLEANING or report.team_id is None:
        raise errors.InvalidState()
    if principal.id not in active_member_ids(db, report.team_id):
        raise errors.Forbidden()
    objection = Objection(report_id=report.id, user_id=principal.id, reason=reason)
    db.add(objection)
    db.flush()
    audit.record(
        db,
        "REPORT_OBJECTION",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"reason": reason},
    )
    notification_service.notify(
        db,
        event="CREDIT_OBJECTION",
        category="TEAM",
        user_ids=district_admin_ids(db, report.org_id),
        title="기여도 이의 제기",
        message=f"보고서 #{report.id}: {reason}",
        link=f"/admin/reports/{report.id}",
        dedupe=f"objection:{objection.id}",
    )
    return objection


def adjust_credits(db: Session, principal: Principal, report: Report, weights: dict[str, float]) -> None:
    if not principal.is_admin:
        raise errors.Forbidden()
    if report.type != ReportType.CLEANING or report.status == ReportStatus.DRAFT:
        raise errors.InvalidState()
    parsed: dict[int, Decimal] = {}
    members = set(active_member_ids(db, report.team_id)) if report.team_id else {report.user_id}
    existing = set(db.execute(select(Credit.user_id).where(Credit.report_id == report.id)).scalars())
    for key, value in weights.items():
        if not key.isdigit() or int(key) not in (members | existing):
            raise errors.ValidationFailed.field(f"weights.{key}", "not a member of this report's team")
        parsed[int(key)] = Decimal(str(value))
    if not parsed or sum(parsed.values()) <= 0:
        raise errors.ValidationFailed.field("weights", "at least one positive weight is required")
    compute_credits(db, report, parsed)
    db.execute(
        update(Objection)
        .where(Objection.report_id == report.id, Objection.status == "OPEN")
        .values(status="RESOLVED", resolved_at=utcnow())
    )
    audit.record(
        db,
        "REPORT_CREDIT_ADJUST",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"weights": {str(k): float(v) for k, v in parsed.items()}},
    )


# ---- contributions ------------------------------------------------------------------------------------


def _contribution_guard(db: Session, principal: Principal, report: Report) -> None:
    if report.type != ReportType.CLEANING or report.team_id is None:
        raise errors.InvalidState()
    if report.status != ReportStatus.DRAFT:
        raise errors.InvalidState()
    if principal.id not in active_member_ids(db, report.team_id):
        raise errors.Forbidden()


def add_contribution(db: Session, principal: Principal, report: Report, body: Any) -> Contribution:
    _contribution_guard(db, principal, report)
    contribution = Contribution(
        report_id=report.id, user_id=principal.id, note=body.note, bags=body.bags, kg=body.kg, hours=body.hours
    )
    db.add(contribution)
    db.flush()
    _set_contribution_images(db, report, contribution, body.image_ids)
    audit.record(
        db,
        "CONTRIBUTION_CREATE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"contribution_id": contribution.id},
    )
    return contribution


def _set_contribution_images(db: Session, report: Report, contribution: Contribution, image_ids: list[int]) -> None:
    db.execute(delete(ContributionImage).where(ContributionImage.contribution_id == contribution.id))
    images = image_service.resolve_for_attachment(
        db,
        image_ids,
        allowed_uploaders={contribution.user_id},
        allowed_types={str(t) for t in rules.CONTRIBUTION_IMAGE_TYPES},
        field="image_ids",
    )
    for position, image in enumerate(images):
        db.add(ContributionImage(contribution_id=contribution.id, image_id=image.id, position=position))


def own_contribution(db: Session, principal: Principal, report: Report, contribution_id: int) -> Contribution:
    _contribution_guard(db, principal, report)
    contribution = db.get(Contribution, contribution_id)
    if contribution is None or contribution.report_id != report.id:
        raise errors.NotFound()
    if contribution.user_id != principal.id:
        raise errors.Forbidden()
    return contribution


def edit_contribution(db: Session, principal: Principal, report: Report, contribution_id: int, body: Any) -> None:
    contribution = own_contribution(db, principal, report, contribution_id)
    for name in ("note", "bags", "kg", "hours"):
        if name in body.model_fields_set:
            setattr(contribution, name, getattr(body, name))
    if "image_ids" in body.model_fields_set:
        _set_contribution_images(db, report, contribution, body.image_ids)
    db.flush()
    audit.record(
        db,
        "CONTRIBUTION_UPDATE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"contribution_id": contribution.id},
    )


def delete_contribution(db: Session, principal: Principal, report: Report, contribution_id: int) -> None:
    contribution = own_contribution(db, principal, report, contribution_id)
    db.delete(contribution)
    audit.record(
        db,
        "CONTRIBUTION_DELETE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        before={"contribution_id": contribution_id},
    )


# ---- claims ------------------------------------------------------------------------------------------


def claim_for_team(db: Session, *, report_id: int, team_id: int, actor_id: int | None) -> Report:
    """Give an investigation's cleaning to one team; a concurrent claim by another team loses (409)."""
    report = db.get(Report, report_id)
    if (
        report is None
        or report.deleted_at is not None
        or report.type != ReportType.INVESTIGATION
        or report.status not in VISIBLE_TO_WORKERS
    ):
        raise errors.NotFound()
    won = rows_affected(
        db,
        update(Report)
        .where(
            Report.id == report_id,
            or_(Report.claimed_by_team_id.is_(None), Report.claimed_by_team_id == team_id),
        )
        .values(claimed_by_team_id=team_id, claimed_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    if won != 1:
        raise errors.Conflict()
    db.refresh(report)
    audit.record(
        db,
        "REPORT_CLAIM",
        actor_id=actor_id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        after={"team_id": team_id},
    )
    return report


def claim(db: Session, principal: Principal, report: Report, team_id: int | None) -> Report:
    if principal.role != Role.CLEANER:
        raise errors.Forbidden()
    led = led_team_ids(db, principal.id)
    if team_id is None:
        if not led:
            raise errors.Forbidden("team_leader_required")
        if len(led) > 1:
            raise errors.ValidationFailed.field("team_id", "you lead several teams: name one")
        team_id = led[0]
    elif team_id not in led:
        team = db.get(Team, team_id)
        if team is None or team.org_id != principal.org.id:
            raise errors.NotFound()
        raise errors.Forbidden("team_leader_required")
    if report.org_id != principal.org.id:
        raise errors.NotFound()
    return claim_for_team(db, report_id=report.id, team_id=team_id, actor_id=principal.id)


def release_claim(db: Session, principal: Principal, report: Report) -> Report:
    if report.type != ReportType.INVESTIGATION or report.claimed_by_team_id is None:
        raise errors.InvalidState()
    if not principal.is_admin and report.claimed_by_team_id not in led_team_ids(db, principal.id):
        raise errors.Forbidden()
    before = {"team_id": report.claimed_by_team_id}
    report.claimed_by_team_id = None
    report.claimed_at = None
    db.flush()
    audit.record(
        db,
        "REPORT_CLAIM_RELEASE",
        actor_id=principal.id,
        target_type="REPORT",
        target_id=report.id,
        org_id=report.org_id,
        before=before,
    )
    return report
