"""Console: statistics (ADM-10..12, G-31/32/34) and maps (``/admin/statistics``, ``/admin/maps``).

Both read through the statistics package exactly as ``GET /api/statistics`` and
``GET /api/statistics/map`` do (``service.resolve`` checks the filters against the admin's scope,
then ``service.rows`` / ``maps.*``). The Excel export and the PDF summary are the API's own
downloads (``/api/statistics/export`` with the picked columns, ``/api/statistics/report.pdf``);
PDF schedules are forms sent to ``/api/statistics/report-schedules``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from beachsaver.core import errors
from beachsaver.core.deps import DbSession, Principal
from beachsaver.core.enums import DepotStatus, LitterType, ReportType
from beachsaver.core.paging import paginate
from beachsaver.core.time import seoul_today
from beachsaver.reports_pdf import service as pdf_service
from beachsaver.reports_pdf.models import ReportSchedule
from beachsaver.reports_pdf.schemas import Frequency, Language
from beachsaver.statistics import export, forecast, maps
from beachsaver.statistics import service as stats_service
from beachsaver.statistics.schemas import GroupBy, Period
from beachsaver.web import common, i18n, listing
from beachsaver.web.admin import analytics_support as support
from beachsaver.web.common import WebRoute, render

router = APIRouter(route_class=WebRoute)

#: The name shown for a row's key (the id columns stay in the export).
KEY_LABEL = {
    GroupBy.PERIOD: "period",
    GroupBy.ORG: "org_name",
    GroupBy.BEACH: "beach_name",
    GroupBy.TEAM: "team_name",
    GroupBy.USER: "nickname",
    GroupBy.TRASH_TYPE: "trash_type",
}
#: The key columns of the rows (every other column is a figure).
KEY_COLUMNS = frozenset(
    {"period", "org_id", "org_name", "beach_id", "beach_name", "team_id", "team_name", "user_id", "nickname"}
    | {"trash_type"}
)
#: Figures that are not added up in the total row (an average is not a total).
NOT_SUMMED = frozenset({"avg_hours_to_collection"})
SCHEDULE_ORDER = [ReportSchedule.created_at.desc(), ReportSchedule.id.desc()]
#: The forecast bands, lowest first (the labels of ``forecast.band``).
BANDS = (*(label for _, label in forecast.BANDS), forecast.TOP_BAND)


def _number(value: Any) -> str:
    """A figure as people copy it: integers as they are, amounts with at most two decimals."""
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return text if text not in ("-0", "") else "0"
    return str(value)


def _total(rows: list[dict[str, Any]], figure: str) -> Any:
    if figure in NOT_SUMMED:
        return None
    values = [r.get(figure) for r in rows]
    if not values or any(v is None for v in values):
        return None
    if all(isinstance(v, int) for v in values):
        return sum(values)
    return float(sum((Decimal(str(v)) for v in values), Decimal(0)))


def _period_label(value: str, period: Period) -> str:
    if period == Period.MONTH:
        return value[:7]
    if period == Period.YEAR:
        return value[:4]
    return value


def _default_range(params: Any) -> tuple[str, str]:
    """First visit (no ``from``/``to`` in the query): the last twelve months up to today."""
    if "from" in params or "to" in params:
        return (params.get("from") or "").strip(), (params.get("to") or "").strip()
    today = seoul_today()
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1).isoformat(), today.isoformat()


def _read_filters(request: Request) -> tuple[support.Query, dict[str, Any]]:
    query = support.Query(request.query_params)
    date_from, date_to = _default_range(request.query_params)
    for name, value in (("from", date_from), ("to", date_to)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                query.problems.append({"field": name, "message": "invalid_date"})
    filters = {
        "group_by": query.choice("group_by", [g.value for g in GroupBy], upper=False) or GroupBy.PERIOD.value,
        "period": query.choice("period", [p.value for p in Period], upper=False) or Period.MONTH.value,
        "from": date_from,
        "to": date_to,
        "org_id": query.ident("org_id") or "",
        "beach_id": query.ident("beach_id") or "",
        "type": query.choice("type", [t.value for t in ReportType]) or "",
    }
    return query, filters


def _resolve(db: DbSession, principal: Principal, filters: dict[str, Any]) -> stats_service.Filters:
    return stats_service.resolve(
        db,
        principal,
        date_from=filters["from"] or None,
        date_to=filters["to"] or None,
        org_id=filters["org_id"] or None,
        beach_id=filters["beach_id"] or None,
        type=ReportType(filters["type"]) if filters["type"] else None,
    )


def _api_query(filters: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: filters[k] for k in names if filters.get(k) not in (None, "")}


@router.get("/statistics")
def statistics_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    lang = common.language(request)
    query, filters = _read_filters(request)
    group_by, period = GroupBy(filters["group_by"]), Period(filters["period"])
    columns = list(stats_service.columns_for(group_by))
    figures = [c for c in columns if c not in KEY_COLUMNS]
    orgs = listing.org_choices(db, principal)
    values: dict[str, Any] = {
        "nav": "statistics",
        "filters": filters,
        "group_bys": [g.value for g in GroupBy],
        "periods": [p.value for p in Period],
        "types": [t.value for t in ReportType],
        "orgs": orgs,
        "org_names": support.names(orgs),
        "beaches": support.beach_choices(db, principal),
        "columns": [{"key": c, "label": export.label(c, lang)} for c in columns],
        "figures": [{"key": c, "label": export.label(c, lang)} for c in figures],
        "key_label": export.label(KEY_LABEL[group_by], lang),
        "rows": [],
        "totals": {},
        "chart": {},
        "errors": {},
        "number": _number,
        "frequencies": [f.value for f in Frequency],
        "languages": [lang_.value for lang_ in Language],
        "local": listing.local_time,
    }
    schedules, meta = paginate(db, pdf_service.schedules_query(db, principal), query.paging(), SCHEDULE_ORDER)
    values["schedules"] = [pdf_service.present_schedule(s) for s in schedules]
    values["pager"] = listing.pager(request, meta)
    try:
        query.check()
        resolved = _resolve(db, principal, filters)
        rows = stats_service.rows(db, resolved, group_by, period)
    except errors.ValidationFailed as exc:
        values["errors"] = support.field_errors(exc, lang)
        return render(request, "admin/statistics/index.html", 400, **values)
    key = KEY_LABEL[group_by]
    for row in rows:
        raw = row.get(key)
        if raw is None:
            row["_label"] = None
        elif group_by == GroupBy.PERIOD:
            row["_label"] = _period_label(str(raw), period)
        else:
            row["_label"] = str(raw)
    values["rows"] = rows
    values["totals"] = {f: _total(rows, f) for f in figures}
    values["chart"] = {
        "labels": [r["_label"] for r in rows],
        "series": {f: [r.get(f) for r in rows] for f in figures},
        "names": {f: export.label(f, lang) for f in figures},
    }
    export_query = _api_query(filters, "group_by", "period", "from", "to", "org_id", "beach_id", "type")
    values["export_hidden"] = export_query
    values["export_href"] = "/api/statistics/export?" + urlencode(export_query)
    values["pdf_href"] = "/api/statistics/report.pdf?" + urlencode(_api_query(filters, "from", "to", "org_id"))
    return render(request, "admin/statistics/index.html", **values)


# ---- maps --------------------------------------------------------------------------------------


def map_text(lang: str) -> dict[str, Any]:
    """The legend's words for the map script (the same catalogue ids as the page's legend)."""

    def labels(prefix: str, keys: list[str] | tuple[str, ...]) -> dict[str, str]:
        return {k: i18n.text(prefix + k, lang) for k in keys}

    litter = [t.value for t in LitterType]
    depot = [s.value for s in DepotStatus]
    return {
        "litter": labels("analytics.litter.", litter),
        "litter_short": labels("analytics.litter_short.", litter),
        "litter_order": litter,
        "depot": labels("depot_status.", depot),
        "depot_symbol": labels("analytics.maps.depot_symbol.", depot),
        "band": labels("analytics.band.", BANDS),
        "band_short": labels("analytics.band_short.", BANDS),
        "bands": list(BANDS),
        "no_litter": i18n.text("analytics.maps.no_litter", lang),
        "no_forecast": i18n.text("analytics.maps.no_forecast", lang),
    }


@router.get("/maps")
def maps_page(request: Request, db: DbSession) -> Response:
    principal = common.admin_principal(request, db)
    lang = common.language(request)
    query, filters = _read_filters(request)
    status = query.choice("status", [s.value for s in DepotStatus])
    filters = {k: filters[k] for k in ("from", "to", "org_id", "beach_id", "type")} | {"status": status or ""}
    orgs = listing.org_choices(db, principal)
    values: dict[str, Any] = {
        "nav": "maps",
        "filters": filters,
        "types": [t.value for t in ReportType],
        "depot_statuses": [s.value for s in DepotStatus],
        "litter_types": [t.value for t in LitterType],
        "bands": BANDS,
        "orgs": orgs,
        "beaches": support.beach_choices(db, principal),
        "layers": None,
        "errors": {},
        "number": _number,
        "tile_url": listing.tile_url(request),
    }
    try:
        query.check()
        resolved = _resolve(db, principal, filters)
    except errors.ValidationFailed as exc:
        values["errors"] = support.field_errors(exc, lang)
        return render(request, "admin/maps/index.html", 400, **values)
    values["map_text"] = map_text(lang)
    values["layers"] = {
        "litter": maps.litter(db, resolved),
        "depots": maps.depots(db, resolved, DepotStatus(status) if status else None),
        "forecast": maps.forecast_layer(db, resolved),
    }
    return render(request, "admin/maps/index.html", **values)
