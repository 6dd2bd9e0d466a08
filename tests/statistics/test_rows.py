"""GET /api/statistics: exact figures of the hand-built dataset for every group_by and period."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import Data

ZERO: dict[str, Any] = {
    "investigation_reports": 0,
    "cleaning_reports": 0,
    "collection_requests": 0,
    "litres_estimated": 0.0,
    "kg_cleaned": 0.0,
    "kg_collected": 0.0,
    "depots_waiting": 0,
    "depots_collected": 0,
    "volunteer_hours": 0.0,
    "avg_hours_to_collection": None,
}


def row(**values: Any) -> dict[str, Any]:
    keys = {k: v for k, v in values.items() if k not in ZERO}
    return {**keys, **ZERO, **{k: v for k, v in values.items() if k in ZERO}}


def stats(client: TestClient, data: Data, who: str = "city_admin", **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/statistics", params=params, headers=data.h(who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["error"] is None and body["meta"] is None
    rows: list[dict[str, Any]] = body["data"]
    return rows


# D5: request submitted 20 March 10:00, collected 1 April 00:10 (Seoul) = 278 h 10 min.
D5_HOURS = 278 + 10 / 60
#: D5 collected: 15.5 kg, counted on 1 April and on beach A2.
D5_COLLECTED: dict[str, Any] = {
    "kg_collected": 15.5,
    "depots_collected": 1,
    "avg_hours_to_collection": round(D5_HOURS, 2),
}
#: D1 (6 h from request to collection) and D5 together.
A_AVG_HOURS = round((6 + D5_HOURS) / 2, 2)
#: District A's depots in April: D1 (40 kg, 6 h after its request) and D5 collected, D2 waiting.
A_DEPOTS: dict[str, Any] = {
    "kg_collected": 55.5,
    "depots_waiting": 1,
    "depots_collected": 2,
    "avg_hours_to_collection": A_AVG_HOURS,
}
MARCH = row(
    period="2026-03-01",
    investigation_reports=1,
    collection_requests=1,
    litres_estimated=150.5,
    depots_waiting=1,
)
APRIL = row(
    period="2026-04-01",
    investigation_reports=2,
    cleaning_reports=3,
    collection_requests=2,
    litres_estimated=320.0,
    kg_cleaned=59.75,
    volunteer_hours=2.5,
    **A_DEPOTS,
)
MAY = row(period="2026-05-01", kg_collected=100.0, depots_collected=1, avg_hours_to_collection=522.0)
#: 1 April in Seoul (31 March in UTC for R2): R2's 20 litres and D5's collection.
APRIL_1 = row(period="2026-04-01", investigation_reports=1, litres_estimated=20.0, **D5_COLLECTED)


def test_city_monthly_breakdown(client: TestClient, data: Data) -> None:
    assert stats(client, data, group_by="period", period="month") == [MARCH, APRIL, MAY]


def test_defaults_are_period_and_month(client: TestClient, data: Data) -> None:
    assert stats(client, data) == [MARCH, APRIL, MAY]


def test_days_are_cut_in_seoul(client: TestClient, data: Data) -> None:
    rows = stats(client, data, group_by="period", period="day", **{"from": "2026-03-31", "to": "2026-04-01"})
    assert rows == [
        row(period="2026-03-31", investigation_reports=1, litres_estimated=150.5),
        APRIL_1,
    ]


def test_day_series_is_filled_between_from_and_to(client: TestClient, data: Data) -> None:
    rows = stats(client, data, group_by="period", period="day", **{"from": "2026-04-06", "to": "2026-04-09"})
    assert rows == [
        row(period="2026-04-06", cleaning_reports=1, kg_cleaned=10.0),
        row(period="2026-04-07"),
        row(period="2026-04-08"),
        row(period="2026-04-09"),
    ]


def test_iso_weeks_start_on_monday_in_seoul(client: TestClient, data: Data) -> None:
    rows = stats(client, data, group_by="period", period="week", **{"from": "2026-03-30", "to": "2026-04-12"})
    assert rows == [
        # Mon 30 March – Sun 5 April: R1, R2, R5, R8, D1, D2, D5
        row(
            period="2026-03-30",
            investigation_reports=2,
            cleaning_reports=1,
            collection_requests=1,
            litres_estimated=170.5,
            kg_cleaned=42.25,
            volunteer_hours=2.5,
            **A_DEPOTS,
        ),
        # Mon 6 April – Sun 12 April: R6 (Sunday 23:59 UTC), R12, R13, R14
        row(
            period="2026-04-06",
            investigation_reports=1,
            cleaning_reports=2,
            collection_requests=1,
            litres_estimated=300.0,
            kg_cleaned=17.5,
        ),
    ]


def test_years(client: TestClient, data: Data) -> None:
    assert stats(client, data, group_by="period", period="year") == [
        row(
            period="2026-01-01",
            investigation_reports=3,
            cleaning_reports=3,
            collection_requests=3,
            litres_estimated=470.5,
            kg_cleaned=59.75,
            kg_collected=155.5,
            depots_waiting=2,
            depots_collected=3,
            volunteer_hours=2.5,
            avg_hours_to_collection=round((6 + D5_HOURS + 522) / 3, 2),
        )
    ]


def test_from_to_keep_each_figure_by_its_own_date(client: TestClient, data: Data) -> None:
    # 1 April alone: R2 by its date, D5 by its completion; D6 was created in March.
    rows = stats(client, data, group_by="period", period="month", **{"from": "2026-04-01", "to": "2026-04-01"})
    assert rows == [APRIL_1]


A_ROW = {
    "investigation_reports": 2,
    "cleaning_reports": 2,
    "collection_requests": 2,
    "litres_estimated": 170.5,
    "kg_cleaned": 52.25,
    "kg_collected": 55.5,
    "depots_waiting": 2,
    "depots_collected": 2,
    "volunteer_hours": 2.5,
    "avg_hours_to_collection": A_AVG_HOURS,
}
B_ROW = {
    "investigation_reports": 1,
    "cleaning_reports": 1,
    "collection_requests": 1,
    "litres_estimated": 300.0,
    "kg_cleaned": 7.5,
    "kg_collected": 100.0,
    "depots_waiting": 0,
    "depots_collected": 1,
    "volunteer_hours": 0.0,
    "avg_hours_to_collection": 522.0,
}
#: The team's work on beach A1: R5 (42.25 kg, 2.5 volunteer hours) and R8, whose D1 was collected
#: 6 hours after the request and D2 waits.
TEAM_A1: dict[str, Any] = {
    "cleaning_reports": 1,
    "collection_requests": 1,
    "kg_cleaned": 42.25,
    "kg_collected": 40.0,
    "depots_waiting": 1,
    "depots_collected": 1,
    "volunteer_hours": 2.5,
    "avg_hours_to_collection": 6.0,
}
#: Beach A2 (송정): R2, R6 and R9, whose D5 was collected and D6 waits.
A2_FIGURES: dict[str, Any] = {
    "investigation_reports": 1,
    "cleaning_reports": 1,
    "collection_requests": 1,
    "litres_estimated": 20.0,
    "kg_cleaned": 10.0,
    "depots_waiting": 1,
    **D5_COLLECTED,
}
#: Ulsan, the other city (its district X): R15, R16 with 7 volunteer hours, R17 with D10 collected
#: after 24 hours and D11 waiting.
ULSAN_FIGURES: dict[str, Any] = {
    "investigation_reports": 1,
    "cleaning_reports": 1,
    "collection_requests": 1,
    "litres_estimated": 5000.0,
    "kg_cleaned": 999.0,
    "kg_collected": 888.0,
    "depots_waiting": 1,
    "depots_collected": 1,
    "volunteer_hours": 7.0,
    "avg_hours_to_collection": 24.0,
}


def test_group_by_org_lists_the_districts_of_the_city(client: TestClient, data: Data) -> None:
    assert stats(client, data, group_by="org") == [
        {"org_id": data.district_a.id, "org_name": "해운대구", **A_ROW},
        {"org_id": data.district_b.id, "org_name": "수영구", **B_ROW},
    ]


def test_group_by_org_for_a_platform_admin_lists_cities(client: TestClient, data: Data) -> None:
    rows = stats(client, data, "platform", group_by="org", period="year")
    assert [(r["org_id"], r["org_name"]) for r in rows] == [
        (data.city.id, "부산광역시"),
        (data.other_city.id, "울산광역시"),
    ]
    busan, ulsan = rows
    assert busan["kg_collected"] == 155.5 and busan["litres_estimated"] == 470.5
    assert ulsan == {"org_id": data.other_city.id, "org_name": "울산광역시", **ULSAN_FIGURES}


def test_group_by_org_of_a_district_is_the_district_itself(client: TestClient, data: Data) -> None:
    assert stats(client, data, "admin_a", group_by="org") == [
        {"org_id": data.district_a.id, "org_name": "해운대구", **A_ROW}
    ]
    assert stats(client, data, group_by="org", org_id=data.district_b.id) == [
        {"org_id": data.district_b.id, "org_name": "수영구", **B_ROW}
    ]


def test_group_by_beach(client: TestClient, data: Data) -> None:
    b = data.beaches
    assert stats(client, data, group_by="beach") == [
        row(beach_id=b["A1"].id, beach_name="해운대", investigation_reports=1, litres_estimated=150.5, **TEAM_A1),
        row(beach_id=b["A2"].id, beach_name="송정", **A2_FIGURES),
        row(beach_id=b["B1"].id, beach_name="광안리", **B_ROW),
    ]


def test_group_by_team(client: TestClient, data: Data) -> None:
    assert stats(client, data, group_by="team") == [
        row(team_id=data.team.id, team_name="해운대팀", **TEAM_A1),
        row(
            team_id=None,
            team_name=None,
            investigation_reports=3,
            cleaning_reports=2,
            collection_requests=2,
            litres_estimated=470.5,
            kg_cleaned=17.5,
            kg_collected=115.5,
            depots_waiting=1,
            depots_collected=2,
            avg_hours_to_collection=round((D5_HOURS + 522) / 2, 2),
        ),
    ]


def test_group_by_user(client: TestClient, data: Data) -> None:
    def user(key: str, nickname: str, **figures: Any) -> dict[str, Any]:
        return row(user_id=data.people[key].id, nickname=nickname, **figures)

    expected = [
        user("inv_a", "조사A", investigation_reports=2, litres_estimated=170.5),
        # the leader authored R5 and R8; its credit is 25.35 kg of R5's 42.25 kg
        user("lead_a", "팀장A", cleaning_reports=1, collection_requests=1, kg_cleaned=25.35, depots_waiting=1),
        user("vol_a", "봉사A", kg_cleaned=16.9, volunteer_hours=2.5),
        user("solo_a", "개인A", cleaning_reports=1, collection_requests=1, kg_cleaned=10.0, depots_waiting=1),
        user("col_a", "수거A", kg_collected=55.5, depots_collected=2, avg_hours_to_collection=A_AVG_HOURS),
        user("inv_b", "조사B", investigation_reports=1, litres_estimated=300.0),
        user("clean_b", "청소B", cleaning_reports=1, collection_requests=1, kg_cleaned=7.5),
        user("col_b", "수거B", kg_collected=100.0, depots_collected=1, avg_hours_to_collection=522.0),
    ]
    assert stats(client, data, group_by="user") == expected


def test_group_by_trash_type(client: TestClient, data: Data) -> None:
    na = dict.fromkeys(
        (
            "collection_requests",
            "kg_collected",
            "depots_waiting",
            "depots_collected",
            "volunteer_hours",
            "avg_hours_to_collection",
        )
    )

    def t(trash: str | None, inv: int, cln: int, litres: float, kg: float) -> dict[str, Any]:
        return {
            "trash_type": trash,
            "investigation_reports": inv,
            "cleaning_reports": cln,
            "litres_estimated": litres,
            "kg_cleaned": kg,
            **na,
        }

    assert stats(client, data, group_by="trash_type") == [
        t("PLASTIC", 2, 1, 120.0, 30.0),
        t("STYROFOAM", 1, 0, 50.5, 0.0),
        t("FISHING_GEAR", 0, 1, 0.0, 12.25),
        t("GLASS", 1, 1, 300.0, 5.0),
        t("WOOD", 0, 1, 0.0, 10.0),
        t(None, 0, 1, 0.0, 2.5),
    ]


def test_rows_carry_exactly_their_key_and_the_figures(client: TestClient, data: Data) -> None:
    figures = list(ZERO)
    for group_by, key in (
        ("period", ["period"]),
        ("org", ["org_id", "org_name"]),
        ("beach", ["beach_id", "beach_name"]),
        ("team", ["team_id", "team_name"]),
        ("user", ["user_id", "nickname"]),
        ("trash_type", ["trash_type"]),
    ):
        rows = stats(client, data, group_by=group_by)
        assert rows, group_by
        for r in rows:
            assert list(r) == key + figures, group_by


# ---- filters -------------------------------------------------------------------------------------


def test_type_filter_keeps_the_figures_of_that_type(client: TestClient, data: Data) -> None:
    assert stats(client, data, type="cleaning") == [
        row(period="2026-04-01", cleaning_reports=3, kg_cleaned=59.75, volunteer_hours=2.5)
    ]
    assert stats(client, data, type="INVESTIGATION") == [
        row(period="2026-03-01", investigation_reports=1, litres_estimated=150.5),
        row(period="2026-04-01", investigation_reports=2, litres_estimated=320.0),
    ]
    assert stats(client, data, type="collection_request") == [
        row(period="2026-03-01", collection_requests=1, depots_waiting=1),
        row(period="2026-04-01", collection_requests=2, **A_DEPOTS),
        MAY,
    ]


def test_beach_filter(client: TestClient, data: Data) -> None:
    assert stats(client, data, group_by="period", period="year", beach_id=data.beaches["A2"].id) == [
        row(period="2026-01-01", **A2_FIGURES)
    ]


def test_org_filter_is_a_subtree(client: TestClient, data: Data) -> None:
    assert stats(client, data, period="year", org_id=data.district_b.id) == [row(period="2026-01-01", **B_ROW)]
    assert stats(client, data, "platform", period="year", org_id=data.city.id) == stats(
        client, data, "city_admin", period="year"
    )


def test_a_filter_that_matches_nothing_gives_no_rows(client: TestClient, data: Data) -> None:
    assert stats(client, data, **{"from": "2027-01-01"}) == []
    assert stats(client, data, group_by="beach", **{"from": "2027-01-01"}) == []
    # the districts are always listed
    rows = stats(client, data, group_by="org", **{"from": "2027-01-01"})
    assert rows == [
        row(org_id=data.district_a.id, org_name="해운대구"),
        row(org_id=data.district_b.id, org_name="수영구"),
    ]


# ---- scope ---------------------------------------------------------------------------------------


def test_other_city_is_never_counted(client: TestClient, data: Data) -> None:
    ulsan = stats(client, data, "other_city_admin", period="year")
    assert ulsan == [row(period="2026-01-01", **ULSAN_FIGURES)]
    busan_users = {r["user_id"] for r in stats(client, data, group_by="user")}
    assert data.people["inv_x"].id not in busan_users and data.people["col_x"].id not in busan_users


def test_district_admin_sees_its_district_only(client: TestClient, data: Data) -> None:
    rows = stats(client, data, "admin_a", period="year")
    assert rows == [row(period="2026-01-01", **A_ROW)]


@pytest.mark.parametrize(
    ("who", "param", "target"),
    [
        ("city_admin", "org_id", "other_city"),
        ("city_admin", "org_id", "district_x"),
        ("admin_a", "org_id", "district_b"),
        ("admin_a", "org_id", "city"),
        ("city_admin", "beach_id", "X1"),
        ("admin_a", "beach_id", "B1"),
    ],
)
def test_filters_outside_scope_are_404(client: TestClient, data: Data, who: str, param: str, target: str) -> None:
    value = data.beaches[target].id if param == "beach_id" else getattr(data, target).id
    for path, extra in (
        ("/api/statistics", {}),
        ("/api/statistics/export", {}),
        ("/api/statistics/map", {"layer": "litter"}),
        ("/api/statistics/map", {"layer": "forecast"}),
        ("/api/statistics/dashboard", {}),
    ):
        if path.endswith("dashboard") and param != "org_id":
            continue
        r = client.get(path, params={param: value, **extra}, headers=data.h(who))
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = client.get("/api/statistics", params={param: 987654321}, headers=data.h(who))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_workers_are_forbidden_and_anonymous_unauthenticated(client: TestClient, data: Data) -> None:
    for path in (
        "/api/statistics",
        "/api/statistics/export",
        "/api/statistics/map?layer=litter",
        "/api/statistics/dashboard",
    ):
        r = client.get(path, headers=data.h("inv_a"))
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "FORBIDDEN"
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "UNAUTHENTICATED"


# ---- bad parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"group_by": "district"}, ["query.group_by"]),
        ({"period": "hour"}, ["query.period"]),
        ({"from": "2026-13-01"}, ["query.from"]),
        ({"from": "20260101"}, ["query.from"]),
        ({"to": "2026-02-30"}, ["query.to"]),
        ({"from": "0001-01-01", "to": "9999-12-31"}, ["query.from", "query.to"]),
        ({"from": "2026-05-01", "to": "2026-04-30"}, ["query.from"]),
        ({"org_id": "0"}, ["query.org_id"]),
        ({"org_id": "abc"}, ["query.org_id"]),
        ({"beach_id": "-1"}, ["query.beach_id"]),
        ({"type": "survey"}, ["query.type"]),
        ({"group_by": "x", "period": "y", "type": "z"}, ["query.group_by", "query.period", "query.type"]),
        ({"period": "day", "from": "1990-01-01", "to": "2026-12-31"}, ["query.period"]),
    ],
)
def test_bad_parameters_are_400_naming_the_field(
    client: TestClient, data: Data, params: dict[str, str], fields: list[str]
) -> None:
    r = client.get("/api/statistics", params=params, headers=data.h("city_admin"))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert sorted(d["field"] for d in error["details"]) == sorted(fields)


def test_enum_parameters_accept_any_case(client: TestClient, data: Data) -> None:
    assert stats(client, data, group_by="PERIOD", period="Month") == [MARCH, APRIL, MAY]
