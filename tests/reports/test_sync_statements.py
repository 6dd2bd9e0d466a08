"""Offline sync issues a bounded number of SQL statements whatever the batch size (04 §2).

The notifications of the submitted reports (one event per report) are written together by
``notifications.service.notify_many``; its statements are counted apart, and neither they nor
the others may grow with the batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beachsaver.audit.models import AuditEntry
from beachsaver.core.time import utcnow
from beachsaver.notifications import service as notification_service
from beachsaver.notifications.models import Notification
from beachsaver.reports.models import Report, ReportArea
from beachsaver.statistics.models import StatisticsDirtyDay
from beachsaver.statistics.rollup import seoul_day
from tests.statements import counting as count_statements

from .conftest import World
from .test_reports import investigation

#: Statements a batch of 50 may add over a batch of 5 (counted with and without ``notify_many``'s
#: apart): a batch of 50 splits no chunked look-up and no executemany page, so nothing may be
#: issued once per item; the slack is for a statement a cache may add.
GROWTH_BOUND = 2


@dataclass
class Statements:
    outside_notify: list[str] = field(default_factory=list)
    inside_notify: list[str] = field(default_factory=list)
    notify_calls: int = 0
    notify_events: int = 0
    depth: int = 0


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Statements]]:
    """Tells the statements of ``notify_many`` (the real one, wrapped) from the others; a call of
    ``notify`` (one statement pattern per event) is counted too."""
    current: list[Statements] = []
    real_notify_many = notification_service.notify_many
    real_notify = notification_service.notify

    def notify_many(db: Any, events: Any) -> Any:
        if not current:
            return real_notify_many(db, events)
        current[-1].notify_calls += 1
        current[-1].notify_events += len(events)
        current[-1].depth += 1
        try:
            return real_notify_many(db, events)
        finally:
            current[-1].depth -= 1

    def notify(*args: Any, **kwargs: Any) -> Any:
        if current:
            current[-1].notify_calls += 1
        return real_notify(*args, **kwargs)

    monkeypatch.setattr(notification_service, "notify_many", notify_many)
    monkeypatch.setattr(notification_service, "notify", notify)
    yield current


@contextmanager
def counting(engine: Any, current: list[Statements]) -> Iterator[Statements]:
    statements = Statements()

    def record(statement: str) -> None:
        (statements.inside_notify if statements.depth else statements.outside_notify).append(statement)

    current.append(statements)
    try:
        with count_statements(engine, record):
            yield statements
    finally:
        current.remove(statements)


def batch(world: World, count: int) -> list[dict[str, Any]]:
    items = []
    for i in range(count):
        body = investigation(world.beach.id, confirm_duplicate=True)
        body["areas"] = [dict(body["areas"][0], area_name=f"{name}구역") for name in "ABC"[: 1 + i % 3]]
        items.append(body)
    return items


def sync_counting(
    client: TestClient, world: World, engine: Any, watch: list[Statements], items: list[dict[str, Any]]
) -> Statements:
    with counting(engine, watch) as statements:
        r = client.post("/api/reports/sync", json={"reports": items}, headers=world.h("investigator"))
    assert r.status_code == 200, r.text
    assert {x["status"] for x in r.json()["data"]} == {"CREATED"}, r.text
    return statements


def test_sync_statements_do_not_grow_with_the_batch(
    client: TestClient, world: World, db: Any, app: Any, watch: list[Statements]
) -> None:
    engine = app.state.runtime.engine
    sync_counting(client, world, engine, watch, batch(world, 2))  # warm-up: caches, first connection
    small = sync_counting(client, world, engine, watch, batch(world, 5))
    large = sync_counting(client, world, engine, watch, batch(world, 50))
    assert len(large.outside_notify) <= len(small.outside_notify) + GROWTH_BOUND, (
        len(small.outside_notify),
        len(large.outside_notify),
        large.outside_notify,
    )
    # one REPORT_SUBMITTED event per report, all in one call
    assert (small.notify_calls, large.notify_calls) == (1, 1)
    assert (small.notify_events, large.notify_events) == (5, 50)
    assert len(large.inside_notify) <= len(small.inside_notify) + GROWTH_BOUND, (
        len(small.inside_notify),
        large.inside_notify,
    )

    reports = db.execute(select(func.count()).select_from(Report)).scalar_one()
    areas = db.execute(select(func.count()).select_from(ReportArea)).scalar_one()
    submitted = db.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "REPORT_SUBMIT")
    ).scalar_one()
    notified = db.execute(
        select(func.count()).select_from(Notification).where(Notification.user_id == world.admin.id)
    ).scalar_one()
    assert (reports, submitted, notified) == (57, 57, 57)
    # the statistics' before_flush hook saw the new submitted reports: their day is marked
    marked = select(StatisticsDirtyDay.day).where(StatisticsDirtyDay.org_id == world.district.id)
    assert seoul_day(utcnow() - timedelta(minutes=30)) in set(db.execute(marked).scalars())
    assert areas == sum(1 + i % 3 for i in range(2)) + sum(1 + i % 3 for i in range(5)) + sum(
        1 + i % 3 for i in range(50)
    )


def test_replayed_sync_statements_do_not_grow_with_the_batch(
    client: TestClient, world: World, db: Any, app: Any, watch: list[Statements]
) -> None:
    engine = app.state.runtime.engine
    small_batch, large_batch = batch(world, 5), batch(world, 50)
    for items in (small_batch, large_batch):
        sync_counting(client, world, engine, watch, items)
    before = db.execute(select(func.count()).select_from(Report)).scalar_one()
    db.rollback()
    with counting(engine, watch) as small:
        first = client.post("/api/reports/sync", json={"reports": small_batch}, headers=world.h("investigator"))
    with counting(engine, watch) as large:
        again = client.post("/api/reports/sync", json={"reports": large_batch}, headers=world.h("investigator"))
    assert {x["status"] for x in first.json()["data"] + again.json()["data"]} == {"DUPLICATE"}
    all_large = large.outside_notify + large.inside_notify
    assert len(all_large) <= len(small.outside_notify) + GROWTH_BOUND, (len(small.outside_notify), all_large)
    assert (large.notify_calls, large.notify_events) == (0, 0)
    assert db.execute(select(func.count()).select_from(Report)).scalar_one() == before
