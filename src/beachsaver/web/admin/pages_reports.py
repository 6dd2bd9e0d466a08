"""The console's reports pages (ADM-05, ADM-05a/b): the list with its filters, and one report
with its photos, map, the investigation → cleaning → collection chain, approval and rejection.

Reads go through the reports service's visibility clause (``report_service.visible_clause``),
the same one ``GET /api/reports`` uses, so a page never shows what the API would hide. The
actions (approve, reject, release a claim, adjust credits) are forms sent by the browser to the
JSON API; nothing changes state here.

Also the small helpers the depots pages share: names of people/teams/beaches, numbers, image
thumbnails and the lenient parsing of the filters (errors shown by the controls).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from beachsaver.beaches import service as beach_service
from beachsaver.beaches.models import Beach
from beachsaver.core.deps import DbSession, Principal
from beachsaver.core.enums import ReportStatus, ReportType
from beachsaver.core.envelope import page_meta
from beachsaver.core.paging import paginate
from beachsaver.core.time import SEOUL, to_utc
from beachsaver.depots.models import CollectionDepot
from beachsaver.images import service as image_service
from beachsaver.images.models import Image
from beachsaver.orgs.models import Organization
from beachsaver.reports import service as report_service
from beachsaver.reports.models import Objection, Report
from beachsaver.teams.models import Team
from beachsaver.users.models import User
from beachsaver.web import common
from beachsaver.web.common import WebRoute, render
from beachsaver.web.listing import MAX_ID, local_time, page_params, pager, path_id, sort_links, tile_url

router = APIRouter(route_class=WebRoute)

#: Statuses offered in the console's filter (G-17: drafts belong to the worker's list; a link
#: asking for them explicitly, e.g. from the dashboard's table, still works).
ADMIN_STATUSES = (ReportStatus.SUBMITTED, ReportStatus.APPROVED, ReportStatus.REJECTED)
SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "id": Report.id,
    "submitted_at": Report.submitted_at,
    "type": Report.type,
    "status": Report.status,
}
REPORT_ID = re.compile(r"^(?:rpt[_-]?|#)?(\d{1,18})$", re.IGNORECASE)
STATUS_COLOURS = {"WAITING": "waiting", "IN_ROUTE": "in-route", "COMPLETED": "completed", "ISSUE": "issue"}


# ---- shared helpers (also used by pages_depots) -------------------------------------------------


def number(value: float | int | Decimal | None, digits: int = 1) -> str:
    if value is None:
        return ""
    amount = float(value)
    if amount.is_integer():
        return f"{int(amount):,}"
    return f"{amount:,.{digits}f}"


def lookup(db: Session, key: Any, label: Any, ids: Iterable[int | None]) -> dict[int, str]:
    """``{id: label}`` of the rows whose ``key`` is in ``ids`` (one query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {int(k): str(v) for k, v in db.execute(select(key, label).where(key.in_(wanted)))}


def user_names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    return lookup(db, User.id, User.nickname, ids)


def team_names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    return lookup(db, Team.id, Team.name, ids)


def beach_names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    return lookup(db, Beach.id, Beach.beach_name, ids)


def thumbnails(db: Session, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    """Presented images (signed ``thumb_url``/``file_url`` served by ``/api/images``)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.execute(select(Image).where(Image.id.in_(wanted))).scalars()
    return {image.id: image_service.present(db, image) for image in rows}


def parse_int(value: str, name: str, problems: dict[str, str], *, minimum: int = 1) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < minimum or int(value) > MAX_ID:
        problems[name] = "reports.error.number"
        return None
    return int(value)


def error_texts(request: Request, problems: dict[str, str]) -> dict[str, str]:
    from beachsaver.web import i18n

    lang = common.language(request)
    return {name: i18n.text(key, lang) for name, key in problems.items()}


# ---- the list ----------------------------------------------------------------------------------


@dataclass
class ReportFilters:
    type: str = ""
    status: str = ""
    beach_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    objections: bool = False
    sort: str = ""


def _parse_date(value: str, name: str, problems: dict[str, str]) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems[name] = "reports.error.date"
        return None


def parse_filters(query: dict[str, str], problems: dict[str, str]) -> ReportFilters:
    f = ReportFilters()
    kind = query.get("type", "").strip().upper()
    if kind and kind not in ReportType.__members__:
        problems["type"] = "reports.error.choice"
    else:
        f.type = kind
    status = query.get("status", "").strip().upper()
    if status and status not in ReportStatus.__members__:
        problems["status"] = "reports.error.choice"
    else:
        f.status = status
    f.beach_id = parse_int(query.get("beach_id", ""), "beach_id", problems)
    f.date_from = _parse_date(query.get("from", ""), "from", problems)
    f.date_to = _parse_date(query.get("to", ""), "to", problems)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        problems["to"] = "reports.error.period"
    f.q = query.get("q", "").strip()[:100]
    f.objections = query.get("objections", "") in ("open", "1", "on", "true")
    sort = query.get("sort", "").strip()
    name, _, direction = sort.partition(",")
    if sort and (name not in SORTS or direction not in ("asc", "desc")):
        problems["sort"] = "reports.error.choice"
    else:
        f.sort = sort
    return f


def _seoul_midnight(day: date) -> datetime:
    return to_utc(datetime.combine(day, time.min, tzinfo=SEOUL))


def report_query(db: Session, principal: Principal, f: ReportFilters) -> Select[tuple[Report]]:
    """``GET /api/reports``'s query (the same visibility clause) with the console's filters."""
    stmt = select(Report).where(report_service.visible_clause(db, principal))
    status = Report.status == f.status if f.status else Report.status != ReportStatus.DRAFT
    stmt = stmt.where(status)
    if f.type:
        stmt = stmt.where(Report.type == f.type)
    if f.beach_id is not None:
        stmt = stmt.where(Report.beach_id == f.beach_id)
    # The period is the submission day in Seoul (the column the list shows).
    if f.date_from is not None:
        stmt = stmt.where(Report.submitted_at >= _seoul_midnight(f.date_from))
    if f.date_to is not None:
        stmt = stmt.where(Report.submitted_at < _seoul_midnight(f.date_to + timedelta(days=1)))
    if f.q:
        found = REPORT_ID.match(f.q)
        words: list[ColumnElement[bool]] = [
            Report.beach_id.in_(select(Beach.id).where(Beach.beach_name.icontains(f.q, autoescape=True))),
            Report.user_id.in_(select(User.id).where(User.nickname.icontains(f.q, autoescape=True))),
            Report.team_id.in_(select(Team.id).where(Team.name.icontains(f.q, autoescape=True))),
        ]
        if found:
            words.append(Report.id == int(found.group(1)))
        stmt = stmt.where(or_(*words))
    if f.objections:
        stmt = stmt.where(Report.id.in_(select(Objection.report_id).where(Objection.status == "OPEN")))
    return stmt


def report_order(f: ReportFilters) -> list[Any]:
    default = [Report.submitted_at.desc(), Report.id.desc()]
    if not f.sort:
        return default
    name, _, direction = f.sort.partition(",")
    column = SORTS[name]
    return [column.desc() if direction == "desc" else column.asc(), Report.id.desc()]


def author_label(request: Request, user: str, team: str | None) -> str:
    """G-18: a team's report shows "Leader (Team)"."""
    from beachsaver.web import i18n

    if not team:
        return user
    return i18n.text("reports.author_team", common.language(request), leader=user, team=team)


def list_rows(request: Request, db: Session, reports: list[Report]) -> list[dict[str, Any]]:
    users = user_names(db, (r.user_id for r in reports))
    teams = team_names(db, (r.team_id for r in reports))
    beaches = beach_names(db, (r.beach_id for r in reports))
    open_objections = set(
        db.execute(
            select(Objection.report_id).where(
                Objection.report_id.in_([r.id for r in reports]), Objection.status == "OPEN"
            )
        ).scalars()
    )
    return [
        {
            "id": r.id,
            "type": r.type,
            "status": r.status,
            "beach": beaches.get(r.beach_id or 0, ""),
            "author": author_label(request, users.get(r.user_id, ""), teams.get(r.team_id or 0)),
            "submitted": local_time(r.submitted_at),
            "objection": r.id in open_objections,
        }
        for r in reports
    ]


@router.get("/reports")
def report_list(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    query = dict(request.query_params)
    problems: dict[str, str] = {}
    filters = parse_filters(query, problems)
    params = page_params(query.get("page", ""), query.get("size", ""))
    beaches = list(db.execute(beach_service.list_query(db, principal).order_by(Beach.beach_name, Beach.id)).scalars())
    rows: list[dict[str, Any]] = []
    meta = page_meta(params.page, params.size, 0)
    if not problems:
        found, meta = paginate(db, report_query(db, principal, filters), params, report_order(filters))
        rows = list_rows(request, db, found)
    return render(
        request,
        "admin/reports/list.html",
        400 if problems else 200,
        nav="reports",
        rows=rows,
        filters=filters,
        beaches=beaches,
        pager=pager(request, meta),
        errors=error_texts(request, problems),
        types=list(ReportType),
        statuses=list(ADMIN_STATUSES),
        sorts=sort_links(request, filters.sort, ("id", "submitted_at"), default="submitted_at,desc", first="desc"),
    )


# ---- one report --------------------------------------------------------------------------------


def _visible(db: Session, principal: Principal, *conditions: Any) -> list[Report]:
    stmt = select(Report).where(report_service.visible_clause(db, principal), *conditions).order_by(Report.id)
    return list(db.execute(stmt).scalars())


def chain_of(db: Session, principal: Principal, report: Report) -> dict[str, list[Report]]:
    """The investigation → cleaning → collection-request chain the report belongs to (only what
    the admin may see; usually one report per stage)."""
    investigations: list[Report] = []
    cleanings: list[Report] = []
    requests: list[Report] = []
    if report.type == ReportType.INVESTIGATION:
        investigations = [report]
        cleanings = _visible(
            db, principal, Report.investigation_report_id == report.id, Report.type == ReportType.CLEANING
        )
    elif report.type == ReportType.CLEANING:
        cleanings = [report]
        if report.investigation_report_id is not None:
            investigations = _visible(db, principal, Report.id == report.investigation_report_id)
    else:
        if report.cleaning_report_id is not None:
            cleanings = _visible(db, principal, Report.id == report.cleaning_report_id)
        inv_ids = [c.investigation_report_id for c in cleanings if c.investigation_report_id is not None]
        if inv_ids:
            investigations = _visible(db, principal, Report.id.in_(inv_ids))
    if cleanings:
        requests = _visible(
            db,
            principal,
            Report.cleaning_report_id.in_([c.id for c in cleanings]),
            Report.type == ReportType.COLLECTION_REQUEST,
        )
    if report.type == ReportType.COLLECTION_REQUEST and report.id not in {r.id for r in requests}:
        requests.append(report)
    return {"investigations": investigations, "cleanings": cleanings, "requests": requests}


def _depot_rows(db: Session, request_ids: list[int]) -> dict[int, list[CollectionDepot]]:
    out: dict[int, list[CollectionDepot]] = {}
    if not request_ids:
        return out
    for depot in db.execute(
        select(CollectionDepot)
        .where(CollectionDepot.report_id.in_(request_ids))
        .order_by(CollectionDepot.report_id, CollectionDepot.position, CollectionDepot.id)
    ).scalars():
        out.setdefault(depot.report_id, []).append(depot)
    return out


def map_features(request: Request, data: dict[str, Any], beach: Beach | None) -> list[dict[str, Any]]:
    """The report's locations for ``BSMap.render``: its GPS point, each area (start → end) and
    each depot; the beach when there is nothing else."""
    from beachsaver.web import i18n

    lang = common.language(request)
    features: list[dict[str, Any]] = []
    if data["gps_lat"] is not None and data["gps_lng"] is not None:
        features.append(
            {"lat": data["gps_lat"], "lng": data["gps_lng"], "label": i18n.text("reports.map.report_point", lang)}
        )
    for n, area in enumerate(data["areas"], start=1):
        name = area["area_name"] or i18n.text("reports.area_n", lang, n=n)
        start = (area["start_latitude"], area["start_longitude"])
        end = (area["end_latitude"], area["end_longitude"])
        if None not in start:
            feature: dict[str, Any] = {
                "lat": start[0],
                "lng": start[1],
                "label": i18n.text("reports.map.area", lang, name=name),
                "kind": "area",
            }
            if None not in end:
                feature["line"] = [list(start), list(end)]
            features.append(feature)
    for depot in data["collection_depots"]:
        if depot["latitude"] is None or depot["longitude"] is None:
            continue
        status = depot["status"] or ""
        label = depot["name"] or f"#{depot['id']}"
        if status:
            label += " · " + i18n.text(f"depot_status.{status}", lang)
        features.append(
            {
                "lat": depot["latitude"],
                "lng": depot["longitude"],
                "label": label,
                "status": status,
                "href": f"/admin/depots/{depot['id']}",
            }
        )
    if not features and beach is not None:
        features.append(
            {
                "lat": float(beach.latitude),
                "lng": float(beach.longitude),
                "label": i18n.text("reports.map.beach", lang, name=beach.beach_name),
            }
        )
    return features


@router.get("/reports/{report_id}")
def report_detail(request: Request, db: DbSession, report_id: str) -> Response:
    principal = common.admin_principal(request, db)
    report = report_service.get_visible(db, principal, path_id(report_id))
    data = report_service.present(db, report)
    chain = chain_of(db, principal, report)
    chain_reports = [r for stage in chain.values() for r in stage]
    request_ids = [r.id for r in chain["requests"]]
    chain_depots = _depot_rows(db, request_ids)
    own_depots = {d.id: d for d in chain_depots.get(report.id, [])}
    objections = list(
        db.execute(select(Objection).where(Objection.report_id == report.id).order_by(Objection.created_at)).scalars()
    )
    people = user_names(
        db,
        [
            report.user_id,
            report.reviewed_by,
            *data["co_worker_ids"],
            *(c["user_id"] for c in data["contributions"]),
            *(c["user_id"] for c in data["credits"]),
            *(o.user_id for o in objections),
            *(d.collector_id for depots in chain_depots.values() for d in depots),
            *(r.user_id for r in chain_reports),
        ],
    )
    teams = team_names(db, [report.team_id, report.claimed_by_team_id, *(r.team_id for r in chain_reports)])
    beach = db.get(Beach, report.beach_id) if report.beach_id else None
    org = db.get(Organization, report.org_id)
    images = thumbnails(
        db,
        [
            *(i for c in data["contributions"] for i in c["image_ids"]),
            *(i for d in data["collection_depots"] for i in d["image_ids"]),
            *(d.completion_image_id for d in own_depots.values()),
            *(d.issue_image_id for d in own_depots.values()),
        ],
    )
    depot_photos = {
        d["id"]: [
            images[i]
            for i in [*d["image_ids"], getattr(own_depots.get(d["id"]), "completion_image_id", None)]
            if i is not None and i in images
        ]
        for d in data["collection_depots"]
    }
    contribution_photos = {c["id"]: [images[i] for i in c["image_ids"] if i in images] for c in data["contributions"]}
    return render(
        request,
        "admin/reports/detail.html",
        nav="reports",
        report=data,
        row=report,
        author=author_label(request, people.get(report.user_id, ""), teams.get(report.team_id or 0)),
        people=people,
        teams=teams,
        beach=beach,
        org=org,
        chain=chain,
        chain_depots=chain_depots,
        own_depots=own_depots,
        objections=objections,
        open_objections=[o for o in objections if o.status == "OPEN"],
        depot_photos=depot_photos,
        contribution_photos=contribution_photos,
        features=map_features(request, data, beach),
        tile_url=tile_url(request),
        time=local_time,
        num=number,
        may_review=report.status == ReportStatus.SUBMITTED,
        may_adjust=report.type == ReportType.CLEANING and report.status != ReportStatus.DRAFT and bool(data["credits"]),
        status_class=STATUS_COLOURS,
    )
