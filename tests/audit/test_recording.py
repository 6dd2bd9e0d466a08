"""What the audit log records: sign-ins, trace ids, ips, masking, organisations, transactions."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from beachsaver.audit import service as audit
from beachsaver.audit.models import AuditEntry
from beachsaver.core.enums import Role
from beachsaver.core.runtime import runtime_of
from beachsaver.orgs import service as org_service
from tests.auth.helpers import (
    PASSWORD,
    audit_entries,
    code_for,
    district_of,
    make_platform_admin,
    make_worker,
    wrong_code,
)
from tests.factories import make_user

PHONE = "01012345678"


def sealed_chain(db: Any) -> audit.VerifyResult:
    """Seal everything committed, then verify: the chain must hold every entry."""
    db.commit()
    audit.seal_all(runtime_of(db).session_factory)
    result = audit.verify_chain(db)
    db.rollback()
    assert result.unsealed == 0 and result.checked == db_count(db), result
    return result


def db_count(db: Any) -> int:
    value = len(audit_entries(db))
    db.rollback()
    return value


def test_phone_sign_in_success_is_recorded(client: TestClient, db: Any) -> None:
    user = make_worker(db, PHONE)
    client.post("/api/auth/login", json={"phone": PHONE})
    r = client.post(
        "/api/auth/verify",
        json={"phone": PHONE, "code": code_for(client, PHONE)},
        headers={"X-Trace-Id": "trace-signin-1"},
    )
    assert r.status_code == 200
    assert r.headers["x-trace-id"] == "trace-signin-1"
    [entry] = audit_entries(db, "AUTH_LOGIN")
    assert entry.actor_id == user.id
    assert entry.target_type == "USER"
    assert entry.target_id == user.id
    assert entry.org_id == user.org_id
    assert entry.trace_id == "trace-signin-1"
    assert entry.ip == "testclient"
    assert entry.after is not None and entry.after["kind"] == "phone"


def test_phone_sign_in_failure_is_recorded(client: TestClient, db: Any) -> None:
    user = make_worker(db, PHONE)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = code_for(client, PHONE)
    r = client.post(
        "/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)}, headers={"X-Trace-Id": "trace-fail-1"}
    )
    assert r.status_code == 401
    [entry] = audit_entries(db, "AUTH_LOGIN_FAILURE")
    assert entry.actor_id is None
    assert entry.target_type == "USER" and entry.target_id == user.id
    assert entry.org_id == user.org_id
    assert entry.trace_id == "trace-fail-1"
    assert entry.ip == "testclient"
    assert entry.after == {"kind": "phone", "failures": 1, "phone": "010-****-5678"}
    assert code not in str(entry.after)


def test_failure_for_an_unknown_phone_belongs_to_the_platform(client: TestClient, db: Any) -> None:
    root = org_service.ensure_root(db)
    db.commit()
    r = client.post("/api/auth/verify", json={"phone": "01099998888", "code": "123456"})
    assert r.status_code == 401
    [entry] = audit_entries(db, "AUTH_LOGIN_FAILURE")
    assert entry.target_id is None
    assert entry.org_id == root.id
    assert entry.trace_id == r.headers["x-trace-id"]
    assert "01099998888" not in str(entry.after)


def test_admin_failures_are_recorded(client: TestClient, db: Any) -> None:
    admin = make_platform_admin(db, PHONE)
    client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": "Wrong-Pass-1"})
    client.post("/api/auth/admin/login", json={"login_id": "NOBODY", "password": PASSWORD})
    entries = audit_entries(db, "AUTH_LOGIN_FAILURE")
    assert len(entries) == 2
    assert entries[0].target_id == admin.id and entries[0].org_id == admin.org_id
    assert entries[1].target_id is None and entries[1].org_id == admin.org_id  # the root
    assert all(e.ip == "testclient" and e.trace_id for e in entries)
    assert PASSWORD not in str([e.after for e in entries])


def test_every_request_has_its_own_trace_id(client: TestClient, db: Any) -> None:
    client.post("/api/auth/verify", json={"phone": "01099998888", "code": "123456"})
    client.post("/api/auth/verify", json={"phone": "01099998887", "code": "123456"})
    entries = audit_entries(db, "AUTH_LOGIN_FAILURE")
    assert len(entries) == 2
    assert entries[0].trace_id != entries[1].trace_id
    assert all(len(e.trace_id or "") == 32 for e in entries)


# ---- masking -----------------------------------------------------------------------------------


def test_masked_replaces_personal_data() -> None:
    data = {
        "phone": "01012345678",
        "new_phone": "010-9876-5432",
        "email": "hong@example.org",
        "real_name": "홍길동",
        "birth": "1990-01-01",
        "password": "Correct-Horse-9",
        "code": "123456",
        "refresh_token": "abc",
        "nickname": "길동",
        "nested": {"phone": "01011112222", "count": 2, "items": [{"email": "a@b.c"}]},
        "ids": [1, 2],
    }
    out = audit.masked(data)
    assert out == {
        "phone": "010-****-5678",
        "new_phone": "010-****-5432",
        "email": "h***@example.org",
        "real_name": "***",
        "birth": "***",
        "password": "***",
        "code": "***",
        "refresh_token": "***",
        "nickname": "길동",
        "nested": {"phone": "010-****-2222", "count": 2, "items": [{"email": "a***@b.c"}]},
        "ids": [1, 2],
    }
    assert audit.masked(None) is None


def test_masked_values_survive_storage_unchanged(client: TestClient, db: Any) -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    audit.record(
        db,
        "TEST_TYPES",
        actor_id=None,
        before={"phone": "01012345678"},
        after={
            "amount": Decimal("1.50"),
            "when": datetime(2024, 5, 1, 3, 4, 5, tzinfo=UTC),
            "day": date(2024, 5, 1),
            "role": Role.CLEANER,
            1: "int key",
            "tags": ("a", "b"),
        },
    )
    db.commit()
    [entry] = audit_entries(db, "TEST_TYPES")
    assert entry.before == {"phone": "010-****-5678"}
    assert entry.after == {
        "amount": "1.50",
        "when": "2024-05-01T03:04:05Z",
        "day": "2024-05-01",
        "role": "CLEANER",
        "1": "int key",
        "tags": ["a", "b"],
    }
    assert sealed_chain(db).ok


def test_raw_phones_never_reach_the_log(client: TestClient, db: Any) -> None:
    make_worker(db, PHONE)
    client.post("/api/auth/login", json={"phone": PHONE})
    code = code_for(client, PHONE)
    for _ in range(5):
        client.post("/api/auth/verify", json={"phone": PHONE, "code": wrong_code(code)})
    entries = audit_entries(db)
    assert entries
    for entry in entries:
        assert PHONE not in str(entry.before) + str(entry.after)
        assert "010-1234-5678" not in str(entry.before) + str(entry.after)


# ---- organisation of an entry ------------------------------------------------------------------


def test_entry_belongs_to_target_else_actor_else_root(client: TestClient, db: Any) -> None:
    root = org_service.ensure_root(db)
    district = district_of(db)
    actor = make_user(db, Role.DISTRICT_ADMIN, district, phone="01055556666")
    db.commit()
    audit.record(db, "TEST_TARGET", actor_id=actor.id, org_id=root.id)
    audit.record(db, "TEST_ACTOR", actor_id=actor.id)
    audit.record(db, "TEST_NOBODY", actor_id=None)
    db.commit()
    orgs = {e.action: e.org_id for e in audit_entries(db) if e.action.startswith("TEST_")}
    assert orgs == {"TEST_TARGET": root.id, "TEST_ACTOR": district.id, "TEST_NOBODY": root.id}


# ---- transactions ------------------------------------------------------------------------------


def count(db: Any, action: str) -> int:
    return len(audit_entries(db, action))


def test_rolled_back_work_leaves_no_entry(client: TestClient, db: Any) -> None:
    audit.record(db, "TEST_ROLLED_BACK", actor_id=None)
    db.rollback()
    db.commit()
    assert count(db, "TEST_ROLLED_BACK") == 0


def test_a_failed_savepoint_keeps_earlier_entries(client: TestClient, db: Any) -> None:
    district = district_of(db)
    db.commit()
    audit.record(db, "TEST_BEFORE_SAVEPOINT", actor_id=None, org_id=district.id)
    try:
        with db.begin_nested():
            audit.record(db, "TEST_IN_SAVEPOINT", actor_id=None, org_id=district.id)
            raise ValueError("undo the savepoint")
    except ValueError:
        pass
    with db.begin_nested():
        audit.record(db, "TEST_IN_KEPT_SAVEPOINT", actor_id=None, org_id=district.id)
    # Releasing a savepoint writes nothing yet: entries are inserted at the real commit.
    assert db.info.get("audit_pending")
    db.commit()
    assert count(db, "TEST_BEFORE_SAVEPOINT") == 1
    assert count(db, "TEST_IN_SAVEPOINT") == 0
    assert count(db, "TEST_IN_KEPT_SAVEPOINT") == 1
    assert sealed_chain(db).ok


def test_a_session_committing_twice_keeps_the_chain(client: TestClient, db: Any) -> None:
    with runtime_of(db).session_factory() as session:
        audit.record(session, "TEST_FIRST", actor_id=None)
        session.commit()
        # Another writer appends meanwhile.
        audit.record(db, "TEST_OTHER", actor_id=None)
        db.commit()
        audit.record(session, "TEST_SECOND", actor_id=None)
        session.commit()
    entries = audit_entries(db)
    assert [e.action for e in entries] == ["TEST_FIRST", "TEST_OTHER", "TEST_SECOND"]
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    result = sealed_chain(db)
    assert result.ok, result.problems
    assert [e.seq for e in audit_entries(db)] == [1, 2, 3]
    db.rollback()


def test_entries_of_a_request_that_fails_are_dropped(client: TestClient, db: Any) -> None:
    # A refused sign-up (409) is rolled back with everything it recorded.
    make_worker(db, PHONE)
    before = len(audit_entries(db))
    r = client.post("/api/auth/otp", json={"phone": PHONE, "purpose": "PHONE_CHANGE"})
    assert r.status_code == 401
    assert len(audit_entries(db)) == before
    assert AuditEntry.__tablename__ == "audit_entries"
