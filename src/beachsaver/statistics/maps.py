"""GeoJSON for the console's maps (07 §10): litter per beach, depots by state, the forecast.

Every layer is a FeatureCollection of Points (``[longitude, latitude]``) built from plain rows
(no ORM objects), with a fixed number of statements whatever the number of features.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Select, String, cast, func, null, select
from sqlalchemy.orm import Session

from beachsaver.beaches.models import Beach
from beachsaver.core.enums import DepotStatus, ReportType
from beachsaver.core.time import seoul_today
from beachsaver.depots.models import CollectionDepot
from beachsaver.reports.models import Report, ReportArea
from beachsaver.statistics import forecast, sql
from beachsaver.statistics.service import LIVE, Filters

UNIT_KG = "kg"
UNIT_LITRES = "l"


def _point(lng: Any, lat: Any) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(float(lng), 7), round(float(lat), 7)]}


def _beaches(db: Session, f: Filters) -> list[Any]:
    stmt = select(Beach.id, Beach.beach_name, Beach.latitude, Beach.longitude).where(Beach.org_id.in_(f.org_ids))
    if f.beach_id is not None:
        stmt = stmt.where(Beach.id == f.beach_id)
    return list(db.execute(stmt.order_by(Beach.id)).all())


def _collection(layer: str, features: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "layer": layer, "features": features, **extra}


def _report_conditions(f: Filters, *, dated: bool = True) -> list[Any]:
    conditions: list[Any] = [Report.status.in_(LIVE), Report.org_id.in_(f.org_ids)]
    if f.beach_id is not None:
        conditions.append(Report.beach_id == f.beach_id)
    if dated and f.lo is not None:
        conditions.append(Report.event_at >= f.lo)
    if dated and f.hi is not None:
        conditions.append(Report.event_at < f.hi)
    return conditions


def _depot_conditions(f: Filters, dated_by: Any | None) -> list[Any]:
    conditions: list[Any] = [
        Report.status.in_(LIVE),
        Report.type == ReportType.COLLECTION_REQUEST,
        CollectionDepot.org_id.in_(f.org_ids),
        CollectionDepot.status.is_not(None),
    ]
    if f.beach_id is not None:
        conditions.append(Report.beach_id == f.beach_id)
    if dated_by is not None and f.lo is not None:
        conditions.append(dated_by >= f.lo)
    if dated_by is not None and f.hi is not None:
        conditions.append(dated_by < f.hi)
    return conditions


# ---- litter ------------------------------------------------------------------------------------


def litter(db: Session, f: Filters) -> dict[str, Any]:
    """Per beach: kg cleaned plus kg collected in the period (unit ``kg``); with
    ``type=INVESTIGATION`` the litres estimated (unit ``l``, no band); ``type=CLEANING`` or
    ``COLLECTION_REQUEST`` keeps that part of the kg. ``trash_type`` is the dominant litter type
    of the beach's areas (by the same measure), ``null`` without areas."""
    litres_mode = f.type == ReportType.INVESTIGATION
    value: dict[int, Decimal] = defaultdict(Decimal)
    by_type: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    area_type = ReportType.INVESTIGATION if litres_mode else ReportType.CLEANING
    if litres_mode or f.wants(ReportType.CLEANING):
        measure = ReportArea.trash_amount_est_l if litres_mode else ReportArea.trash_amount_kg
        stmt = (
            select(Report.beach_id, ReportArea.main_trash_type, func.sum(measure))
            .select_from(Report)
            .join(ReportArea, ReportArea.report_id == Report.id)
            .where(*_report_conditions(f), Report.type == area_type)
            .group_by(Report.beach_id, ReportArea.main_trash_type)
            .order_by(null())
        )
        for beach_id, trash_type, amount in db.execute(stmt):
            amount = Decimal(str(amount or 0))
            value[beach_id] += amount
            if trash_type is not None:
                by_type[beach_id][trash_type] += amount
    if not litres_mode and f.wants(ReportType.COLLECTION_REQUEST):
        completed_at = CollectionDepot.collection_completed_at
        collected = (
            select(Report.beach_id, func.sum(CollectionDepot.collected_amount))
            .select_from(CollectionDepot)
            .join(Report, Report.id == CollectionDepot.report_id)
            .where(*_depot_conditions(f, completed_at), CollectionDepot.status == DepotStatus.COMPLETED)
            .group_by(Report.beach_id)
            .order_by(null())
        )
        for beach_id, amount in db.execute(collected):
            value[beach_id] += Decimal(str(amount or 0))
    features = []
    for beach_id, name, lat, lng in _beaches(db, f):
        amount = float(round(value.get(beach_id, Decimal(0)), 2))
        types = by_type.get(beach_id)
        dominant = max(sorted(types), key=lambda t: types[t]) if types else None
        features.append(
            {
                "type": "Feature",
                "geometry": _point(lng, lat),
                "properties": {
                    "beach_id": beach_id,
                    "beach_name": name,
                    "value": amount,
                    "unit": UNIT_LITRES if litres_mode else UNIT_KG,
                    "band": None if litres_mode else forecast.band(amount),
                    "trash_type": dominant,
                },
            }
        )
    return _collection("litter", features, unit=UNIT_LITRES if litres_mode else UNIT_KG)


