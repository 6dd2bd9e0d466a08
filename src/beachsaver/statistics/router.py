"""Statistics, export, maps, dashboard (admins) and a worker's own performance.

Full paths, no prefix: ``/api/users/me/performance`` lives here too (two segments after
``/api/users``, so it never meets ``/api/users/{user_id}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from beachsaver.audit import service as audit
from beachsaver.core.deps import AdminUser, DbSession, Principal, require_roles
from beachsaver.core.enums import WORKER_ROLES, DepotStatus, ReportType
from beachsaver.core.envelope import Envelope, ok
from beachsaver.core.http import ApiRoute
from beachsaver.core.i18n import pick_language
from beachsaver.core.time import seoul_today
from beachsaver.statistics import export, kpis, maps, service
from beachsaver.statistics.schemas import (
    DashboardOut,
    FeatureCollection,
    GroupBy,
    Layer,
    PerformanceOut,
    Period,
    StatisticsRow,
)

router = APIRouter(tags=["statistics"], route_class=ApiRoute)

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
Worker = Depends(require_roles(*WORKER_ROLES))


@dataclass
class StatsParams:
    date_from: str | None
    date_to: str | None
    org_id: int | None
    beach_id: int | None
    type: ReportType | None


def stats_params(
    date_from: Annotated[
        str | None, Query(alias="from", pattern=DATE_PATTERN, description="first day, YYYY-MM-DD (Asia/Seoul)")
    ] = None,
    to: Annotated[str | None, Query(pattern=DATE_PATTERN, description="last day, YYYY-MM-DD (Asia/Seoul)")] = None,
    org_id: Annotated[int | None, Query(gt=0, le=2**63 - 1, description="an organisation's subtree")] = None,
    beach_id: Annotated[int | None, Query(gt=0, le=2**63 - 1)] = None,
    type: Annotated[ReportType | None, Query(description="keep the figures of one report type")] = None,
) -> StatsParams:
    return StatsParams(date_from=date_from, date_to=to, org_id=org_id, beach_id=beach_id, type=type)


Params = Annotated[StatsParams, Depends(stats_params)]
GroupByQuery = Annotated[GroupBy, Query(description="period, org, beach, team, user or trash_type")]
PeriodQuery = Annotated[Period, Query(description="day, week, month or year (group_by=period)")]


def _filters(db: DbSession, principal: Principal, params: StatsParams) -> service.Filters:
    return service.resolve(
        db,
        principal,
        date_from=params.date_from,
        date_to=params.date_to,
        org_id=params.org_id,
        beach_id=params.beach_id,
        type=params.type,
    )


STATS_DESCRIPTION = (
    "Unpaged rows `{<key>, investigation_reports, cleaning_reports, collection_requests, litres_estimated, "
    "kg_cleaned, kg_collected, depots_waiting, depots_collected, volunteer_hours, avg_hours_to_collection}`. "
    "Reports count when SUBMITTED or APPROVED, dated by investigation/cleaning time (else submission) in "
    "Asia/Seoul; `group_by=period` lists every period from `from` (or the first data) to `to` (or the last), "
    "keyed by its first day (ISO weeks start on Monday); `group_by=org` groups by the children of `org_id` "
    "(default: my organisation; itself when it has none). Without `from`/`to`: all time."
)


@router.get(
    "/api/statistics",
    response_model=Envelope[list[StatisticsRow]],
    summary="Statistics rows",
    description=STATS_DESCRIPTION,
)
def get_statistics(
    db: DbSession,
    principal: AdminUser,
    params: Params,
    group_by: GroupByQuery = GroupBy.PERIOD,
    period: PeriodQuery = Period.MONTH,
) -> Any:
    filters = _filters(db, principal, params)
    # The rows are built exactly as documented; answering them directly skips re-validating
    # what can be thousands of rows.
    return JSONResponse(ok(service.rows(db, filters, group_by, period)))


@router.get(
    "/api/statistics/export",
    summary="Statistics rows as an Excel file",
    description="The rows of `GET /api/statistics` as .xlsx; `columns=` (comma-separated or repeated) picks "
    "and orders the columns by response field name; headers follow Accept-Language (Korean by default).",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the workbook",
            "content": {export.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def export_statistics(
    request: Request,
    db: DbSession,
    principal: AdminUser,
    params: Params,
    group_by: GroupByQuery = GroupBy.PERIOD,
    period: PeriodQuery = Period.MONTH,
    columns: Annotated[
        list[str] | None, Query(max_length=50, description="columns to include, e.g. period,kg_cleaned")
    ] = None,
) -> StreamingResponse:
    chosen = export.pick_columns(columns, service.columns_for(group_by))
    filters = _filters(db, principal, params)
    # Every statement runs here, inside the request's transaction; the workbook is then
    # formatted and deflated from the figures in memory as the client reads it.
    table = service.table(db, filters, group_by, period)
    lang = pick_language(request.headers.get("accept-language"))
    audit.record(
        db,
        "STATISTICS_EXPORT",
        actor_id=principal.id,
        target_type="ORGANIZATION",
        target_id=filters.org.id,
        org_id=filters.org.id,
        after={"group_by": str(group_by), "period": str(period), "rows": table.count, "columns": chosen},
    )
    stamp = seoul_today().strftime("%Y%m%d")
    return StreamingResponse(
        export.stream_xlsx(table, table.fields, chosen, lang, table.count),
        media_type=export.XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="statistics-{group_by.value}-{stamp}.xlsx"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/api/statistics/map",
    response_model=Envelope[FeatureCollection],
    summary="GeoJSON for the maps",
    description="`layer=litter`: per beach kg cleaned + collected in the period (`unit: kg`; with "
    "`type=INVESTIGATION` litres estimated, `unit: l`), `band` in tonnes, dominant `trash_type`. "
    "`layer=depots`: depots of live requests by state (`status` filters), dated by their request. "
    "`layer=forecast`: expected kg per beach for next month (seasonal-naive: same month last year, "
    "else the mean of the last 3 complete months), bands 0-1t, 1-5t, 5-10t, 10t+, and `backtest_mape` (%) "
    "of the last 12 months (null with too little history); `from`, `to` and `type` do not apply to it.",
)
def get_map(
    db: DbSession,
    principal: AdminUser,
    params: Params,
    layer: Annotated[Layer, Query(description="litter, depots or forecast")],
    status: Annotated[DepotStatus | None, Query(description="depots layer: one state")] = None,
) -> Any:
    filters = _filters(db, principal, params)
    if layer == Layer.DEPOTS:
        # Tens of thousands of features: encoded straight from the rows (see 04 §2).
        return Response(maps.depots_json(db, filters, status), media_type=JSONResponse.media_type)
    collection = maps.forecast_layer(db, filters) if layer == Layer.FORECAST else maps.litter(db, filters)
    # Tens of thousands of features: answered as built, not re-validated (see 04 §2).
    return JSONResponse(ok(collection))


@router.get(
    "/api/statistics/dashboard",
    response_model=Envelope[DashboardOut],
    summary="Dashboard KPIs",
    description="Workers active today (signed in, or submitted a report, completed a depot or added a "
    "contribution today, Asia/Seoul), work done today (reports submitted + depots completed), reports by "
    "type and status, depots by status, open alerts.",
)
def get_dashboard(
    request: Request,
    db: DbSession,
    principal: AdminUser,
    org_id: Annotated[int | None, Query(gt=0, le=2**63 - 1, description="an organisation's subtree")] = None,
) -> dict[str, Any]:
    filters = service.resolve(db, principal, org_id=org_id)
    lang = pick_language(request.headers.get("accept-language"))
    return ok(kpis.dashboard(db, filters.org_ids, lang))


@router.get(
    "/api/users/me/performance",
    response_model=Envelope[PerformanceOut],
    tags=["users"],
    summary="My figures (workers)",
    description="Reports I submitted by type, kg cleaned credited to me, kg and depots I collected, my hours; "
    "this month (Asia/Seoul) and all time.",
)
def my_performance(db: DbSession, principal: Principal = Worker) -> dict[str, Any]:
    return ok(kpis.performance(db, principal))
