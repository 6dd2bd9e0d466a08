"""Offline sync: every item of a batch answers on its own (07 §7).

The common items — new investigations and team-less cleaning reports, and exact replays — take a
batched path: what every item needs (its known client ids, beaches, images, duplicate candidates,
district admins) is loaded once, each item is checked in Python in the order the per-item path
checks it (so it fails with the same error), and the items that pass are written together with
one flush. An item fails alone: it is decided before anything is written, and a batch write that
fails at the database (a concurrent send of the same client id) is redone item by item. Anything
else (team reports, chain links, depots, co-workers, jobs, draft updates, conflicts) runs the
per-item path in its own transaction, in input order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from beachsaver.audit import service as audit
from beachsaver.beaches.models import Beach
from beachsaver.core import errors
from beachsaver.core.db import commit, rollback
from beachsaver.core.deps import Principal
from beachsaver.core.enums import ReportStatus, ReportType
from beachsaver.core.geo import haversine_m
from beachsaver.core.http import validation_details
from beachsaver.core.i18n import translate
from beachsaver.core.runtime import settings_of
from beachsaver.core.time import to_utc, utcnow
from beachsaver.images.models import Image
from beachsaver.notifications import service as notification_service
from beachsaver.reports import rules, service
from beachsaver.reports.models import Report, ReportArea, ReportImage
from beachsaver.reports.schemas import SyncItem

#: Ids per ``IN (…)`` look-up.
CHUNK = 500
#: Fields the per-item path does not write as content (07 §6).
NOT_CONTENT = {"client_id", "type", "is_draft", "confirm_duplicate", "team_id"}
#: Report types the batched path creates (the others have team, claim, depot or credit steps).
BATCHED_TYPES = (ReportType.INVESTIGATION, ReportType.CLEANING)

Result = dict[str, Any]


def _error(exc: errors.AppError, lang: str) -> dict[str, Any]:
    details = [{"field": d["field"], "message": translate(d["message"], lang)} for d in (exc.details or [])]
    return {"code": exc.code, "message": translate(exc.message_key, lang, **exc.params), "details": details}


def _result(client_id: str | None, status: str, report_id: int | None, error: dict[str, Any] | None) -> Result:
    return {"client_id": client_id, "status": status, "report_id": report_id, "error": error}


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _principal_in(db: Session, principal: Principal) -> Principal:
    return Principal(
        user=db.merge(principal.user, load=False),
        session_id=principal.session_id,
        org=db.merge(principal.org, load=False),
    )


@dataclass
class _Item:
    index: int
    body: SyncItem
    client_id: str
    digest: str


def sync_batch(
    factory: sessionmaker[Session], principal: Principal, items: list[dict[str, Any]], lang: str
) -> list[dict[str, Any]]:
    results: list[Result | None] = [None] * len(items)
    parsed: list[_Item] = []
    for index, raw in enumerate(items):
        client_id = raw.get("client_id") if isinstance(raw, dict) else None
        client_id = str(client_id).lower() if client_id is not None else None
        try:
            body = SyncItem.model_validate(raw)
        except ValidationError as exc:
            errs = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            error = {
                "code": "VALIDATION_ERROR",
                "message": translate("validation_error", lang),
                "details": validation_details(errs, lang),
            }
            results[index] = _result(client_id, "ERROR", None, error)
            continue
        parsed.append(_Item(index, body, str(body.client_id).lower(), service.payload_hash(body)))

    known = _known_reports(factory, principal, [item.client_id for item in parsed])
    run: list[_Item] = []
    seen: set[str] = set()
    for item in parsed:
        existing = known.get(item.client_id)
        if item.client_id in seen:
            _flush_run(factory, principal, run, results, lang)
            results[item.index] = _sync_one(factory, principal, item.body, lang)
        elif existing is not None and existing.payload_hash == item.digest and existing.deleted_at is None:
            results[item.index] = _result(str(item.body.client_id), "DUPLICATE", existing.id, None)
        elif existing is None and _batchable(item.body):
            run.append(item)
        else:
            _flush_run(factory, principal, run, results, lang)
            results[item.index] = _sync_one(factory, principal, item.body, lang)
        seen.add(item.client_id)
    _flush_run(factory, principal, run, results, lang)
    return [r for r in results if r is not None]


@dataclass
class _Known:
    id: int
    payload_hash: str | None
    deleted_at: datetime | None


def _known_reports(factory: sessionmaker[Session], principal: Principal, client_ids: list[str]) -> dict[str, _Known]:
    """The caller's reports with these client ids, in one look-up per chunk."""
    wanted = list(dict.fromkeys(client_ids))
    found: dict[str, _Known] = {}
    if not wanted:
        return found
    db = factory()
    try:
        for chunk in _chunks(wanted):
            stmt = select(Report.client_id, Report.id, Report.payload_hash, Report.deleted_at).where(
                Report.user_id == principal.id, Report.client_id.in_(chunk)
            )
            found.update({client_id: _Known(*rest) for client_id, *rest in db.execute(stmt)})
        db.rollback()
    finally:
        db.close()
    return found


