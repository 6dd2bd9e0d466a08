"""Every statistics endpoint × every role × own / other organisation: the expected status."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.enums import Role, UserStatus
from tests.factories import make_user, token_for

from .conftest import Data

ROLES = ["platform", "city_admin", "admin_a", "inv_a", "lead_a", "col_a", "citizen"]
ADMIN_ENDPOINTS: list[tuple[str, dict[str, str]]] = [
    ("/api/statistics", {}),
    ("/api/statistics", {"group_by": "org"}),
    ("/api/statistics/export", {}),
    ("/api/statistics/map", {"layer": "litter"}),
    ("/api/statistics/map", {"layer": "depots"}),
    ("/api/statistics/map", {"layer": "forecast"}),
    ("/api/statistics/dashboard", {}),
]
#                     own  other city
EXPECTED_ADMIN = {
    "platform": (200, 200),
    "city_admin": (200, 404),
    "admin_a": (200, 404),
    "inv_a": (403, 403),
    "lead_a": (403, 403),
    "col_a": (403, 403),
    "citizen": (403, 403),
}
EXPECTED_PERFORMANCE = {
    "platform": 403,
    "city_admin": 403,
    "admin_a": 403,
    "inv_a": 200,
    "lead_a": 200,
    "col_a": 200,
    "citizen": 403,
}


@pytest.fixture
def callers(data: Data, db: Session) -> dict[str, dict[str, str]]:
    citizen = make_user(db, Role.CITIZEN, data.district_a, status=UserStatus.PENDING_APPROVAL)
    data.tokens["citizen"] = token_for(db, citizen)
    db.commit()
    return {role: data.h(role) for role in ROLES}


def test_matrix(client: TestClient, data: Data, callers: dict[str, dict[str, str]]) -> None:
    problems: list[Any] = []
    for role in ROLES:
        for path, params in ADMIN_ENDPOINTS:
            own, other = EXPECTED_ADMIN[role]
            for expected, extra in ((own, {}), (other, {"org_id": str(data.other_city.id)})):
                r = client.get(path, params={**params, **extra}, headers=callers[role])
                if r.status_code != expected:
                    problems.append((role, path, params, extra, r.status_code, expected))
        r = client.get("/api/users/me/performance", headers=callers[role])
        if r.status_code != EXPECTED_PERFORMANCE[role]:
            problems.append((role, "/api/users/me/performance", r.status_code, EXPECTED_PERFORMANCE[role]))
    assert problems == []


def test_other_city_org_id_gives_that_city_to_the_platform_admin(client: TestClient, data: Data) -> None:
    r = client.get(
        "/api/statistics", params={"group_by": "org", "org_id": data.other_city.id}, headers=data.h("platform")
    )
    assert [(row["org_id"], row["kg_collected"]) for row in r.json()["data"]] == [(data.district_x.id, 888.0)]
