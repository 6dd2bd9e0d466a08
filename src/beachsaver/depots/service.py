"""Collection depots: WAITING → IN_ROUTE → COMPLETED (once), ISSUE and back, routes for collectors."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.audit import service as audit
from beachsaver.core import errors
from beachsaver.core.db import rows_affected
from beachsaver.core.deps import Principal
from beachsaver.core.enums import DepotStatus, ReportStatus, ReportType, Role
from beachsaver.core.geo import EARTH_RADIUS_M, bounding_box, haversine_m, local_scale, plane_m, visiting_order
from beachsaver.core.time import to_utc, utcnow
from beachsaver.depots.models import LIVE_REQUEST, CollectionDepot, DepotImage
from beachsaver.images import service as image_service
from beachsaver.images.models import Image
from beachsaver.notifications import service as notification_service
from beachsaver.reports import rules
from beachsaver.reports import service as report_service
from beachsaver.reports.models import Report
from beachsaver.statistics import rollup as statistics_rollup


def visible_clause(db: Session, principal: Principal) -> ColumnElement[bool]:
    """07 §5/§8: depots of live requests; collectors see WAITING/IN_ROUTE of all, the rest only their own."""
    base = _live()
    if principal.is_admin:
        return and_(base, CollectionDepot.org_id.in_(principal.scope_org_ids(db)))
    if principal.role == Role.COLLECTOR:
        return and_(
            base,
            CollectionDepot.org_id == principal.org.id,
            or_(
                CollectionDepot.status.in_([DepotStatus.WAITING, DepotStatus.IN_ROUTE]),
                CollectionDepot.collector_id == principal.id,
            ),
        )
    if principal.role == Role.CLEANER:
        mine = select(Report.id).where(
            or_(Report.user_id == principal.id, Report.team_id.in_(report_service.active_team_ids(db, principal.id)))
        )
        return and_(base, CollectionDepot.report_id.in_(mine))
    return and_(base, CollectionDepot.id.is_(None))


def actionable_clause(db: Session, principal: Principal) -> ColumnElement[bool]:
    """Depots a collector may act on: every live depot of its district, so that acting on one
    another collector has just completed answers 409 rather than 404."""
    if principal.role != Role.COLLECTOR:
        return visible_clause(db, principal)
    return and_(_live(), CollectionDepot.org_id == principal.org.id)


def _live() -> ColumnElement[bool]:
    """Depots on the field: of a live request (kept on the depot, D46), not a draft's."""
    return and_(CollectionDepot.status.is_not(None), CollectionDepot.request_live == true())


def get_visible(
    db: Session, principal: Principal, depot_id: int, *, for_update: bool = False, acting: bool = False
) -> CollectionDepot:
    clause = actionable_clause(db, principal) if acting else visible_clause(db, principal)
    stmt: Select[tuple[CollectionDepot]] = select(CollectionDepot).where(CollectionDepot.id == depot_id, clause)
    if for_update:
        stmt = stmt.with_for_update()
    depot = db.execute(stmt).scalar_one_or_none()
    if depot is None:
        raise errors.NotFound()
    return depot


def present_many(db: Session, depots: list[CollectionDepot]) -> list[dict[str, Any]]:
    if not depots:
        return []
    photos: dict[int, list[int]] = defaultdict(list)
    for row in db.execute(
        select(DepotImage).where(DepotImage.depot_id.in_([d.id for d in depots])).order_by(DepotImage.position)
    ).scalars():
        photos[row.depot_id].append(row.image_id)
    first_ids = {ids[0] for ids in photos.values() if ids}
    images = {i.id: i for i in db.execute(select(Image).where(Image.id.in_(first_ids))).scalars()} if first_ids else {}
    return [report_service.present_depot(db, d, photos[d.id], images) for d in depots]


def _require_verified(principal: Principal) -> None:
    if principal.role != Role.COLLECTOR:
        raise errors.Forbidden()
    vehicle = principal.user.vehicle
    if vehicle is None or vehicle.verified_at is None:
        raise errors.Forbidden("collector_unverified")


