"""The forecast: bands, the seasonal-naive rule and its fallback, an honest back-test, and the
forecast layer of the map on a synthetic seasonal history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.enums import Role
from beachsaver.core.time import SEOUL
from beachsaver.statistics import forecast
from beachsaver.statistics.sql import add_months
from tests.factories import auth, make_beach, make_city, make_district, make_user, token_for

from .conftest import add_depot, add_report

# Monthly kg of a seasonal beach (Jan … Dec); the level grows by 100 kg a year.
SEASON = [200, 300, 500, 900, 1500, 2500, 4000, 6000, 3000, 1200, 600, 300]


@pytest.mark.parametrize(
    ("kg", "label"),
    [
        (0, "0-1t"),
        (999.99, "0-1t"),
        (1000, "1-5t"),
        (4999.99, "1-5t"),
        (5000, "5-10t"),
        (9999.99, "5-10t"),
        (10000, "10t+"),
        (250000, "10t+"),
        (None, None),
    ],
)
def test_bands(kg: float | None, label: str | None) -> None:
    assert forecast.band(kg) == label


def test_seasonal_naive_uses_the_same_month_last_year() -> None:
    series = {m: float(m) for m in range(100, 130)}
    assert forecast.predict(series, 125) == 113.0
    # inside the record a month without litter is a real zero
    del series[113]
    assert forecast.predict(series, 125) == 0.0


def test_fallback_is_the_mean_of_the_last_three_known_months() -> None:
    series = {100: 10.0, 101: 20.0, 102: 40.0, 103: 80.0, 104: 1000.0}
    # target 105: months < 104 are known; 93 is before the record
    assert forecast.predict(series, 105) == (20 + 40 + 80) / 3
    # a shorter record: the mean of what there is
    assert forecast.predict({100: 30.0, 101: 60.0}, 103) == 45.0
    assert forecast.predict({100: 30.0}, 102) == 30.0


def test_no_forecast_without_known_history() -> None:
    assert forecast.predict({}, 100) is None
    # only the current (incomplete) month and later are known: nothing usable
    assert forecast.predict({99: 50.0, 100: 70.0}, 100) is None
    assert forecast.predict({100: 0.0}, 105) is None


def test_backtest_forecasts_each_month_from_the_data_before_it() -> None:
    current = 2026 * 12 + 10  # November 2026
    start = current - 36
    series = {m: float(SEASON[m % 12] + 100 * ((m - start) // 12)) for m in range(start, current)}
    # the future must not leak into the test: a huge value in the current month changes nothing
    series[current] = 1e9
    result = forecast.backtest({1: series}, current)
    expected = sum(100 / (SEASON[m % 12] + 200) * 100 for m in range(current - 12, current)) / 12
    assert result.mape == round(expected, 2)
    assert result.pairs == 12
    assert result.months[0] == "2025-11" and result.months[-1] == "2026-10"


def test_backtest_is_null_with_too_little_history() -> None:
    current = 2026 * 12 + 10
    assert forecast.backtest({}, current).mape is None
    assert forecast.backtest({1: {current - 1: 500.0}}, current).mape is None
    assert forecast.backtest({1: {current: 500.0}}, current).mape is None
    # two months: the second is forecast from the first
    two = forecast.backtest({1: {current - 3: 400.0, current - 1: 500.0}}, current)
    assert two.pairs == 1 and two.mape == 20.0


# ---- the map layer on a synthetic history -----------------------------------------------------------


def month_index(day: Any) -> int:
    return day.year * 12 + day.month - 1


def at_month(index: int, day: int = 15) -> datetime:
    return datetime(index // 12, index % 12 + 1, day, 12, 0, tzinfo=SEOUL)


def test_forecast_layer(client: TestClient, db: Session) -> None:
    city = make_city(db, name="부산광역시")
    district = make_district(db, city, name="해운대구")
    seasonal = make_beach(db, district, "해운대", "35.1586975", "129.1603842")
    young = make_beach(db, district, "송정", "35.1786003", "129.1995660")
    empty = make_beach(db, district, "청사포", "35.1602300", "129.1915600")
    cleaner = make_user(db, Role.CLEANER, district)
    collector = make_user(db, Role.COLLECTOR, district, verified=True)
    admin = make_user(db, Role.DISTRICT_ADMIN, district)
    current = month_index(datetime.now(SEOUL).date())
    start = current - 36
    for m in range(start, current):
        kg = SEASON[m % 12] + 100 * ((m - start) // 12)
        # cleaned kg plus 50 kg collected from a depot in the same month
        add_report(db, "CLEANING", "APPROVED", cleaner, seasonal, at_month(m), areas=[(None, str(kg - 50), "PLASTIC")])
        request = add_report(db, "COLLECTION_REQUEST", "SUBMITTED", cleaner, seasonal, at_month(m, 1))
        add_depot(db, request, "COMPLETED", at_month(m, 1), collector=collector, kg="50", completed=at_month(m, 20))
    # the current month is incomplete and never used
    add_report(db, "CLEANING", "SUBMITTED", cleaner, seasonal, at_month(current, 1), areas=[(None, "99999", None)])
    # a young beach: two months of history
    add_report(db, "CLEANING", "SUBMITTED", cleaner, young, at_month(current - 2), areas=[(None, "800", None)])
    add_report(db, "CLEANING", "SUBMITTED", cleaner, young, at_month(current - 1), areas=[(None, "1000", None)])
    token = token_for(db, admin)
    db.commit()

    r = client.get("/api/statistics/map", params={"layer": "forecast"}, headers=auth(token))
    assert r.status_code == 200, r.text
    collection = r.json()["data"]
    target = current + 1
    assert collection["type"] == "FeatureCollection"
    assert collection["layer"] == "forecast"
    assert collection["forecast_month"] == add_months(at_month(current).date(), 1).strftime("%Y-%m")
    expected_seasonal = float(SEASON[target % 12] + 200)
    assert [f["properties"] for f in collection["features"]] == [
        {
            "beach_id": seasonal.id,
            "beach_name": "해운대",
            "value": expected_seasonal,
            "unit": "kg",
            "band": forecast.band(expected_seasonal),
        },
        {"beach_id": young.id, "beach_name": "송정", "value": 900.0, "unit": "kg", "band": "0-1t"},
        {"beach_id": empty.id, "beach_name": "청사포", "value": None, "unit": "kg", "band": None},
    ]
    assert [f["geometry"]["coordinates"] for f in collection["features"]] == [
        [129.1603842, 35.1586975],
        [129.199566, 35.1786003],
        [129.19156, 35.16023],
    ]
    # back-test: the seasonal beach's last 12 months (year 3 forecast by year 2: 100 kg short);
    # the young beach's months cannot be forecast from what was known a month before them
    errors = [100 / (SEASON[m % 12] + 200) * 100 for m in range(current - 12, current)]
    assert collection["backtest_mape"] == round(sum(errors) / len(errors), 2)
    assert collection["backtest_pairs"] == 12


def test_forecast_backtest_is_null_without_history(client: TestClient, db: Session) -> None:
    city = make_city(db)
    district = make_district(db, city)
    beach = make_beach(db, district)
    cleaner = make_user(db, Role.CLEANER, district)
    admin = make_user(db, Role.CITY_ADMIN, city)
    now = datetime.now(SEOUL)
    add_report(db, "CLEANING", "SUBMITTED", cleaner, beach, now - timedelta(minutes=5), areas=[(None, "10", None)])
    token = token_for(db, admin)
    db.commit()
    r = client.get("/api/statistics/map", params={"layer": "forecast"}, headers=auth(token))
    assert r.status_code == 200
    collection = r.json()["data"]
    assert collection["backtest_mape"] is None
    assert collection["features"][0]["properties"]["value"] is None
    assert collection["features"][0]["properties"]["band"] is None