def _batchable(body: SyncItem) -> bool:
    return (
        ReportType(body.type) in BATCHED_TYPES
        and body.team_id is None
        and body.job_id is None
        and body.investigation_report_id is None
        and body.cleaning_report_id is None
        and not body.co_worker_ids
        and not body.collection_depots
    )


def _sync_one(factory: sessionmaker[Session], principal: Principal, body: SyncItem, lang: str) -> Result:
    """One item in its own transaction through the per-item service path."""
    db = factory()
    try:
        outcome = service.create(db, _principal_in(db, principal), body)
        report_id = outcome.report.id
        if outcome.status == "DUPLICATE":
            db.rollback()
        else:
            commit(db)
        return _result(str(body.client_id), outcome.status, report_id, None)
    except errors.AppError as exc:
        rollback(db)
        return _result(str(body.client_id), "ERROR", None, _error(exc, lang))
    except OperationalError:
        db.rollback()
        raise
    finally:
        db.close()


def _flush_run(
    factory: sessionmaker[Session], principal: Principal, run: list[_Item], results: list[Result | None], lang: str
) -> None:
    """Create the run's items together; on a database refusal redo them one by one."""
    if not run:
        return
    db = factory()
    try:
        outcomes = _create_many(db, _principal_in(db, principal), run, lang)
        commit(db)
    except IntegrityError:
        # A concurrent send of one of these client ids won: the per-item path answers it as a replay.
        rollback(db)
        outcomes = {item.index: _sync_one(factory, principal, item.body, lang) for item in run}
    except BaseException:
        rollback(db)
        raise
    finally:
        db.close()
    for index, outcome in outcomes.items():
        results[index] = outcome
    run.clear()


# ---- the batched path --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    """Another author's report a new one may duplicate."""

    id: int
    beach_id: int | None
    event_at: datetime | None


@dataclass
class _Context:
    """Everything the run's items are checked against, loaded once."""

    beaches: dict[int, Beach]
    images: dict[int, Image]
    candidates: dict[tuple[int, str], list[_Candidate]]
    candidate_positions: dict[int, tuple[float, float] | None]
    window: timedelta
    radius_m: float


@dataclass
class _Planned:
    item: _Item
    report: Report
    area_images: list[tuple[ReportArea, list[Image]]]
    main_images: list[Image]
    submitted_at: datetime | None
    images_used: list[Image] = field(default_factory=list)


