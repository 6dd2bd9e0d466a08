"""What the list pages of the console and the worker app share (C-01): reading the query string
(page and size, whole numbers, enum choices: a value the page's controls cannot produce is a 400
naming ``query.<name>``), this page's address with some values changed, the pager and the
sortable column headers, the organisations of the caller's scope, ids in paths, Asia/Seoul time
display and the map tile address.

The pager's markup is ``templates/shared/listing.html`` (``pager(p)`` with what ``pager()`` here
returns); it keeps the page's other query parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from beachsaver.core import errors
from beachsaver.core.deps import Principal
from beachsaver.core.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageParams
from beachsaver.core.time import SEOUL, to_utc
from beachsaver.orgs.models import Organization

#: The per-page choices of C-01 (G-14: each list keeps its own default, e.g. teams 10).
PAGE_SIZES = (10, 20, 50, 100)
#: Far past any real list; (page - 1) × size stays a small OFFSET.
MAX_PAGE = 1_000_000
#: Largest id a page looks up (bigger numbers are simply not found; no driver overflow).
MAX_ID = 2**63 - 1
LOCAL_TIME = "%Y-%m-%d %H:%M"
E = TypeVar("E", bound=StrEnum)


# ---- reading the query string --------------------------------------------------------------------


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def whole_number(value: str, name: str, default: int, low: int = 1, high: int = MAX_ID) -> int:
    """A whole-number query value in [low, high] ('' = ``default``); else → 400 naming ``query.<name>``."""
    value = value.strip()
    if value == "":
        return default
    if not _digits(value):
        raise errors.ValidationFailed.field(f"query.{name}", "must_be_integer")
    if not low <= int(value) <= high:
        raise errors.ValidationFailed.field(f"query.{name}", "value_out_of_range")
    return int(value)


def choice(kind: type[E], value: str, name: str) -> E | None:
    """A filter value of ``kind`` ('' = none); anything else → 400 naming ``query.<name>``."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        expected = ", ".join(member.value for member in kind)
        raise errors.ValidationFailed(
            details=[{"field": f"query.{name}", "message": "must_be_one_of", "expected": expected}]
        ) from None


def page_params(
    page: str, size: str, default_size: int = DEFAULT_PAGE_SIZE, *, sort: str = "", sortable: Iterable[str] = ()
) -> PageParams:
    """``page`` (1..MAX_PAGE, '' = 1) and ``size`` (1..100, '' = ``default_size``), the API's own
    limits; both problems are reported together as one 400 naming ``query.page`` / ``query.size``.
    ``sort`` is kept when it is ``field,asc|desc`` of a ``sortable`` field (else the default order)."""
    problems: list[dict[str, str]] = []
    page, size = page.strip(), size.strip()
    number = int(page) if _digits(page) else 1
    if page and (not _digits(page) or not 1 <= number <= MAX_PAGE):
        problems.append({"field": "query.page", "message": "page_min" if _digits(page) else "must_be_integer"})
    chosen = int(size) if _digits(size) else default_size
    if size and (not _digits(size) or not 1 <= chosen <= MAX_PAGE_SIZE):
        problems.append({"field": "query.size", "message": "size_range"})
    if problems:
        raise errors.ValidationFailed(details=problems)
    return PageParams(page=number, size=chosen, sort=clean_sort(sort, sortable) or None, filter=None)


def path_id(value: str | int) -> int:
    """An id from a page's path; anything that cannot be one is simply not found (404)."""
    text = str(value)
    if not _digits(text) or not 0 < int(text) <= MAX_ID:
        raise errors.NotFound()
    return int(text)


# ---- addresses, the pager and sortable headers ---------------------------------------------------


def query_href(request: Request, **changes: Any) -> str:
    """This page's address with some query values changed (None or '' drops one); the others kept."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    kept += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
    query = urlencode(kept)
    return request.url.path + (f"?{query}" if query else "")


@dataclass
class PageLink:
    page: int | None  # None: a gap (…)
    href: str = ""
    current: bool = False


@dataclass
class Pager:
    """What C-01's pager shows: ``<< < 1 2 3 … 10 > >>``, "Total N items", "M per page"."""

    page: int
    size: int
    total: int
    last: int
    links: list[PageLink]
    first_href: str | None
    prev_href: str | None
    next_href: str | None
    last_href: str | None
    sizes: list[int]
    #: The per-page form: this page's path and the other query values it keeps.
    action: str
    kept: list[tuple[str, str]] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        """The number of the page's first row (1-based) in the whole list."""
        return (self.page - 1) * self.size + 1


