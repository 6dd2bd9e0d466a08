"""Concurrent requests on the same account end in exactly one winner, never a 500.

Runs against a fresh database of its own (07 §12) and real threads through the ASGI app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from beachsaver.core.enums import Role, UserStatus
from beachsaver.users.models import User
from tests.conftest import fresh_database_url
from tests.factories import PASSWORD, next_phone
from tests.users.world import World, make_account, session

ROUNDS = 4


@pytest.fixture(scope="module")
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, cleanup = fresh_database_url(backend, tmp_path_factory.mktemp(f"concurrency-{backend}"))
    yield url
    cleanup()


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment, each in its own thread; return their responses."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def live_count(client: TestClient, user_ids: set[int], role: Role) -> int:
    with session(client) as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(User)
                .where(User.id.in_(user_ids), User.role == role, User.live.is_(True))
            ).scalar_one()
        )


@pytest.mark.parametrize("role", [Role.CLEANER, Role.DISTRICT_ADMIN])
def test_same_phone_and_role_created_twice_at_once(client: TestClient, w: World, role: Role) -> None:
    creator = w.ca
    for _ in range(ROUNDS):
        phone = next_phone()
        body: dict[str, Any] = {"nickname": "동시", "phone": phone, "role": role.value, "org_id": w.d_a1}
        if role.is_admin:
            body.update(password=PASSWORD, email="x@example.org")
        responses = race([partial(client.post, "/api/users", json=body, headers=creator.headers)] * 2)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["error"]["code"] == "CONFLICT"
        winner = next(r for r in responses if r.status_code == 201)
        assert live_count(client, {winner.json()["data"]["id"]}, role) == 1
        listed = client.get(
            "/api/users", params={"q": "동시", "role": role.value, "size": 100}, headers=creator.headers
        )
        assert listed.status_code == 200
    listed = client.get("/api/users", params={"q": "동시", "role": role.value, "size": 100}, headers=creator.headers)
    assert listed.json()["meta"]["total"] == ROUNDS


def test_two_admins_suspended_at_once_keep_one_active(client: TestClient, db: Any, w: World) -> None:
    # d_a2 has exactly two active district admins; suspending both at once must leave one.
    other = make_account(db, Role.DISTRICT_ADMIN, w.d_a2)
    targets = [w.da2.id, other.id]
    responses = race(
        [
            partial(
                client.patch,
                f"/api/users/{t}/status",
                json={"status": "SUSPENDED", "reason": "test"},
                headers=w.ca.headers,
            )
            for t in targets
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], [r.text for r in responses]
    assert next(r for r in responses if r.status_code == 409).json()["error"]["code"] == "CONFLICT"
    with session(client) as s:
        active = s.execute(
            select(func.count()).select_from(User).where(User.id.in_(targets), User.status == UserStatus.ACTIVE)
        ).scalar_one()
    assert active == 1


def test_approve_and_reject_at_once(client: TestClient, db: Any, w: World) -> None:
    for _ in range(ROUNDS):
        citizen = make_account(db, Role.CITIZEN, w.d_a1, status=UserStatus.PENDING_APPROVAL, token=False)
        responses = race(
            [
                partial(client.post, f"/api/users/{citizen.id}/approve", headers=w.ca.headers),
                partial(client.post, f"/api/users/{citizen.id}/reject", json={"reason": "no"}, headers=w.pa.headers),
            ]
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        assert next(r for r in responses if r.status_code == 409).json()["error"]["code"] == "INVALID_STATE"