def _create_many(db: Session, principal: Principal, run: list[_Item], lang: str) -> dict[int, Result]:
    context = _load_context(db, principal, run)
    outcomes: dict[int, Result] = {}
    planned: list[_Planned] = []
    for item in run:
        try:
            planned.append(_plan(principal, item, context))
        except errors.AppError as exc:
            outcomes[item.index] = _result(str(item.body.client_id), "ERROR", None, _error(exc, lang))
    if not planned:
        return outcomes
    referenced_at = utcnow()
    for plan in planned:
        for image in plan.images_used:
            if image.referenced_at is None:
                image.referenced_at = referenced_at
    _assign_ids(db, Report, [plan.report for plan in planned])
    _assign_ids(db, ReportArea, [area for plan in planned for area in plan.report.areas])
    db.add_all(plan.report for plan in planned)
    db.flush()  # the reports and their areas, one batch each
    links: list[ReportImage] = []
    for plan in planned:
        report = plan.report
        for area, images in plan.area_images:
            links.extend(
                ReportImage(report_id=report.id, image_id=image.id, area_id=area.id, position=position)
                for position, image in enumerate(images)
            )
        links.extend(
            ReportImage(report_id=report.id, image_id=image.id, position=position)
            for position, image in enumerate(plan.main_images)
        )
    _assign_ids(db, ReportImage, links)
    db.add_all(links)
    submitted = [plan for plan in planned if plan.submitted_at is not None]
    admins = service.district_admin_ids(db, principal.org.id) if submitted else []
    events: list[notification_service.NotifyEvent] = []
    for plan in planned:
        report = plan.report
        audit.record(
            db,
            "REPORT_CREATE",
            actor_id=principal.id,
            target_type="REPORT",
            target_id=report.id,
            org_id=report.org_id,
            after={"type": report.type, "client_id": report.client_id},
        )
        if plan.submitted_at is not None:
            audit.record(
                db,
                "REPORT_SUBMIT",
                actor_id=principal.id,
                target_type="REPORT",
                target_id=report.id,
                org_id=report.org_id,
                after={"status": report.status, "duplicate_of_id": report.duplicate_of_id},
            )
            events.append(
                notification_service.NotifyEvent(
                    event="REPORT_SUBMITTED",
                    category="REPORT",
                    user_ids=tuple(admins),
                    title="새 보고서",
                    message=f"{report.type} 보고서 #{report.id}이(가) 제출되었습니다.",
                    link=f"/admin/reports/{report.id}",
                    channels=("PUSH", "EMAIL"),
                    dedupe=f"report:{report.id}:submitted:{plan.submitted_at:%Y%m%d%H%M%S%f}",
                )
            )
        outcomes[plan.item.index] = _result(str(plan.item.body.client_id), "CREATED", report.id, None)
    # the submitted reports' notifications, as one ``notify`` per report would write them
    notification_service.notify_many(db, events)
    db.flush()
    return outcomes


def _assign_ids(db: Session, model: type[Report | ReportArea | ReportImage], rows: Sequence[Any]) -> None:
    """Number new rows on SQLite, where SQLAlchemy cannot batch inserts whose generated ids it must
    read back (it inserts them one by one). Writers there are serialised from ``BEGIN IMMEDIATE``
    on, so ids after the current maximum, read inside the transaction, cannot collide. MariaDB
    returns a batch's ids itself."""
    if not rows or db.get_bind().dialect.name != "sqlite":
        return
    last = db.execute(select(func.max(model.id))).scalar() or 0
    for offset, row in enumerate(rows, start=1):
        row.id = last + offset


def _load_context(db: Session, principal: Principal, run: list[_Item]) -> _Context:
    beach_ids = sorted({item.body.beach_id for item in run if item.body.beach_id is not None})
    beaches: dict[int, Beach] = {}
    for chunk in _chunks(beach_ids):
        beaches.update({b.id: b for b in db.execute(select(Beach).where(Beach.id.in_(chunk))).scalars()})
    image_ids = sorted(
        {i for item in run for i in item.body.images or []}
        | {i for item in run for area in item.body.areas or [] for i in area.image_ids or []}
    )
    images: dict[int, Image] = {}
    for chunk in _chunks(image_ids):
        images.update({img.id: img for img in db.execute(select(Image).where(Image.id.in_(chunk))).scalars()})
    settings = settings_of(db)
    window = timedelta(hours=getattr(settings, "dup_window_h", 6))
    radius_m = float(getattr(settings, "dup_radius_m", 200))
    candidates, positions = _duplicate_candidates(db, principal, run, beaches, window)
    return _Context(beaches, images, candidates, positions, window, radius_m)