# ---- depots ------------------------------------------------------------------------------------


def _depot_select(f: Filters, status: DepotStatus | None, *, numbers_as_text: bool = False) -> Select[Any]:
    """``(id, status, latitude, longitude, name, report_id, beach_id, collected_amount)`` of the
    depots of live requests in scope, dated by their request's submission, unordered. MariaDB
    reads them from two covering indexes (migration 0006): the requests from the reports'
    ``(org_id, type, status, event_at, beach_id)``, their depots from ``(report_id, status,
    latitude, longitude, collected_amount, name)``.

    ``numbers_as_text``: the coordinates and the amount as the database writes them (``CAST(…
    AS CHAR)``: on MariaDB the very text the driver would otherwise parse into a ``Decimal``; on
    SQLite its 15-digit text of the stored float, the same number), for callers that turn them
    into floats anyway: no ``Decimal`` per value."""
    numbers = (CollectionDepot.latitude, CollectionDepot.longitude, CollectionDepot.collected_amount)
    lat, lng, collected = (cast(c, String) for c in numbers) if numbers_as_text else numbers
    stmt = (
        select(
            CollectionDepot.id,
            CollectionDepot.status,
            lat,
            lng,
            CollectionDepot.name,
            CollectionDepot.report_id,
            Report.beach_id,
            collected,
        )
        .select_from(Report)
        .join(CollectionDepot, CollectionDepot.report_id == Report.id)
        .where(
            *_report_conditions(f),
            Report.type == ReportType.COLLECTION_REQUEST,
            CollectionDepot.org_id.in_(f.org_ids),
            CollectionDepot.status.is_not(None),
            CollectionDepot.latitude.is_not(None),
            CollectionDepot.longitude.is_not(None),
        )
    )
    if status is not None:
        stmt = stmt.where(CollectionDepot.status == status)
    return stmt


def _depot_rows(db: Session, f: Filters, status: DepotStatus | None) -> Any:
    """The depots' rows by id: plain Core rows on the session's connection (no ORM row processing)."""
    return db.connection().execute(_depot_select(f, status).order_by(CollectionDepot.id))


def depots(db: Session, f: Filters, status: DepotStatus | None = None) -> dict[str, Any]:
    """Depots of live requests in scope, dated by their request's submission; ``status`` filters."""
    features = [
        {
            "type": "Feature",
            "geometry": _point(lng, lat),
            "properties": {
                "depot_id": depot_id,
                "status": depot_status,
                "name": name,
                "report_id": report_id,
                "beach_id": beach_id,
                "collected_amount": float(collected) if collected is not None else None,
            },
        }
        for depot_id, depot_status, lat, lng, name, report_id, beach_id, collected in _depot_rows(db, f, status)
    ]
    return _collection("depots", features)


#: One depot feature, as ``depots`` builds it and Starlette's JSONResponse encodes it (compact
#: separators, non-ASCII kept as UTF-8).
_DEPOT_FEATURE = (
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[%r,%r]},'
    '"properties":{"depot_id":%d,"status":%s,"name":%s,"report_id":%s,"beach_id":%s,"collected_amount":%s}}'
)
#: The envelope around the features (``ok(...)``).
_DEPOTS_HEAD = '{"success":true,"data":{"type":"FeatureCollection","layer":"depots","features":['
_DEPOTS_TAIL = ']},"error":null,"meta":null}'


def _json_id(value: Any) -> str:
    return "null" if value is None else str(int(value))


