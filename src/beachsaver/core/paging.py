"""Paging, sorting and filtering of list endpoints (02-api §1, 07 §3).

Each list declares the fields it can sort and filter on; anything else is a 400 naming the
query parameter (``query.sort`` / ``query.filter``), every problem listed. Default order:
``created_at`` desc then ``id`` desc; a page past the end is an empty list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Query
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from beachsaver.core import errors
from beachsaver.core.envelope import page_meta

MAX_PAGE_SIZE = 100
#: Far past any real list, and (page - 1) × size still fits the databases' 64-bit OFFSET.
MAX_PAGE = 1_000_000_000
DEFAULT_PAGE_SIZE = 20


@dataclass
class PageParams:
    page: int
    size: int
    sort: str | None
    filter: str | None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def page_params(
    page: int = Query(1, ge=1, le=MAX_PAGE, description="page number, from 1"),
    size: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="page size, at most 100"),
    sort: str | None = Query(None, max_length=500, description="field,asc|desc; several separated by ';'"),
    filter: str | None = Query(None, max_length=2000, description="field=value,field=value"),
) -> PageParams:
    """The paging query parameters. Limits are declared on the parameters so that FastAPI
    reports them together with every other query problem, and OpenAPI documents them."""
    return PageParams(page=page, size=size, sort=sort, filter=filter)


def parse_filter(
    params: PageParams, allowed: Mapping[str, Callable[[str], ColumnElement[bool]]]
) -> list[ColumnElement[bool]]:
    """``field=value,field=value`` → WHERE clauses; unknown fields and bad values → 400."""
    if not params.filter:
        return []
    clauses: list[ColumnElement[bool]] = []
    problems: list[dict[str, str]] = []
    for part in params.filter.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            problems.append({"field": "query.filter", "message": "filter_syntax", "name": part.strip()})
            continue
        if name not in allowed:
            problems.append({"field": "query.filter", "message": "unknown_filter_field", "name": name})
            continue
        try:
            clauses.append(allowed[name](value.strip()))
        except (ValueError, KeyError, TypeError, LookupError):
            problems.append({"field": "query.filter", "message": "invalid_filter_value", "name": name})
    if problems:
        raise errors.ValidationFailed(details=problems)
    return clauses


def _sort_key(clause: Any) -> str:
    """The column a sort clause orders by, whatever its direction."""
    element = clause.element if isinstance(clause, UnaryExpression) else clause
    return str(getattr(element, "key", None) or element)


def parse_sort(params: PageParams, allowed: Mapping[str, Any], default: list[Any]) -> list[Any]:
    """``field,asc|desc;field,...`` → ORDER BY clauses, then the default order for tie-breaking."""
    if not params.sort:
        return default
    order: list[Any] = []
    problems: list[dict[str, str]] = []
    for part in params.sort.split(";"):
        if not part.strip():
            continue
        name, _, direction = part.partition(",")
        name, direction = name.strip(), (direction.strip().lower() or "asc")
        if name not in allowed:
            problems.append({"field": "query.sort", "message": "unknown_sort_field", "name": name})
            continue
        if direction not in ("asc", "desc"):
            problems.append({"field": "query.sort", "message": "sort_direction", "name": name})
            continue
        column = allowed[name]
        order.append(column.desc() if direction == "desc" else column.asc())
    if problems:
        raise errors.ValidationFailed(details=problems)
    chosen = {_sort_key(o) for o in order}
    return order + [o for o in default if _sort_key(o) not in chosen]


def paginate(
    db: Session, stmt: Select[Any], params: PageParams, order_by: list[Any]
) -> tuple[list[Any], dict[str, int]]:
    """One page of ``stmt`` in ``order_by`` order, with the ``meta`` of the list envelope."""
    total = db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = db.execute(stmt.order_by(*order_by).limit(params.size).offset(params.offset)).scalars().all()
    return list(rows), page_meta(params.page, params.size, total)


def paginate_by_key(
    db: Session,
    stmt: Select[Any],
    key: Any,
    params: PageParams,
    order_by: list[Any],
    narrowings: Iterable[Sequence[ColumnElement[bool]]] = (),
) -> tuple[list[Any], dict[str, int]]:
    """``paginate`` in two passes: the page's keys (``key``, the entity's primary key column) in
    ``order_by`` order, then the rows of those keys. Where an index holds the filter's and the
    order's columns, the database counts and sorts its entries instead of reading and sorting
    every matching row (the nearest depots, D46).

    ``narrowings``, tried in turn (an iterator builds each only when it is reached), are extra
    conditions under which the page may be found among fewer rows: the first that yields a full
    page gives it, else the page is read unnarrowed. Each must keep every row that sorts before
    any row it leaves out (a circle around the point for nearest-first: whatever lies outside is
    farther than all inside), so that a full page under it is the page."""
    keys_only = stmt.with_only_columns(key).order_by(*order_by).limit(params.size).offset(params.offset)
    page: list[Any] | None = None
    for conditions in narrowings:
        found = list(db.execute(keys_only.where(*conditions)).scalars())
        if len(found) == params.size:
            page = found
            break
    if page is None:
        page = list(db.execute(keys_only).scalars())
    total = db.execute(select(func.count()).select_from(stmt.with_only_columns(key).subquery())).scalar_one()
    if not page:
        return [], page_meta(params.page, params.size, total)
    found_rows = {getattr(row, key.key): row for row in db.execute(stmt.where(key.in_(page))).scalars()}
    return [found_rows[k] for k in page if k in found_rows], page_meta(params.page, params.size, total)
