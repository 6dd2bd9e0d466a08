"""Permission matrix of the public endpoints (sign-in, sign-up, health, version, dev outbox) and of
the caller's own things (profile, devices, phone change, notifications) — every endpoint × every
role × own / other organisation, plus an anonymous caller.

None of these endpoints reads another organisation's data, so "own" and "other" differ only in
where the account the request names lives (the sign-in cells sign in an account of the own or
the other city). Requests that consume their subject (a code, a selection or refresh token, a
session, a password) are made for each cell on a fresh account; cells that consume the caller
itself (sign-out, password and phone changes) send the request as a fresh account of the role.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from fastapi.testclient import TestClient

from beachsaver.auth import service as auth_service
from beachsaver.core.enums import Role, UserStatus
from beachsaver.orgs import service as org_service
from tests.factories import PASSWORD, latest_code, make_user, next_phone, token_for
from tests.permissions.matrix import ROLES, Call, Cells, assert_cells, same
from tests.permissions.test_core_matrix import World, build

ANYONE = same(200, [*ROLES, "ANONYMOUS"])
SIGNED_IN_200 = {**same(200), "ANONYMOUS": (401, 401)}
WORKER_ROLES = {"INVESTIGATOR": Role.INVESTIGATOR, "CLEANER": Role.CLEANER, "COLLECTOR": Role.COLLECTOR}
ADMIN_ROLES = {"PLATFORM": Role.PLATFORM_ADMIN, "CITY": Role.CITY_ADMIN, "DISTRICT": Role.DISTRICT_ADMIN}
_serial = itertools.count(1)


class Public:
    """The core world plus the client, for cells that prepare through the API."""

    def __init__(self, world: World, client: TestClient) -> None:
        self.world = world
        self.client = client
        self.db = world.db

    def district(self, side: str) -> Any:
        return (self.world.own if side == "own" else self.world.other).district

    def account(self, side: str, role: Role = Role.INVESTIGATOR, *, phone: str | None = None) -> tuple[Any, str]:
        """A new account in the side's district and its phone number."""
        phone = phone or next_phone()
        user = make_user(self.db, role, self.district(side), phone=phone)
        self.db.commit()
        return user, phone

    def fresh_caller(self, role: str) -> tuple[Any, str]:
        """A new account of ``role`` in the own city (the callers' home)."""
        own, phone = self.world.own, next_phone()
        if role in ADMIN_ROLES:
            org = {"PLATFORM": org_service.ensure_root(self.db), "CITY": own.city, "DISTRICT": own.district}[role]
            user = make_user(self.db, ADMIN_ROLES[role], org, phone=phone)
        elif role == "CITIZEN":
            user = make_user(self.db, Role.CITIZEN, own.district, phone=phone, status=UserStatus.PENDING_APPROVAL)
        else:
            user = make_user(self.db, WORKER_ROLES[role], own.district, phone=phone, verified=True)
        self.db.commit()
        return user, phone

    def fresh_token(self, role: str) -> tuple[str, dict[str, Any]]:
        token = token_for(self.db, self.fresh_caller(role)[0])
        self.db.commit()
        return token, {}

    def code_for(self, path: str, body: dict[str, Any], phone: str, token: str | None = None) -> str:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return latest_code(self.client, phone)


def _verify(p: Public, s: str) -> Call:
    _user, phone = p.account(s)
    code = p.code_for("/api/auth/login", {"phone": phone}, phone)
    return Call("POST", "/api/auth/verify", {"json": {"phone": phone, "code": code}})


def _select(p: Public, s: str) -> Call:
    phone = next_phone()
    first, _phone = p.account(s, Role.INVESTIGATOR, phone=phone)
    p.account(s, Role.CLEANER, phone=phone)
    code = p.code_for("/api/auth/login", {"phone": phone}, phone)
    choice = p.client.post("/api/auth/verify", json={"phone": phone, "code": code}).json()["data"]
    return Call(
        "POST", "/api/auth/select", {"json": {"selection_token": choice["selection_token"], "user_id": first.id}}
    )


def _admin_login(p: Public, s: str) -> Call:
    admin, _phone = p.account(s, Role.DISTRICT_ADMIN)
    return Call("POST", "/api/auth/admin/login", {"json": {"login_id": admin.system_id, "password": PASSWORD}})


def _admin_verify(p: Public, s: str) -> Call:
    admin, phone = p.account(s, Role.DISTRICT_ADMIN)
    response = p.client.post("/api/auth/admin/login", json={"login_id": admin.system_id, "password": PASSWORD})
    challenge = response.json()["data"]["challenge_id"]
    code = latest_code(p.client, phone)
    return Call("POST", "/api/auth/admin/verify", {"json": {"challenge_id": challenge, "code": code}})


def _refresh(p: Public, s: str) -> Call:
    user, _phone = p.account(s)
    tokens = auth_service.start_session(p.db, user, auth_service.ClientInfo(ip="127.0.0.1"), kind="test")
    p.db.commit()
    return Call("POST", "/api/auth/refresh", {"json": {"refresh_token": tokens["refresh_token"]}})


