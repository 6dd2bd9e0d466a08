"""What the console's jobs, notifications, statistics, maps and audit pages share: lenient query
parsing (a page's filters come from a GET form; a value the form cannot produce becomes a 400
naming the field, shown by its control) and the beaches and teams of the caller's scope offered
by the filters (read through the domain services). Paging, the pager, the organisations of the
scope and time display are ``web.listing``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from beachsaver.beaches import service as beach_service
from beachsaver.beaches.models import Beach
from beachsaver.core import errors
from beachsaver.core.deps import Principal
from beachsaver.core.paging import DEFAULT_PAGE_SIZE, PageParams
from beachsaver.teams import service as team_service
from beachsaver.teams.models import Team
from beachsaver.web.common import field_messages
from beachsaver.web.listing import MAX_ID, page_params


@dataclass
class Query:
    """The page's query string, read leniently: ``value`` gives the text, the typed readers
    collect problems as ``{field, message}`` so that a page can show them beside its controls."""

    params: Mapping[str, str]

    def __post_init__(self) -> None:
        self.problems: list[dict[str, str]] = []

    def text(self, name: str, max_length: int = 200) -> str:
        return (self.params.get(name) or "").strip()[:max_length]

    def choice(self, name: str, allowed: Iterable[str], *, upper: bool = True) -> str | None:
        raw = self.text(name)
        if not raw:
            return None
        value = raw.upper() if upper else raw.lower()
        options = list(allowed)
        if value not in options:
            self.problems.append({"field": name, "message": "must_be_one_of", "expected": ", ".join(options)})
            return None
        return value

    def ident(self, name: str) -> int | None:
        raw = self.text(name)
        if not raw:
            return None
        if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
            self.problems.append({"field": name, "message": "must_be_integer"})
            return None
        return int(raw)

    def day(self, name: str) -> date | None:
        raw = self.text(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.problems.append({"field": name, "message": "invalid_date"})
            return None

    def paging(self, default_size: int = DEFAULT_PAGE_SIZE) -> PageParams:
        """The page and size (``listing.page_params``: a bad one is a 400 page naming it)."""
        return page_params(self.text("page"), self.text("size"), default_size)

    def check(self) -> None:
        if self.problems:
            raise errors.ValidationFailed(details=list(self.problems))


def field_errors(exc: errors.ValidationFailed, lang: str) -> dict[str, str]:
    """``{control name: message}`` of a validation error (``query.from`` → ``from``; the first wins)."""
    out: dict[str, str] = {}
    for name, message in field_messages(exc, lang):
        out.setdefault(name, message)
    return out


# ---- choices of the filters (the caller's scope, through the domain services) -----------------


def beach_choices(db: Session, principal: Principal) -> list[dict[str, Any]]:
    stmt = beach_service.list_query(db, principal).order_by(Beach.beach_name, Beach.id)
    return [{"id": b.id, "name": b.beach_name, "org_id": b.org_id} for b in db.execute(stmt).scalars()]


def team_choices(db: Session, principal: Principal) -> list[dict[str, Any]]:
    from beachsaver.core.enums import TeamStatus

    stmt = team_service.list_query(db, principal, status=TeamStatus.ACTIVE).order_by(Team.name, Team.id)
    return [{"id": t.id, "name": t.name, "org_id": t.org_id} for t in db.execute(stmt).scalars()]


def names(choices: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    return {int(c["id"]): str(c["name"]) for c in choices}