def pager(request: Request, meta: Mapping[str, int], sizes: Iterable[int] = PAGE_SIZES) -> Pager:
    """The pager of a list whose ``meta`` (page, size, total, total_pages) came from ``paginate``:
    first/previous, a window of page numbers with gaps, next/last, each keeping the other query values."""
    page, size, total = meta["page"], meta["size"], meta["total"]
    last = max(meta["total_pages"], 1)
    numbers = sorted({1, last, *range(max(1, page - 2), min(last, page + 2) + 1)})
    links: list[PageLink] = []
    previous = 0
    for number in numbers:
        if number - previous > 1:
            links.append(PageLink(None))
        links.append(PageLink(number, query_href(request, page=number), number == page))
        previous = number
    return Pager(
        page=page,
        size=size,
        total=total,
        last=last,
        links=links,
        first_href=query_href(request, page=1) if page > 1 else None,
        prev_href=query_href(request, page=page - 1) if page > 1 else None,
        next_href=query_href(request, page=page + 1) if page < last else None,
        last_href=query_href(request, page=last) if page < last else None,
        sizes=sorted({*sizes, size}),
        action=request.url.path,
        kept=[(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "size")],
    )


def sort_links(
    request: Request, current: str, keys: Iterable[str], *, default: str = "", first: str = "asc"
) -> dict[str, dict[str, str | None]]:
    """Header links of sortable columns: ``{key: {"href", "dir"}}``; ``dir`` is the column's
    ``aria-sort`` (ascending/descending, None when the list is not sorted by it). ``current`` is
    the chosen ``field,asc|desc`` ('' = the list's ``default`` order); a first click sorts
    ``first``, a second one the other way; the page goes back to 1."""
    name, _, direction = (current or default).partition(",")
    found: dict[str, dict[str, str | None]] = {}
    for key in keys:
        active = key == name
        now = ("descending" if direction == "desc" else "ascending") if active else None
        following = ("asc" if direction == "desc" else "desc") if active else first
        found[key] = {"href": query_href(request, sort=f"{key},{following}", page=None), "dir": now}
    return found


def clean_sort(value: str, allowed: Iterable[str]) -> str:
    """``field,asc|desc`` when the field is sortable here; '' otherwise (the default order)."""
    name, _, direction = value.partition(",")
    if name in set(allowed) and direction in ("asc", "desc"):
        return f"{name},{direction}"
    return ""


# ---- the organisations of the caller's scope -----------------------------------------------------


def _tree_key(org: Organization) -> list[int]:
    return [int(part) for part in org.path.strip("/").split("/") if part.isdigit()]


def orgs_in_scope(db: Session, principal: Principal) -> list[Organization]:
    """The caller's organisation and its subtree, parents before children."""
    scope = principal.scope_org_ids(db)
    rows = db.execute(select(Organization).where(Organization.id.in_(scope))).scalars()
    return sorted(rows, key=_tree_key)


def org_choices(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """The organisations of a filter: ``{id, name, type, depth}`` in tree order (depth from the caller's)."""
    orgs = orgs_in_scope(db, principal)
    base = min((o.path.count("/") for o in orgs), default=0)
    return [{"id": o.id, "name": o.name, "type": o.type, "depth": o.path.count("/") - base} for o in orgs]


def org_names(orgs: Iterable[Organization]) -> dict[int, str]:
    return {o.id: o.name for o in orgs}


# ---- display -----------------------------------------------------------------------------------


def local_time(value: datetime | None, fmt: str = LOCAL_TIME) -> str:
    """A stored instant as people in Busan read it (Asia/Seoul, ``YYYY-MM-DD HH:MM``); '' for none."""
    if value is None:
        return ""
    return to_utc(value).astimezone(SEOUL).strftime(fmt)


def local_date(value: datetime | None) -> str:
    return local_time(value, "%Y-%m-%d")


def tile_url(request: Request) -> str:
    """The map tile address (setting ``web_tile_url``; '' = maps without tiles)."""
    return str(getattr(request.app.state.settings, "web_tile_url", "") or "")
