"""GET /api/statistics/map: GeoJSON FeatureCollections of Points (litter, depots)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from beachsaver.core.deps import Principal
from beachsaver.core.envelope import ok
from beachsaver.statistics import maps, service

from .conftest import Data


def layer(client: TestClient, data: Data, who: str = "city_admin", **params: Any) -> dict[str, Any]:
    r = client.get("/api/statistics/map", params=params, headers=data.h(who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["error"] is None
    collection: dict[str, Any] = body["data"]
    assert collection["type"] == "FeatureCollection"
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lng, lat = feature["geometry"]["coordinates"]
        assert -180 <= lng <= 180 and -90 <= lat <= 90
    return collection


def test_litter_layer_is_kg_cleaned_plus_collected_per_beach(client: TestClient, data: Data) -> None:
    b = data.beaches
    collection = layer(client, data, layer="litter")
    assert collection["layer"] == "litter" and collection["unit"] == "kg"
    assert collection["features"] == [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [129.1603842, 35.1586975]},
            "properties": {
                "beach_id": b["A1"].id,
                "beach_name": "해운대",
                "value": 82.25,
                "unit": "kg",
                "band": "0-1t",
                "trash_type": "PLASTIC",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [129.199566, 35.1786003]},
            "properties": {
                "beach_id": b["A2"].id,
                "beach_name": "송정",
                "value": 25.5,
                "unit": "kg",
                "band": "0-1t",
                "trash_type": "WOOD",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [129.1186566, 35.1531696]},
            "properties": {
                "beach_id": b["B1"].id,
                "beach_name": "광안리",
                "value": 107.5,
                "unit": "kg",
                "band": "0-1t",
                "trash_type": "GLASS",
            },
        },
    ]


def test_litter_layer_in_litres_for_investigations(client: TestClient, data: Data) -> None:
    collection = layer(client, data, layer="litter", type="investigation")
    assert collection["unit"] == "l"
    assert [
        (f["properties"]["value"], f["properties"]["unit"], f["properties"]["band"]) for f in collection["features"]
    ] == [
        (150.5, "l", None),
        (20.0, "l", None),
        (300.0, "l", None),
    ]
    assert [f["properties"]["trash_type"] for f in collection["features"]] == ["PLASTIC", "PLASTIC", "GLASS"]


def test_litter_layer_filters(client: TestClient, data: Data) -> None:
    cleaned = layer(client, data, layer="litter", type="cleaning")
    assert [f["properties"]["value"] for f in cleaned["features"]] == [42.25, 10.0, 7.5]
    collected = layer(client, data, layer="litter", type="collection_request")
    assert [f["properties"]["value"] for f in collected["features"]] == [40.0, 15.5, 100.0]
    april = layer(client, data, layer="litter", **{"from": "2026-04-01", "to": "2026-04-30"})
    assert [f["properties"]["value"] for f in april["features"]] == [82.25, 25.5, 7.5]
    one = layer(client, data, layer="litter", beach_id=data.beaches["B1"].id)
    assert [f["properties"]["beach_id"] for f in one["features"]] == [data.beaches["B1"].id]
    ulsan = layer(client, data, "other_city_admin", layer="litter")
    assert [(f["properties"]["beach_name"], f["properties"]["value"]) for f in ulsan["features"]] == [("일산", 1887.0)]
    assert ulsan["features"][0]["properties"]["band"] == "1-5t"


def test_depots_layer_by_state(client: TestClient, data: Data) -> None:
    d = data.depots
    collection = layer(client, data, layer="depots")
    assert collection["layer"] == "depots"
    got = {f["properties"]["depot_id"]: f["properties"]["status"] for f in collection["features"]}
    # D7 is in a draft request, D8 in a rejected one, D10/D11 in another city
    assert got == {
        d["D1"].id: "COMPLETED",
        d["D2"].id: "WAITING",
        d["D3"].id: "IN_ROUTE",
        d["D4"].id: "ISSUE",
        d["D5"].id: "COMPLETED",
        d["D6"].id: "WAITING",
        d["D9"].id: "COMPLETED",
    }
    first = collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [129.16, 35.158]}
    assert {"depot_id", "status"} <= set(first["properties"])
    waiting = layer(client, data, layer="depots", status="waiting")
    assert [f["properties"]["depot_id"] for f in waiting["features"]] == [d["D2"].id, d["D6"].id]
    district_b = layer(client, data, layer="depots", org_id=data.district_b.id)
    assert [f["properties"]["depot_id"] for f in district_b["features"]] == [d["D9"].id]
    march = layer(client, data, layer="depots", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert [f["properties"]["depot_id"] for f in march["features"]] == [d["D5"].id, d["D6"].id]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.layer"),
        ({"layer": "heat"}, "query.layer"),
        ({"layer": "depots", "status": "LOST"}, "query.status"),
        ({"layer": "litter", "from": "yesterday"}, "query.from"),
    ],
)
def test_bad_map_parameters(client: TestClient, data: Data, params: dict[str, str], field: str) -> None:
    r = client.get("/api/statistics/map", params=params, headers=data.h("city_admin"))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in r.json()["error"]["details"]] == [field]


#: Coordinates at the edges of what ``repr`` of a float writes (exponent form, whole numbers,
#: negative zero, the extremes of the columns).
EDGE_COORDINATES = [
    ("0.0000001", "-0.0000001"),
    ("-0.0000000", "0.0000000"),
    ("90.0000000", "-180.0000000"),
    ("-89.9999999", "179.9999999"),
    ("0.0001000", "0.0000999"),
    ("33.1000000", "126.3000001"),
]


def test_depots_layer_with_edge_coordinates_is_the_dict_document(client: TestClient, data: Data, db: Session) -> None:
    """The hand-encoded depots layer is the dict document byte for byte at the edges of what
    ``repr`` of a float writes too."""
    depots = [data.depots[k] for k in ("D1", "D2", "D3", "D4", "D5", "D6")]
    for depot, (lat, lng) in zip(depots, EDGE_COORDINATES, strict=True):
        depot.latitude, depot.longitude = Decimal(lat), Decimal(lng)
    data.depots["D9"].collected_amount = Decimal("0.10")
    db.commit()
    r = client.get("/api/statistics/map", params={"layer": "depots"}, headers=data.h("city_admin"))
    assert r.status_code == 200, r.text
    principal = Principal(user=data.people["city_admin"], session_id=0, org=data.city)
    assert r.content == JSONResponse(ok(maps.depots(db, service.resolve(db, principal)))).body
    coordinates = {f["properties"]["depot_id"]: f["geometry"]["coordinates"] for f in r.json()["data"]["features"]}
    assert coordinates[data.depots["D1"].id] == [-1e-07, 1e-07]
    assert coordinates[data.depots["D3"].id] == [-180.0, 90.0]
    db.commit()  # SQLite: release the read lock
