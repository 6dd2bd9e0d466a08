from __future__ import annotations

import json
import logging
from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.logging import JsonFormatter, mask_pii


def test_mask_pii() -> None:
    text = mask_pii("call 010-1234-5678 or +821098765432, mail kim.minsu@example.kr, Bearer abc.def.ghi")
    assert "1234-5678" not in text and "010-****-5678" in text
    assert "010-****-5432" in text
    assert "kim.minsu" not in text and "k***@example.kr" in text
    assert "abc.def.ghi" not in text


def test_access_log_is_json_with_trace_route_status(client: TestClient, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="beachsaver.access")
    r = client.post("/api/auth/login", json={"phone": "010-2222-3333"}, headers={"X-Trace-Id": "trace-abc"})
    assert r.status_code == 200
    records = [rec for rec in caplog.records if rec.name == "beachsaver.access"]
    assert records
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["route"] == "/api/auth/login"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert "2222-3333" not in json.dumps(line) or "010-****-3333" in json.dumps(line)


def test_access_log_carries_the_trace_id(client: TestClient, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="beachsaver.access")
    client.get("/api/version", headers={"X-Trace-Id": "trace-xyz"})
    line = json.loads(JsonFormatter().format([r for r in caplog.records if r.name == "beachsaver.access"][-1]))
    assert line["trace_id"] == "trace-xyz"
    assert line["route"] == "/api/version"


def test_denied_access_is_audited(client: TestClient, db: Any) -> None:
    from sqlalchemy import select

    from beachsaver.audit.models import AuditEntry
    from beachsaver.core.enums import Role
    from tests.factories import auth, make_city, make_district, make_user, token_for

    worker = make_user(db, Role.INVESTIGATOR, make_district(db, make_city(db)))
    token = token_for(db, worker)
    db.commit()
    assert client.get("/api/users", headers=auth(token)).status_code == 403
    assert client.get("/api/users/999999", headers=auth(token)).status_code == 403
    assert client.get("/api/reports/999999", headers=auth(token)).status_code == 404
    entries = db.execute(select(AuditEntry).where(AuditEntry.action == "ACCESS_DENIED")).scalars().all()
    assert [(e.actor_id, e.after["route"], e.after["status"]) for e in entries] == [
        (worker.id, "/api/users", 403),
        (worker.id, "/api/users/{user_id}", 403),
        (worker.id, "/api/reports/{report_id}", 404),
    ]
    db.rollback()
