from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.enums import Role
from beachsaver.ops.check import run_check
from tests.factories import auth, make_city, make_district, make_user, token_for


def test_incident_lifecycle_and_markdown(client: TestClient, db: Any) -> None:
    city = make_city(db)
    other_city = make_city(db)
    admin = token_for(db, make_user(db, Role.CITY_ADMIN, city))
    other = token_for(db, make_user(db, Role.CITY_ADMIN, other_city))
    district_admin = token_for(db, make_user(db, Role.DISTRICT_ADMIN, make_district(db, city)))
    db.commit()
    body = {"title": "DB 연결 실패", "severity": "high", "symptoms": "API 503", "scope": "전체", "owner": "김운영"}
    assert client.post("/api/ops/incidents", json=body, headers=auth(district_admin)).status_code == 403
    r = client.post("/api/ops/incidents", json=body, headers=auth(admin))
    assert r.status_code == 201, r.text
    incident = r.json()["data"]
    assert incident["severity"] == "HIGH" and incident["status"] == "OPEN" and len(incident["timeline"]) == 1
    iid = incident["id"]
    assert client.get(f"/api/ops/incidents/{iid}", headers=auth(other)).status_code == 404
    r = client.patch(
        f"/api/ops/incidents/{iid}",
        json={"status": "resolved", "cause": "디스크 가득 참", "update": "로그 정리 후 복구"},
        headers=auth(admin),
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["status"] == "RESOLVED" and data["resolved_at"] is not None
    assert data["timeline"][-1]["note"] == "로그 정리 후 복구"
    md = client.get(f"/api/ops/incidents/{iid}/export.md", headers=auth(admin))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "DB 연결 실패" in md.text and "디스크 가득 참" in md.text and "로그 정리 후 복구" in md.text
    bad = client.post("/api/ops/incidents", json={"title": "", "severity": "urgent"}, headers=auth(admin))
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"title", "severity"}


def test_ops_check_writes_a_dated_record(app: Any, client: TestClient, db: Any) -> None:
    record, path = run_check(app.state.runtime, audit_dependencies=False)
    names = [item["name"] for item in record.items]
    assert names[:3] == ["API health", "DB connectivity", "Slow queries (24 h)"]
    assert path.is_file() and path.with_suffix(".json").is_file()
    assert "API health" in path.read_text(encoding="utf-8")
    backups = next(i for i in record.items if i["name"] == "Backups")
    assert backups["status"] == "FAIL"  # no backup has been made yet
    assert record.ok is False
    city = make_city(db)
    token = token_for(db, make_user(db, Role.CITY_ADMIN, city))
    db.commit()
    listed = client.get("/api/ops/inspections", headers=auth(token))
    assert listed.status_code == 200 and listed.json()["data"][0]["ok"] is False


def test_backups_are_listed_from_the_target_newest_first(client: TestClient, db: Any, app: Any) -> None:
    from beachsaver.ops import backup

    city = make_city(db)
    admin = token_for(db, make_user(db, Role.CITY_ADMIN, city))
    district_admin = token_for(db, make_user(db, Role.DISTRICT_ADMIN, make_district(db, city)))
    db.commit()
    empty = client.get("/api/ops/backups", headers=auth(admin))
    assert empty.status_code == 200 and empty.json()["data"] == [] and empty.json()["meta"]["total"] == 0
    first = backup.create(app.state.settings, label="auto")
    second = backup.create(app.state.settings, label="milestone")
    listed = client.get("/api/ops/backups", params={"size": 1}, headers=auth(admin)).json()
    assert [b["id"] for b in listed["data"]] == [second.id]
    assert listed["meta"] == {"page": 1, "size": 1, "total": 2, "total_pages": 2}
    assert listed["data"][0]["label"] == "milestone" and listed["data"][0]["status"] == "OK"
    page2 = client.get("/api/ops/backups", params={"size": 1, "page": 2}, headers=auth(admin)).json()
    assert [b["id"] for b in page2["data"]] == [first.id] and page2["data"][0]["size"] > 0
    assert client.get("/api/ops/backups", headers=auth(district_admin)).status_code == 403


def test_an_unreadable_backup_target_answers_503(client: TestClient, db: Any, app: Any, monkeypatch: Any) -> None:
    from beachsaver.ops import backup

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("target unreachable")

    city = make_city(db)
    admin = token_for(db, make_user(db, Role.PLATFORM_ADMIN, city))
    db.commit()
    monkeypatch.setattr(backup, "list_backups", unreachable)
    r = client.get("/api/ops/backups", headers=auth(admin))
    assert r.status_code == 503 and r.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