def _volunteer(p: Public, s: str) -> Call:
    phone = next_phone()
    code = p.code_for("/api/auth/otp", {"phone": phone, "purpose": "SIGNUP"}, phone)
    body = {"nickname": "봉사자", "phone": phone, "code": code, "org_id": p.district(s).id, "privacy_consent": True}
    return Call("POST", "/api/users/volunteer", {"json": body})


def _phone_change(p: Public, s: str) -> Call:
    """The caller (a fresh account) asks for a new number, with codes sent to both numbers."""

    def caller(role: str) -> tuple[str, dict[str, Any]]:
        user, old_phone = p.fresh_caller(role)
        token = token_for(p.db, user)
        p.db.commit()
        new_phone = next_phone()
        codes = [
            p.code_for("/api/auth/otp", {"phone": phone, "purpose": "PHONE_CHANGE"}, phone, token)
            for phone in (old_phone, new_phone)
        ]
        return token, {"json": {"new_phone": new_phone, "code_old": codes[0], "code_new": codes[1]}}

    unsigned = {"new_phone": next_phone(), "code_old": "000000", "code_new": "000000"}
    return Call("POST", "/api/users/me/phone", {"json": unsigned}, caller=caller)


CELLS: Cells = {
    # ---- sign-in: the same answer for every caller, token or not ----
    "POST /api/auth/login": (
        lambda w, s: Call("POST", "/api/auth/login", {"json": {"phone": w.account(s)[1]}}),
        ANYONE,
    ),
    "POST /api/auth/verify": (lambda w, s: _verify(w, s), ANYONE),
    "POST /api/auth/select": (lambda w, s: _select(w, s), ANYONE),
    "POST /api/auth/admin/login": (lambda w, s: _admin_login(w, s), ANYONE),
    "POST /api/auth/admin/verify": (lambda w, s: _admin_verify(w, s), ANYONE),
    "POST /api/auth/refresh": (lambda w, s: _refresh(w, s), ANYONE),
    "POST /api/auth/otp (SIGNUP)": (
        lambda w, s: Call("POST", "/api/auth/otp", {"json": {"phone": next_phone(), "purpose": "SIGNUP"}}),
        ANYONE,
    ),
    # A phone-change code needs a signed-in caller (07 §4).
    "POST /api/auth/otp (PHONE_CHANGE)": (
        lambda w, s: Call("POST", "/api/auth/otp", {"json": {"phone": next_phone(), "purpose": "PHONE_CHANGE"}}),
        SIGNED_IN_200,
    ),
    "POST /api/auth/password": (
        lambda w, s: Call(
            "POST",
            "/api/auth/password",
            {"json": {"current_password": PASSWORD, "new_password": "Another-Horse-10"}},
            caller=w.fresh_token,
        ),
        {
            **same(200, ["PLATFORM", "CITY", "DISTRICT"]),
            **same(403, ["INVESTIGATOR", "CLEANER", "COLLECTOR", "CITIZEN"]),
            "ANONYMOUS": (401, 401),
        },
    ),
    "POST /api/auth/logout": (
        lambda w, s: Call("POST", "/api/auth/logout", caller=w.fresh_token),
        SIGNED_IN_200,
    ),
    # ---- sign-up (public) ----
    "POST /api/users/volunteer": (lambda w, s: _volunteer(w, s), same(201, [*ROLES, "ANONYMOUS"])),
    # ---- service status and the dev outbox (dev only; the tests run in dev) ----
    "GET /health": (lambda w, s: ("GET", "/health", {}), ANYONE),
    "GET /health/ready": (lambda w, s: ("GET", "/health/ready", {}), ANYONE),
    "GET /api/version": (lambda w, s: ("GET", "/api/version", {}), ANYONE),
    "GET /api/dev/messages": (lambda w, s: ("GET", "/api/dev/messages", {}), ANYONE),
    # ---- my own things (a pending citizen keeps its profile and notifications, 07 §5) ----
    "PATCH /api/users/me": (
        lambda w, s: ("PATCH", "/api/users/me", {"json": {"nickname": f"새이름{next(_serial)}"}}),
        SIGNED_IN_200,
    ),
    # 07 §5 does not list this path for a pending citizen; the service (and
    # tests/notifications/test_api.py::test_pending_citizens_may_use_their_notifications)
    # lets it register the push token of the notifications it may read.
    "POST /api/users/me/devices": (
        lambda w, s: (
            "POST",
            "/api/users/me/devices",
            {"json": {"fcm_token": f"fcm-{uuid.uuid4().hex}", "platform": "ANDROID"}},
        ),
        {**same(201), "ANONYMOUS": (401, 401)},
    ),
    "POST /api/users/me/phone": (
        lambda w, s: _phone_change(w, s),
        {**same(201), "CITIZEN": (403, 403), "ANONYMOUS": (401, 401)},
    ),
    "POST /api/notifications/read": (
        lambda w, s: ("POST", "/api/notifications/read", {"json": {"all": True}}),
        SIGNED_IN_200,
    ),
    "PUT /api/notifications/preferences": (
        lambda w, s: ("PUT", "/api/notifications/preferences", {"json": {"NOTICE": {"SMS": True}}}),
        SIGNED_IN_200,
    ),
}


def test_public_and_self_permission_matrix(client: TestClient, db: Any) -> None:
    world = build(db)
    assert_cells(client, Public(world, client), world.tokens, CELLS)