def claim(db: Session, principal: Principal, depot: CollectionDepot) -> CollectionDepot:
    _require_verified(principal)
    if depot.status == DepotStatus.COMPLETED:
        raise errors.InvalidState()
    won = rows_affected(
        db,
        update(CollectionDepot)
        .where(CollectionDepot.id == depot.id, CollectionDepot.status == DepotStatus.WAITING)
        .values(status=DepotStatus.IN_ROUTE, collector_id=principal.id, claimed_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    db.refresh(depot)
    if won != 1:
        if depot.status == DepotStatus.IN_ROUTE and depot.collector_id == principal.id:
            return depot
        if depot.status == DepotStatus.IN_ROUTE:
            raise errors.Conflict()
        raise errors.InvalidState()
    statistics_rollup.mark_depot(db, depot)
    audit.record(
        db,
        "DEPOT_CLAIM",
        actor_id=principal.id,
        target_type="DEPOT",
        target_id=depot.id,
        org_id=depot.org_id,
        after={"status": depot.status},
    )
    return depot


def release(db: Session, principal: Principal, depot: CollectionDepot) -> CollectionDepot:
    if principal.role != Role.COLLECTOR:
        raise errors.Forbidden()
    if depot.status != DepotStatus.IN_ROUTE:
        raise errors.InvalidState()
    if depot.collector_id != principal.id:
        raise errors.Forbidden()
    return _back_to_waiting(db, principal, depot, "DEPOT_RELEASE")


def complete(db: Session, principal: Principal, depot: CollectionDepot, body: Any) -> CollectionDepot:
    """Exactly once: the UPDATE only matches a WAITING depot or the caller's own IN_ROUTE one."""
    _require_verified(principal)
    photo = image_service.resolve_for_attachment(
        db,
        [body.photo],
        allowed_uploaders={principal.id},
        allowed_types={str(t) for t in rules.COMPLETION_IMAGE_TYPES},
        field="photo",
    )[0]
    now = utcnow()
    completed = {
        "status": DepotStatus.COMPLETED,
        "collector_id": principal.id,
        "collected_amount": body.collected_amount,
        "collection_completed_at": to_utc(body.collection_completed_at) if body.collection_completed_at else now,
        "completed_latitude": Decimal(str(body.latitude)) if body.latitude is not None else None,
        "completed_longitude": Decimal(str(body.longitude)) if body.longitude is not None else None,
        "completion_note": body.note,
        "completion_image_id": photo.id,
        "updated_at": now,
    }
    won = rows_affected(
        db,
        update(CollectionDepot)
        .where(
            CollectionDepot.id == depot.id,
            or_(
                CollectionDepot.status == DepotStatus.WAITING,
                and_(CollectionDepot.status == DepotStatus.IN_ROUTE, CollectionDepot.collector_id == principal.id),
            ),
        )
        .values(completed)
        .execution_options(synchronize_session=False),
    )
    if won == 1:  # the row is what was written: no read back
        for name, value in completed.items():
            set_committed_value(depot, name, value)
    else:
        db.refresh(depot)
        if depot.status == DepotStatus.COMPLETED:
            raise errors.InvalidState()
        if depot.status == DepotStatus.IN_ROUTE:
            raise errors.Conflict()
        raise errors.InvalidState()
    statistics_rollup.mark_depot(db, depot)
    audit.record(
        db,
        "DEPOT_COMPLETE",
        actor_id=principal.id,
        target_type="DEPOT",
        target_id=depot.id,
        org_id=depot.org_id,
        after={"collected_amount": str(body.collected_amount)},
    )
    # the author's id only: loading the Report would also load its areas
    author_id = db.execute(select(Report.user_id).where(Report.id == depot.report_id)).scalar_one_or_none()
    recipients = [author_id] if author_id is not None else []
    recipients += report_service.district_admin_ids(db, depot.org_id)
    notification_service.notify(
        db,
        event="DEPOT_COLLECTED",
        category="DEPOT",
        user_ids=recipients,
        title="수거 완료",
        message=f"집하장 '{depot.name}' 수거가 완료되었습니다 ({body.collected_amount} kg).",
        link=f"/app/depots/{depot.id}",
        channels=("PUSH",),
        dedupe=f"depot:{depot.id}:collected",
    )
    return depot


def report_issue(db: Session, principal: Principal, depot: CollectionDepot, body: Any) -> CollectionDepot:
    _require_verified(principal)
    if depot.status == DepotStatus.IN_ROUTE and depot.collector_id != principal.id:
        raise errors.Conflict()
    if depot.status not in (DepotStatus.WAITING, DepotStatus.IN_ROUTE):
        raise errors.InvalidState()
    photo_id = None
    if body.photo is not None:
        photo_id = image_service.resolve_for_attachment(
            db,
            [body.photo],
            allowed_uploaders={principal.id},
            allowed_types={str(t) for t in rules.COMPLETION_IMAGE_TYPES | rules.DEPOT_IMAGE_TYPES},
            field="photo",
        )[0].id
    depot.status = DepotStatus.ISSUE
    depot.collector_id = principal.id
    depot.issue_note = body.note
    depot.issue_image_id = photo_id
    db.flush()
    audit.record(
        db,
        "DEPOT_ISSUE",
        actor_id=principal.id,
        target_type="DEPOT",
        target_id=depot.id,
        org_id=depot.org_id,
        after={"note": body.note},
    )
    admins = report_service.district_admin_ids(db, depot.org_id)
    notification_service.notify(
        db,
        event="DEPOT_ISSUE",
        category="DEPOT",
        user_ids=admins,
        title="집하장 문제 보고",
        message=f"집하장 '{depot.name}': {body.note}",
        link=f"/admin/depots/{depot.id}",
        dedupe=f"depot:{depot.id}:issue:{utcnow():%Y%m%d%H%M%S%f}",
    )
    return depot


def _back_to_waiting(db: Session, principal: Principal, depot: CollectionDepot, action: str) -> CollectionDepot:
    """Release or resolve: the depot waits again, with no collector."""
    depot.status = DepotStatus.WAITING
    depot.collector_id = None
    depot.claimed_at = None
    db.flush()
    audit.record(
        db,
        action,
        actor_id=principal.id,
        target_type="DEPOT",
        target_id=depot.id,
        org_id=depot.org_id,
        after={"status": depot.status},
    )
    return depot


def resolve(db: Session, principal: Principal, depot: CollectionDepot) -> CollectionDepot:
    if not principal.is_admin:
        raise errors.Forbidden()
    if depot.status != DepotStatus.ISSUE:
        raise errors.InvalidState()
    return _back_to_waiting(db, principal, depot, "DEPOT_RESOLVE")


def add_to_request(db: Session, principal: Principal, body: Any) -> CollectionDepot:
    report = report_service.get_visible(db, principal, body.report_id)
    if report.type != ReportType.COLLECTION_REQUEST:
        raise errors.ValidationFailed.field("report_id", "not a collection request")
    report_service.ensure_may_edit(db, principal, report)
    if report.status not in (ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.APPROVED, ReportStatus.REJECTED):
        raise errors.InvalidState()
    problems = [
        {"field": name, "message": "required"}
        for name in ("name", "latitude", "longitude")
        if getattr(body, name) is None
    ]
    if body.photo is None and not body.image_ids:
        problems.append({"field": "photo", "message": "at least one photo is required"})
    if problems:
        raise errors.ValidationFailed(details=problems)
    count = len(list(db.execute(select(CollectionDepot.id).where(CollectionDepot.report_id == report.id)).scalars()))
    live = report.status in LIVE_REQUEST
    depot = report_service.add_depot_rows(
        db,
        report,
        [body],
        report_service.allowed_uploaders(db, report),
        start=count,
        status=DepotStatus.WAITING if live else None,
        field="depot",
    )[0]
    audit.record(
        db,
        "DEPOT_CREATE",
        actor_id=principal.id,
        target_type="DEPOT",
        target_id=depot.id,
        org_id=depot.org_id,
        after={"report_id": report.id},
    )
    return depot


#: Half-widths, in degrees of latitude, of the circles around the point in which the nearest
#: depots are looked for first: about 1.1 km, widened fourfold up to about 280 km; past the last,
#: every depot of the scope is sorted (``core.paging.paginate_by_key``, D46).
NEAR_RADII_DEG = (0.01, 0.04, 0.16, 0.64, 2.56)
#: Added to each bounding box so that rounding its edges to the columns' 7 decimals never cuts
#: into its circle.
_BOX_MARGIN_DEG = 1e-6


def nearest_first(point: tuple[float, float]) -> tuple[list[Any], Iterator[list[ColumnElement[bool]]]]:
    """The order nearest first (plane distance, then id) and the circles to narrow the search
    by, each with its bounding box, which an index on (…, latitude, longitude) can range; a
    circle is built only when the one before it fell short of a page."""
    lat, lng = point
    scale = local_scale(lat)
    dlat = CollectionDepot.latitude - lat
    dlng = (CollectionDepot.longitude - lng) * scale
    distance2 = dlat * dlat + dlng * dlng

    def degrees(value: float) -> Decimal:
        return Decimal(f"{value:.7f}")

    def circles() -> Iterator[list[ColumnElement[bool]]]:
        for radius in NEAR_RADII_DEG:
            box = bounding_box(point, EARTH_RADIUS_M * math.radians(radius + _BOX_MARGIN_DEG))
            yield [
                CollectionDepot.latitude.between(degrees(box[0]), degrees(box[1])),
                CollectionDepot.longitude.between(degrees(box[2]), degrees(box[3])),
                distance2 <= radius * radius,
            ]

    return [distance2.asc(), CollectionDepot.id.asc()], circles()


def with_distance(rows: list[dict[str, Any]], near: tuple[float, float]) -> list[dict[str, Any]]:
    for row in rows:
        if row["latitude"] is not None and row["longitude"] is not None:
            row["distance_m"] = round(plane_m(near, (row["latitude"], row["longitude"])), 1)
    return rows


def route(db: Session, principal: Principal, start: tuple[float, float]) -> tuple[list[dict[str, Any]], float]:
    if principal.role != Role.COLLECTOR:
        raise errors.Forbidden()
    depots = list(
        db.execute(
            select(CollectionDepot).where(
                visible_clause(db, principal),
                CollectionDepot.status == DepotStatus.IN_ROUTE,
                CollectionDepot.collector_id == principal.id,
                CollectionDepot.latitude.is_not(None),
            )
        ).scalars()
    )
    points = [(float(d.latitude), float(d.longitude)) for d in depots]  # type: ignore[arg-type]
    order = visiting_order(start, points)
    presented = present_many(db, depots)
    out, here, total = [], start, 0.0
    for rank, index in enumerate(order, start=1):
        leg = haversine_m(here, points[index])
        total += leg
        here = points[index]
        out.append({**presented[index], "order": rank, "leg_m": round(leg, 1)})
    return out, round(total, 1)