def _duplicate_candidates(
    db: Session, principal: Principal, run: list[_Item], beaches: dict[int, Beach], window: timedelta
) -> tuple[dict[tuple[int, str], list[_Candidate]], dict[int, tuple[float, float] | None]]:
    """Other authors' live reports near the run's items in time, as rows, newest first per
    (beach, type), with the position ``service.find_duplicate`` would give each."""
    submitting = [item.body for item in run if not item.body.is_draft and item.body.beach_id in beaches]
    if not submitting:
        return {}, {}
    now = utcnow()
    moments = [to_utc(body.investigation_at or body.cleaning_at or now) for body in submitting]
    ids = sorted({body.beach_id for body in submitting if body.beach_id is not None})
    types = sorted({str(ReportType(body.type)) for body in submitting})
    stmt = select(Report.id, Report.beach_id, Report.type, Report.event_at, Report.gps_lat, Report.gps_lng).where(
        Report.type.in_(types),
        Report.status.in_(service.VISIBLE_TO_WORKERS),
        Report.deleted_at.is_(None),
        Report.user_id != principal.id,
        Report.event_at >= min(moments) - window,
        Report.event_at <= max(moments) + window,
    )
    by_key: dict[tuple[int, str], list[_Candidate]] = defaultdict(list)
    everyone: list[tuple[int, Decimal | None, Decimal | None]] = []
    for chunk in _chunks(ids):
        for row in db.execute(stmt.where(Report.beach_id.in_(chunk))):
            by_key[(row.beach_id or 0, str(row.type))].append(_Candidate(row.id, row.beach_id, row.event_at))
            everyone.append((row.id, row.gps_lat, row.gps_lng))
    for candidates in by_key.values():
        candidates.sort(key=lambda c: c.event_at or now, reverse=True)
    located = service.candidate_positions(db, everyone, chunk=CHUNK)
    positions: dict[int, tuple[float, float] | None] = {}
    for candidates in by_key.values():
        for other in candidates:
            beach = beaches.get(other.beach_id) if other.beach_id is not None else None
            positions[other.id] = located.get(
                other.id, (float(beach.latitude), float(beach.longitude)) if beach is not None else None
            )
    return by_key, positions


def _report_position(
    lat: Decimal | None, lng: Decimal | None, areas: Iterable[ReportArea]
) -> tuple[float, float] | None:
    """``service._position`` up to the depot step: the report's GPS, else its first area start."""
    if lat is not None and lng is not None:
        return float(lat), float(lng)
    for area in areas:
        if area.start_latitude is not None and area.start_longitude is not None:
            return float(area.start_latitude), float(area.start_longitude)
    return None


def _attachable(
    images: dict[int, Image], image_ids: Iterable[int], *, uploaders: set[int], allowed_types: set[str], field: str
) -> list[Image]:
    """``image_service.resolve_for_attachment`` on preloaded rows (same checks, same errors),
    without marking them referenced: that waits until the whole item has passed."""
    ids = list(dict.fromkeys(int(i) for i in image_ids))
    result: list[Image] = []
    for position, image_id in enumerate(ids):
        image = images.get(image_id)
        if image is None or image.uploaded_by not in uploaders:
            raise errors.NotFound()
        if allowed_types and image.type not in allowed_types:
            raise errors.ValidationFailed.field(
                f"{field}[{position}]",
                f"image type {image.type} does not fit here ({', '.join(sorted(allowed_types))})",
            )
        result.append(image)
    return result


