"""GET /api/users and GET /api/users/{id}: scope, filters, paging, masking, reveal."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from beachsaver.core.enums import CleanerType, Role, UserStatus
from tests.users.world import World, assert_error, audit_entries, make_account

MASK = re.compile(r"^010-\*\*\*\*-\d{4}$")


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.text
    return {u["id"] for u in response.json()["data"]}


def test_list_is_scoped_to_the_subtree(client: TestClient, w: World) -> None:
    everyone = {a.id for a in w.accounts.values()}
    assert ids(client.get("/api/users?size=100", headers=w.pa.headers)) == everyone
    city_a = {a.id for a in w.accounts.values() if a.org_id in (w.city_a, w.d_a1, w.d_a2)}
    assert ids(client.get("/api/users?size=100", headers=w.ca.headers)) == city_a
    d_a1 = {a.id for a in w.accounts.values() if a.org_id == w.d_a1}
    assert ids(client.get("/api/users?size=100", headers=w.da1.headers)) == d_a1


@pytest.mark.parametrize("worker", ["inv", "cl", "col"])
def test_workers_may_not_list_or_read_accounts(client: TestClient, w: World, worker: str) -> None:
    headers = getattr(w, worker).headers
    assert_error(client.get("/api/users", headers=headers), 403, "FORBIDDEN")
    assert_error(client.get(f"/api/users/{w.cl.id}", headers=headers), 403, "FORBIDDEN")
    assert_error(client.get(f"/api/users/{getattr(w, worker).id}", headers=headers), 403, "FORBIDDEN")


def test_unauthenticated_list(client: TestClient, w: World) -> None:
    assert_error(client.get("/api/users"), 401, "UNAUTHENTICATED")
    assert_error(client.get("/api/users", headers={"Authorization": "Bearer nonsense"}), 401, "UNAUTHENTICATED")


def test_phones_are_masked_in_lists(client: TestClient, w: World) -> None:
    r = client.get("/api/users?size=100", headers=w.pa.headers)
    by_id = {u["id"]: u for u in r.json()["data"]}
    for account in w.accounts.values():
        shown = by_id[account.id]["phone"]
        assert MASK.match(shown), shown
        assert shown.endswith(account.phone[-4:])
        assert by_id[account.id]["real_name"] is None


def test_filters(client: TestClient, db: Any, w: World) -> None:
    volunteer = make_account(db, Role.CLEANER, w.d_a1, cleaner_type=CleanerType.VOLUNTEER, nickname="봉사자")
    suspended = make_account(db, Role.CLEANER, w.d_a2, status=UserStatus.SUSPENDED, token=False, nickname="정지됨")
    h = w.pa.headers
    assert ids(client.get("/api/users", params={"role": "CLEANER"}, headers=h)) == {
        w.cl.id,
        w.cl_b.id,
        volunteer.id,
        suspended.id,
    }
    assert ids(client.get("/api/users", params={"role": "cleaner", "cleaner_type": "VOLUNTEER"}, headers=h)) == {
        volunteer.id
    }
    assert ids(client.get("/api/users", params={"status": "SUSPENDED"}, headers=h)) == {suspended.id}
    # org_id means the subtree.
    city_a = {a.id for a in w.accounts.values() if a.org_id in (w.city_a, w.d_a1, w.d_a2)} | {
        volunteer.id,
        suspended.id,
    }
    assert ids(client.get("/api/users", params={"org_id": w.city_a, "size": 100}, headers=h)) == city_a
    d_a1 = {a.id for a in w.accounts.values() if a.org_id == w.d_a1} | {volunteer.id}
    assert ids(client.get("/api/users", params={"org_id": w.d_a1, "size": 100}, headers=h)) == d_a1
    # The same through filter=.
    assert ids(client.get("/api/users", params={"filter": f"org_id={w.d_a1}", "size": 100}, headers=h)) == d_a1
    assert ids(client.get("/api/users", params={"filter": "role=CLEANER,status=SUSPENDED"}, headers=h)) == {
        suspended.id
    }
    # Combined.
    assert ids(client.get("/api/users", params={"org_id": w.d_a1, "role": "CLEANER"}, headers=h)) == {
        w.cl.id,
        volunteer.id,
    }


def test_org_filter_outside_scope(client: TestClient, w: World) -> None:
    assert_error(client.get("/api/users", params={"org_id": w.d_b1}, headers=w.ca.headers), 404, "NOT_FOUND")
    assert_error(client.get("/api/users", params={"org_id": 999999}, headers=w.ca.headers), 404, "NOT_FOUND")


def test_q_is_a_case_insensitive_contains_on_nickname_and_system_id(client: TestClient, db: Any, w: World) -> None:
    mixed = make_account(db, Role.INVESTIGATOR, w.d_a1, nickname="SeaTurtle")
    under = make_account(db, Role.INVESTIGATOR, w.d_a1, nickname="a_b")
    percent = make_account(db, Role.INVESTIGATOR, w.d_a1, nickname="50%off")
    h = w.pa.headers
    assert ids(client.get("/api/users", params={"q": "seatur"}, headers=h)) == {mixed.id}
    assert ids(client.get("/api/users", params={"q": "TURTLE"}, headers=h)) == {mixed.id}
    # System id: "BSJ001-HAEUN_..." matches every account of that district, case-insensitively.
    d_a1 = {a.id for a in w.accounts.values() if a.org_id == w.d_a1} | {mixed.id, under.id, percent.id}
    assert ids(client.get("/api/users", params={"q": "bsj001-haeun_", "size": 100}, headers=h)) == d_a1
    serial = mixed.system_id.rsplit("_", 1)[1]
    assert mixed.id in ids(client.get("/api/users", params={"q": f"_{serial}"}, headers=h))
    # Wildcards are literal.
    assert ids(client.get("/api/users", params={"q": "a_b"}, headers=h)) == {under.id}
    assert ids(client.get("/api/users", params={"q": "%"}, headers=h)) == {percent.id}
    assert ids(client.get("/api/users", params={"q": "부산시청"}, headers=h)) == {w.ca.id, w.ca2.id}
    assert ids(client.get("/api/users", params={"q": "nobody-has-this"}, headers=h)) == set()


def test_paging_and_sorting(client: TestClient, w: World) -> None:
    h = w.pa.headers
    total = len(w.accounts)
    r = client.get("/api/users", params={"size": 5, "page": 1}, headers=h)
    assert r.status_code == 200
    assert r.json()["meta"] == {"page": 1, "size": 5, "total": total, "total_pages": -(-total // 5)}
    seen: list[int] = []
    for page in range(1, -(-total // 5) + 1):
        seen += [u["id"] for u in client.get("/api/users", params={"size": 5, "page": page}, headers=h).json()["data"]]
    assert len(seen) == len(set(seen)) == total
    # Default order: created_at desc then id desc.
    assert seen == sorted(seen, reverse=True)
    past = client.get("/api/users", params={"size": 5, "page": 99}, headers=h)
    assert past.status_code == 200
    assert past.json()["data"] == []
    by_id = client.get("/api/users", params={"sort": "id,asc", "size": 100}, headers=h).json()["data"]
    assert [u["id"] for u in by_id] == sorted(seen)
    by_nick = client.get("/api/users", params={"sort": "nickname,desc;id,asc", "size": 100}, headers=h).json()["data"]
    assert [u["nickname"] for u in by_nick] == sorted((u["nickname"] for u in by_nick), reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"size": 101}, "query.size"),
        ({"size": 0}, "query.size"),
        ({"page": 0}, "query.page"),
        ({"sort": "phone,asc"}, "query.sort"),
        ({"sort": "id,sideways"}, "query.sort"),
        ({"filter": "phone=010"}, "query.filter"),
        ({"filter": "role=KING"}, "query.filter"),
        ({"filter": "org_id=abc"}, "query.filter"),
        ({"role": "KING"}, "query.role"),
        ({"status": "SLEEPING"}, "query.status"),
        ({"cleaner_type": "PART_TIME"}, "query.cleaner_type"),
        ({"org_id": "x"}, "query.org_id"),
        ({"q": "x" * 101}, "query.q"),
    ],
)
def test_bad_query_names_the_parameter(client: TestClient, w: World, params: dict[str, Any], field: str) -> None:
    assert_error(client.get("/api/users", params=params, headers=w.pa.headers), 400, "VALIDATION_ERROR", field)


def test_detail_scope(client: TestClient, w: World) -> None:
    assert client.get(f"/api/users/{w.cl.id}", headers=w.da1.headers).status_code == 200
    assert client.get(f"/api/users/{w.da1.id}", headers=w.ca.headers).status_code == 200
    assert_error(client.get(f"/api/users/{w.inv2.id}", headers=w.da1.headers), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/users/{w.ca.id}", headers=w.da1.headers), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/users/{w.cl_b.id}", headers=w.ca.headers), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/users/{w.pa.id}", headers=w.ca.headers), 404, "NOT_FOUND")
    assert_error(client.get("/api/users/999999", headers=w.pa.headers), 404, "NOT_FOUND")
    r = client.get(f"/api/users/{w.col.id}", headers=w.da1.headers)
    data = r.json()["data"]
    assert MASK.match(data["phone"])
    assert data["system_id"] == w.col.system_id
    assert data["vehicle"]["type"] == "SMALL"
    assert set(data) >= {
        "id",
        "system_id",
        "nickname",
        "phone",
        "role",
        "org_id",
        "status",
        "cleaner_type",
        "vehicle",
        "created_at",
        "last_login_at",
        "email",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["created_at"])


def test_reveal_phone_is_audited(client: TestClient, w: World) -> None:
    assert audit_entries(client, "USER_REVEAL_PII") == []
    r = client.get(f"/api/users/{w.cl.id}", params={"reveal": "phone"}, headers=w.da1.headers)
    assert r.status_code == 200
    assert r.json()["data"]["phone"] == w.cl.phone
    entries = audit_entries(client, "USER_REVEAL_PII", w.cl.id)
    assert len(entries) == 1
    assert entries[0]["actor_id"] == w.da1.id
    assert entries[0]["org_id"] == w.d_a1
    assert entries[0]["target_type"] == "USER"
    # Without reveal: masked and not audited.
    r = client.get(f"/api/users/{w.cl.id}", headers=w.da1.headers)
    assert MASK.match(r.json()["data"]["phone"])
    assert len(audit_entries(client, "USER_REVEAL_PII")) == 1
    # Outside scope: 404 and nothing audited.
    assert_error(client.get(f"/api/users/{w.cl_b.id}?reveal=phone", headers=w.da1.headers), 404, "NOT_FOUND")
    assert len(audit_entries(client, "USER_REVEAL_PII")) == 1
    assert_error(
        client.get(f"/api/users/{w.cl.id}?reveal=everything", headers=w.da1.headers),
        400,
        "VALIDATION_ERROR",
        "query.reveal",
    )


def test_me_shows_the_full_phone(client: TestClient, w: World) -> None:
    r = client.get("/api/users/me", headers=w.cl.headers)
    assert r.status_code == 200
    assert r.json()["data"]["phone"] == w.cl.phone
    assert r.json()["data"]["id"] == w.cl.id
