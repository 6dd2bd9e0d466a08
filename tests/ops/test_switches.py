from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from beachsaver.core.db import session_scope
from beachsaver.core.enums import Role
from beachsaver.ops.switches import set_feature, set_maintenance
from tests.factories import auth, make_city, make_district, make_user, token_for


def _switch(app: Any, **kwargs: Any) -> None:
    with session_scope(app.state.runtime.session_factory) as db:
        if "feature" in kwargs:
            set_feature(db, kwargs["feature"], enabled=False, message=kwargs.get("message"))
        else:
            set_maintenance(db, on=True, read_only=kwargs.get("read_only", False), message=kwargs.get("message"))


def _worker(db: Any) -> str:
    district = make_district(db, make_city(db))
    user = make_user(db, Role.INVESTIGATOR, district)
    token = token_for(db, user)
    db.commit()
    return token


def test_maintenance_blocks_everything_but_health_version_and_admin_sign_in(
    app: Any, client: TestClient, db: Any
) -> None:
    token = _worker(db)
    _switch(app, message="정기 점검 중입니다 (02:00–03:00)")
    r = client.get("/api/users/me", headers=auth(token))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "MAINTENANCE"
    assert r.json()["error"]["message"] == "정기 점검 중입니다 (02:00–03:00)"
    assert r.headers["retry-after"]
    assert client.get("/health").status_code == 200
    assert client.get("/api/version").status_code == 200
    assert client.get("/metrics").status_code == 200
    r = client.post("/api/auth/admin/login", json={"login_id": "nobody", "password": "x"})
    assert r.status_code == 401
    assert client.post("/api/auth/login", json={"phone": "01012345678"}).status_code == 503


def test_read_only_refuses_writes_only(app: Any, client: TestClient, db: Any) -> None:
    token = _worker(db)
    _switch(app, read_only=True)
    assert client.get("/api/users/me", headers=auth(token)).status_code == 200
    r = client.patch("/api/users/me", json={"nickname": "새이름"}, headers=auth(token))
    assert r.status_code == 503 and r.json()["error"]["code"] == "MAINTENANCE"


def test_feature_kill_switch(app: Any, client: TestClient, db: Any) -> None:
    token = _worker(db)
    _switch(app, feature="sync")
    r = client.post("/api/reports/sync", json={"reports": [{}]}, headers=auth(token))
    assert r.status_code == 503
    assert r.json()["error"]["details"] == [{"field": "feature", "message": "sync"}]
    assert client.get("/api/users/me", headers=auth(token)).status_code == 200


def test_unknown_feature_is_refused(app: Any) -> None:
    import pytest

    with pytest.raises(ValueError), session_scope(app.state.runtime.session_factory) as db:
        set_feature(db, "teleport", enabled=False)


def test_platform_admins_work_through_maintenance_and_others_cannot_sign_in(
    app: Any, client: TestClient, db: Any
) -> None:
    from tests.factories import PASSWORD

    city = make_city(db)
    platform = make_user(db, Role.PLATFORM_ADMIN, city)
    city_admin = make_user(db, Role.CITY_ADMIN, city)
    platform_token, city_token = token_for(db, platform), token_for(db, city_admin)
    db.commit()
    _switch(app)
    assert client.get("/api/users/me", headers=auth(platform_token)).status_code == 200
    assert client.get("/api/users/me", headers=auth(city_token)).status_code == 503
    forged = platform_token[:-4] + ("AAAA" if not platform_token.endswith("AAAA") else "BBBB")
    assert client.get("/api/users/me", headers=auth(forged)).status_code == 503  # a bad signature is no pass
    refused = client.post("/api/auth/admin/login", json={"login_id": city_admin.system_id, "password": PASSWORD})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "MAINTENANCE"
    allowed = client.post("/api/auth/admin/login", json={"login_id": platform.system_id, "password": PASSWORD})
    assert allowed.status_code == 200, allowed.text
    page = client.get("/app/login")
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert client.get("/admin/login").status_code == 200
