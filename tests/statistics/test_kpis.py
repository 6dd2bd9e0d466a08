"""GET /api/statistics/dashboard and GET /api/users/me/performance."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from beachsaver.core.enums import CleanerType, Role, UserStatus
from beachsaver.core.time import SEOUL, utcnow
from beachsaver.reports.models import Contribution, Objection
from beachsaver.statistics.sql import kst_start
from tests.factories import auth, make_beach, make_city, make_district, make_team, make_user, token_for

from .conftest import Data, add_depot, add_report


def today_start() -> datetime:
    return kst_start(datetime.now(SEOUL).date())


def test_dashboard(client: TestClient, db: Session) -> None:
    city = make_city(db, name="부산광역시")
    a = make_district(db, city, name="해운대구")
    b = make_district(db, city, name="수영구")
    other = make_district(db, make_city(db, name="울산광역시"), name="동구")
    beach_a = make_beach(db, a, "해운대")
    beach_b = make_beach(db, b, "광안리")
    beach_x = make_beach(db, other, "일산")
    lo = today_start()
    now = utcnow()
    logged_in = make_user(db, Role.INVESTIGATOR, a)
    submitter = make_user(db, Role.CLEANER, a)
    collector = make_user(db, Role.COLLECTOR, b, verified=True)
    contributor = make_user(db, Role.CLEANER, a, cleaner_type=CleanerType.VOLUNTEER)
    idle = make_user(db, Role.INVESTIGATOR, b)
    make_user(db, Role.CLEANER, a, status=UserStatus.SUSPENDED)
    make_user(db, Role.CITIZEN, a, status=UserStatus.PENDING_APPROVAL)
    elsewhere = make_user(db, Role.INVESTIGATOR, other)
    logged_in.last_login_at = lo + timedelta(seconds=1)
    idle.last_login_at = lo - timedelta(seconds=1)  # yesterday in Seoul
    elsewhere.last_login_at = lo + timedelta(seconds=1)
    team = make_team(db, a, submitter, [contributor])
    # reports: two submitted today (one already approved), one yesterday, one overdue for review
    add_report(db, "INVESTIGATION", "SUBMITTED", submitter, beach_a, lo - timedelta(days=3), submitted_at=lo)
    approved = add_report(
        db, "CLEANING", "APPROVED", submitter, beach_a, lo - timedelta(hours=2), submitted_at=lo + timedelta(seconds=2)
    )
    add_report(db, "INVESTIGATION", "SUBMITTED", idle, beach_b, lo - timedelta(seconds=5))
    add_report(db, "INVESTIGATION", "SUBMITTED", idle, beach_b, now - timedelta(hours=49))
    add_report(db, "INVESTIGATION", "DRAFT", idle, beach_b, None)
    add_report(db, "INVESTIGATION", "DRAFT", idle, beach_b, None).deleted_at = now  # deleted: not counted
    add_report(db, "INVESTIGATION", "SUBMITTED", elsewhere, beach_x, lo + timedelta(seconds=1))
    draft = add_report(db, "CLEANING", "DRAFT", submitter, beach_a, None, team=team)
    db.add(
        Contribution(report_id=draft.id, user_id=contributor.id, hours=Decimal(1), created_at=lo + timedelta(seconds=3))
    )
    db.add(Objection(report_id=approved.id, user_id=contributor.id, reason="적게 잡혔습니다"))
    request = add_report(db, "COLLECTION_REQUEST", "SUBMITTED", submitter, beach_b, lo - timedelta(days=1))
    add_depot(db, request, "COMPLETED", lo - timedelta(days=2), collector=collector, kg="10", completed=lo)
    add_depot(
        db,
        request,
        "COMPLETED",
        lo - timedelta(days=2),
        collector=collector,
        kg="10",
        completed=lo - timedelta(seconds=1),
    )
    add_depot(db, request, "WAITING", lo - timedelta(days=2))
    add_depot(db, request, "IN_ROUTE", lo - timedelta(days=2), collector=collector)
    add_depot(db, request, "ISSUE", lo - timedelta(days=2))
    add_depot(db, request, "ISSUE", lo - timedelta(days=2))
    # a rejected request keeps its depots' states; they are not counted
    rejected = add_report(db, "COLLECTION_REQUEST", "REJECTED", submitter, beach_b, lo - timedelta(days=1))
    add_depot(db, rejected, "WAITING", lo - timedelta(days=1))
    add_depot(db, rejected, "ISSUE", lo - timedelta(days=1))
    admin = make_user(db, Role.CITY_ADMIN, city)
    admin_a = make_user(db, Role.DISTRICT_ADMIN, a)
    token, token_a = token_for(db, admin), token_for(db, admin_a)
    db.commit()

    r = client.get("/api/statistics/dashboard", headers=auth(token))
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data == {
        "date": datetime.now(SEOUL).date().isoformat(),
        "workers_total": 5,
        "workers_active_today": 4,  # signed in, submitted, collected, contributed
        "work_done_today": {"reports_submitted": 2, "depots_completed": 1, "total": 3},
        "reports": {
            "INVESTIGATION": {"DRAFT": 1, "SUBMITTED": 3, "APPROVED": 0, "REJECTED": 0},
            "CLEANING": {"DRAFT": 1, "SUBMITTED": 0, "APPROVED": 1, "REJECTED": 0},
            "COLLECTION_REQUEST": {"DRAFT": 0, "SUBMITTED": 1, "APPROVED": 0, "REJECTED": 1},
        },
        "depots": {"WAITING": 1, "IN_ROUTE": 1, "COMPLETED": 2, "ISSUE": 2},
        "alerts": [
            {
                "code": "DEPOT_ISSUE",
                "severity": "HIGH",
                "count": 2,
                "message": "문제가 보고된 집하장이 있습니다.",
                "link": "/admin/depots?status=ISSUE",
            },
            {
                "code": "REVIEW_OVERDUE",
                "severity": "MEDIUM",
                "count": 1,
                "message": "48시간 넘게 검토를 기다리는 보고서가 있습니다.",
                "link": "/admin/reports?status=SUBMITTED",
            },
            {
                "code": "VOLUNTEERS_PENDING",
                "severity": "MEDIUM",
                "count": 1,
                "message": "승인을 기다리는 자원봉사자가 있습니다.",
                "link": "/admin/users?status=PENDING_APPROVAL",
            },
            {
                "code": "OBJECTIONS_OPEN",
                "severity": "LOW",
                "count": 1,
                "message": "처리되지 않은 기여도 이의가 있습니다.",
                "link": "/admin/reports?objections=open",
            },
        ],
    }
    # the district admin sees its district; the city admin may narrow to it
    district = client.get("/api/statistics/dashboard", headers={**auth(token_a), "Accept-Language": "en"}).json()[
        "data"
    ]
    narrowed = client.get(
        "/api/statistics/dashboard", params={"org_id": a.id}, headers={**auth(token), "Accept-Language": "en"}
    )
    assert narrowed.json()["data"] == district
    assert district["workers_total"] == 3
    assert district["workers_active_today"] == 3
    assert district["work_done_today"] == {"reports_submitted": 2, "depots_completed": 0, "total": 2}
    assert district["depots"] == {"WAITING": 0, "IN_ROUTE": 0, "COMPLETED": 0, "ISSUE": 0}
    assert [(x["code"], x["count"], x["message"]) for x in district["alerts"]] == [
        ("VOLUNTEERS_PENDING", 1, "Volunteers waiting for approval."),
        ("OBJECTIONS_OPEN", 1, "Open objections to credit shares."),
    ]
    r = client.get("/api/statistics/dashboard", params={"org_id": other.id}, headers=auth(token))
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = client.get("/api/statistics/dashboard", params={"org_id": "x"}, headers=auth(token))
    assert r.status_code == 400 and [d["field"] for d in r.json()["error"]["details"]] == ["query.org_id"]


# ---- my performance ---------------------------------------------------------------------------


def perf(client: TestClient, data: Data, who: str) -> dict[str, Any]:
    r = client.get("/api/users/me/performance", headers=data.h(who))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["data"]
    return body


def figures(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "reports_submitted": {"INVESTIGATION": 0, "CLEANING": 0, "COLLECTION_REQUEST": 0},
        "reports_approved": {"INVESTIGATION": 0, "CLEANING": 0, "COLLECTION_REQUEST": 0},
        "kg_cleaned": 0.0,
        "kg_collected": 0.0,
        "depots_collected": 0,
        "hours": 0.0,
        "volunteer_hours": 0.0,
    }
    for key, value in values.items():
        if isinstance(value, dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def test_my_performance(client: TestClient, data: Data, db: Session) -> None:
    p = data.people
    month_start = kst_start(datetime.now(SEOUL).date().replace(day=1))
    this_month = month_start + timedelta(seconds=30)
    add_report(db, "INVESTIGATION", "APPROVED", p["inv_a"], data.beaches["A1"], this_month, areas=[("5", None, "WOOD")])
    request = add_report(db, "COLLECTION_REQUEST", "SUBMITTED", p["solo_a"], data.beaches["A1"], this_month)
    add_depot(db, request, "COMPLETED", this_month, collector=p["col_a"], kg="12.5", completed=this_month)
    add_depot(
        db,
        request,
        "COMPLETED",
        this_month,
        collector=p["col_a"],
        kg="7.5",
        completed=month_start - timedelta(seconds=1),
    )
    db.commit()
    month = datetime.now(SEOUL).strftime("%Y-%m")

    inv = perf(client, data, "inv_a")
    assert inv == {
        "user_id": p["inv_a"].id,
        "role": "INVESTIGATOR",
        "cleaner_type": None,
        "month": month,
        "this_month": figures(reports_submitted={"INVESTIGATION": 1}, reports_approved={"INVESTIGATION": 1}),
        "all_time": figures(reports_submitted={"INVESTIGATION": 3}, reports_approved={"INVESTIGATION": 2}),
    }
    assert perf(client, data, "lead_a")["all_time"] == figures(
        reports_submitted={"CLEANING": 1, "COLLECTION_REQUEST": 1}, kg_cleaned=25.35, hours=3.0
    )
    volunteer = perf(client, data, "vol_a")
    assert volunteer["cleaner_type"] == "VOLUNTEER"
    assert volunteer["all_time"] == figures(kg_cleaned=16.9, hours=2.5, volunteer_hours=2.5)  # not the draft's 10 h
    assert volunteer["this_month"] == figures()
    collector = perf(client, data, "col_a")
    assert collector["this_month"] == figures(kg_collected=12.5, depots_collected=1)
    assert collector["all_time"] == figures(kg_collected=75.5, depots_collected=4)


def test_solo_cleaning_counts_for_its_author(client: TestClient, data: Data, db: Session) -> None:
    token = token_for(db, data.people["solo_a"])
    db.commit()
    r = client.get("/api/users/me/performance", headers=auth(token))
    assert r.json()["data"]["all_time"] == figures(
        reports_submitted={"CLEANING": 1, "COLLECTION_REQUEST": 1},
        reports_approved={"CLEANING": 1, "COLLECTION_REQUEST": 1},
        kg_cleaned=10.0,
    )


def test_performance_is_for_workers(client: TestClient, data: Data, db: Session) -> None:
    r = client.get("/api/users/me/performance", headers=data.h("admin_a"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
    citizen = make_user(db, Role.CITIZEN, data.district_a, status=UserStatus.PENDING_APPROVAL)
    token = token_for(db, citizen)
    db.commit()
    r = client.get("/api/users/me/performance", headers=auth(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
    r = client.get("/api/users/me/performance")
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHENTICATED"
    # the neighbouring routes still answer as before
    me = client.get("/api/users/me", headers=data.h("inv_a"))
    assert me.status_code == 200 and me.json()["data"]["id"] == data.people["inv_a"].id
