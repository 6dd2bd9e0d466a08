"""``GET /api/collection-depots?near=`` pages nearest first (07 §8). The page is looked for in
widening circles around the point before the whole district is sorted (``depots.service
.nearest_first``, D46): walked page by page, the answer must be exactly the brute-force order,
wherever the point lies (in a dense cluster, between clusters, far from every depot)."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.depots.models import CollectionDepot
from beachsaver.depots.service import NEAR_RADII_DEG

from .conftest import World
from .test_depots import submit_request


def scatter(db: Any, request_id: int, org_id: int, centre: tuple[float, float]) -> None:
    """A dense cluster (within about 300 m), a town-sized spread and a few depots far away (past
    the last circle), at 7 decimals as the columns keep them."""
    rnd = random.Random(20261127)
    # half-width in degrees, how many
    spots = [(0.003, 40), (0.05, 50), (0.4, 30), (NEAR_RADII_DEG[-1] * 1.5, 6)]
    position = 10
    for half_width, count in spots:
        for _ in range(count):
            lat = centre[0] + rnd.uniform(-half_width, half_width)
            lng = centre[1] + rnd.uniform(-half_width, half_width)
            db.add(
                CollectionDepot(
                    report_id=request_id,
                    org_id=org_id,
                    position=position,
                    name=f"D{position}",
                    latitude=Decimal(f"{lat:.7f}"),
                    longitude=Decimal(f"{lng:.7f}"),
                    status="WAITING",
                )
            )
            position += 1
    db.commit()


def brute_force(depots: list[tuple[int, float, float]], point: tuple[float, float]) -> list[int]:
    scale = math.cos(math.radians(point[0]))

    def key(depot: tuple[int, float, float]) -> tuple[float, int]:
        depot_id, lat, lng = depot
        dlat = lat - point[0]
        dlng = (lng - point[1]) * scale
        return dlat * dlat + dlng * dlng, depot_id

    return [d[0] for d in sorted(depots, key=key)]


@pytest.mark.parametrize("size", [7, 20])
def test_every_page_is_the_brute_force_order(client: TestClient, world: World, db: Any, size: int) -> None:
    request = submit_request(client, world, db)
    centre = (35.1585, 129.1630)
    scatter(db, request["id"], world.beach.org_id, centre)
    everything = client.get(
        "/api/collection-depots", params={"size": 100, "status": "WAITING"}, headers=world.h("collector")
    ).json()
    depots = [(d["id"], d["latitude"], d["longitude"]) for d in everything["data"]]
    for page in range(2, everything["meta"]["total_pages"] + 1):
        more = client.get(
            "/api/collection-depots",
            params={"size": 100, "page": page, "status": "WAITING"},
            headers=world.h("collector"),
        ).json()["data"]
        depots += [(d["id"], d["latitude"], d["longitude"]) for d in more]
    assert len(depots) == 3 + 40 + 50 + 30 + 6

    points = [centre, (35.2100, 129.2200), (35.1585 + 0.5, 129.1630 - 0.5), (37.5665, 126.9780)]
    for point in points:
        expected = brute_force(depots, point)
        walked: list[int] = []
        page = 1
        while True:
            r = client.get(
                "/api/collection-depots",
                params={"near": f"{point[0]},{point[1]}", "status": "WAITING", "size": size, "page": page},
                headers=world.h("collector"),
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["meta"]["total"] == len(depots)
            if not body["data"]:
                break
            distances = [d["distance_m"] for d in body["data"]]
            assert distances == sorted(distances)
            walked += [d["id"] for d in body["data"]]
            page += 1
        assert walked == expected, f"near {point}"