def _plan(principal: Principal, item: _Item, context: _Context) -> _Planned:
    """``service.create`` for a new, batchable item, without writing: the same checks in the
    same order, raising the same errors."""
    body = item.body
    report_type = ReportType(body.type)
    service.check_solo_author(principal, report_type)
    report = Report(
        client_id=item.client_id,
        type=report_type,
        status=ReportStatus.DRAFT,
        user_id=principal.id,
        team_id=None,
        org_id=principal.org.id,
        payload_hash=item.digest,
    )
    # service.apply_content
    fields = set(body.model_fields_set) - NOT_CONTENT
    problems = rules.type_problems(report_type, body.model_dump(include=fields))
    if problems:
        raise errors.ValidationFailed(details=problems)
    if "beach_id" in fields:
        if body.beach_id is not None:
            beach = context.beaches.get(body.beach_id)
            if beach is None or beach.org_id != principal.org.id:
                raise errors.NotFound()
        report.beach_id = body.beach_id
    for name in ("investigation_at", "cleaning_at", "weather", "disaster_type", "note"):
        if name in fields:
            setattr(report, name, getattr(body, name))
    for name in ("gps_lat", "gps_lng"):
        if name in fields:
            value = getattr(body, name)
            setattr(report, name, Decimal(str(value)) if value is not None else None)
    uploaders = {principal.id}
    images_used: list[Image] = []
    area_images: list[tuple[ReportArea, list[Image]]] = []
    areas: list[ReportArea] = []
    if "areas" in fields:
        for position, area in enumerate(body.areas or []):
            row = ReportArea(
                position=position,
                area_name=area.area_name,
                start_latitude=service._dec(area.start_latitude),
                start_longitude=service._dec(area.start_longitude),
                end_latitude=service._dec(area.end_latitude),
                end_longitude=service._dec(area.end_longitude),
                trash_amount_est_l=area.trash_amount_est_l,
                trash_amount_kg=area.trash_amount_kg,
                bag_count=area.bag_count,
                main_trash_type=area.main_trash_type,
                note=area.note,
                investigation_area_id=area.investigation_area_id,
            )
            images = _attachable(
                context.images,
                area.image_ids or [],
                uploaders=uploaders,
                allowed_types={str(t) for t in rules.AREA_IMAGE_TYPES[report_type]},
                field=f"areas[{position}].image_ids",
            )
            areas.append(row)
            area_images.append((row, images))
            images_used.extend(images)
    main_images: list[Image] = []
    if "images" in fields:
        main_images = _attachable(
            context.images,
            body.images or [],
            uploaders=uploaders,
            allowed_types={str(t) for t in rules.MAIN_IMAGE_TYPES[report_type]},
            field="images",
        )
        images_used.extend(main_images)
    report.coastline_m = service.coastline_m(areas)
    submitted_at: datetime | None = None
    if not body.is_draft:
        submitted_at = _plan_submission(report, report_type, areas, body.confirm_duplicate, context)
    report.areas = areas
    return _Planned(item, report, area_images, main_images, submitted_at, images_used)


def _plan_submission(
    report: Report, report_type: ReportType, areas: list[ReportArea], confirm_duplicate: bool, context: _Context
) -> datetime:
    """``service.submit`` for a team-less, job-less report without depots."""
    content = {
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
            for a in areas
        ],
        "collection_depots": [],
    }
    problems = rules.submission_problems(report_type, content)
    if problems:
        raise errors.ValidationFailed(details=problems)
    now = utcnow()
    report.event_at = to_utc(report.investigation_at or report.cleaning_at or now)
    duplicate_id = _find_duplicate(report, report_type, areas, context)
    if duplicate_id is not None:
        if not confirm_duplicate:
            raise errors.DuplicateSuspected(details=[{"field": "existing_report_id", "message": str(duplicate_id)}])
        report.duplicate_of_id = duplicate_id
    report.status = ReportStatus.SUBMITTED
    report.submitted_at = now
    report.reject_reason = None
    return now


def _find_duplicate(report: Report, report_type: ReportType, areas: list[ReportArea], context: _Context) -> int | None:
    """``service.find_duplicate`` against the preloaded candidates (newest first, at most 50)."""
    if report.beach_id is None or report.event_at is None:
        return None
    here = _report_position(report.gps_lat, report.gps_lng, areas)
    if here is None:
        beach = context.beaches[report.beach_id]
        here = (float(beach.latitude), float(beach.longitude))
    when = report.event_at
    near_in_time = [
        other
        for other in context.candidates.get((report.beach_id, str(report_type)), [])
        if other.event_at is not None and when - context.window <= other.event_at <= when + context.window
    ]
    for other in near_in_time[:50]:
        there = context.candidate_positions.get(other.id)
        if there is not None and haversine_m(here, there) <= context.radius_m:
            return other.id
    return None