def depots_json(db: Session, f: Filters, status: DepotStatus | None = None) -> bytes:
    """The API answer (envelope included) of the depots layer as JSON bytes, encoded straight
    from the rows: the same document as ``JSONResponse(ok(depots(...)))`` without the
    intermediate dicts (tens of thousands of features).

    The rows are streamed (an unbuffered cursor on MariaDB) without ``ORDER BY``: the driver
    parses them while the server is still finding them, where a sort on the server would hold
    every row back until the last. Each row is encoded as it comes and kept only as its text,
    by depot id, then the texts are joined in id order (ids are unique: the order of ``ORDER BY
    id``); so no more than a batch of rows is alive at a time, which spares the garbage
    collector tens of thousands of objects per request. The numbers come as text (see
    ``_depot_select``): ``float()`` of the text is ``float()`` of the ``Decimal`` it spells."""
    text = encode_basestring
    stmt = _depot_select(f, status, numbers_as_text=True)
    features: dict[int, str] = {}
    for depot_id, depot_status, lat, lng, name, report_id, beach_id, collected in db.connection().execute(
        stmt, execution_options={"stream_results": True}
    ):
        features[depot_id] = _DEPOT_FEATURE % (
            round(float(lng), 7),
            round(float(lat), 7),
            depot_id,
            "null" if depot_status is None else text(str(depot_status)),
            "null" if name is None else text(name),
            _json_id(report_id),
            _json_id(beach_id),
            "null" if collected is None else repr(float(collected)),
        )
    body = ",".join([features[depot_id] for depot_id in sorted(features)])
    return (_DEPOTS_HEAD + body + _DEPOTS_TAIL).encode()


# ---- forecast ----------------------------------------------------------------------------------


def monthly_history(db: Session, f: Filters) -> dict[int, dict[int, float]]:
    """beach id → month index → kg cleaned plus kg collected (all history, Seoul months)."""
    history: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    cleaned_month = sql.kst_month(db, Report.event_at)
    cleaned = (
        select(Report.beach_id, cleaned_month, func.sum(ReportArea.trash_amount_kg))
        .select_from(Report)
        .join(ReportArea, ReportArea.report_id == Report.id)
        .where(*_report_conditions(f, dated=False), Report.type == ReportType.CLEANING)
        .group_by(Report.beach_id, cleaned_month)
        .order_by(null())
    )
    completed_at = CollectionDepot.collection_completed_at
    collected_month = sql.kst_month(db, completed_at)
    collected = (
        select(Report.beach_id, collected_month, func.sum(CollectionDepot.collected_amount))
        .select_from(CollectionDepot)
        .join(Report, Report.id == CollectionDepot.report_id)
        .where(*_depot_conditions(f, None), CollectionDepot.status == DepotStatus.COMPLETED)
        .group_by(Report.beach_id, collected_month)
        .order_by(null())
    )
    for stmt in (cleaned, collected):
        for beach_id, month, kg in db.execute(stmt):
            if beach_id is None or month is None:
                continue
            history[beach_id][forecast.month_index(sql.month_of(month))] += float(kg or 0)
    return history


def forecast_layer(db: Session, f: Filters, today: date | None = None) -> dict[str, Any]:
    """Expected kg per beach for the month after the current Seoul month (from/to and type do
    not apply: the forecast always uses the whole cleaned + collected history)."""
    current = forecast.month_index(today or seoul_today())
    target = current + 1
    history = monthly_history(db, f)
    features = []
    beaches = _beaches(db, f)
    for beach_id, name, lat, lng in beaches:
        expected = forecast.predict(history.get(beach_id, {}), target)
        value = round(expected, 2) if expected is not None else None
        features.append(
            {
                "type": "Feature",
                "geometry": _point(lng, lat),
                "properties": {
                    "beach_id": beach_id,
                    "beach_name": name,
                    "value": value,
                    "unit": UNIT_KG,
                    "band": forecast.band(value),
                },
            }
        )
    in_map = {b[0] for b in beaches}
    test = forecast.backtest({b: s for b, s in history.items() if b in in_map}, current)
    return _collection(
        "forecast",
        features,
        unit=UNIT_KG,
        forecast_month=forecast.month_label(target),
        method=forecast.METHOD,
        backtest_mape=test.mape,
        backtest_pairs=test.pairs,
        backtest_months=test.months,
    )
