"""Test fixtures: a real database built by the migrations, on SQLite and (when
``BEACHSAVER_TEST_MYSQL_URL`` is set) on MariaDB/MySQL; every test starts from empty tables."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from beachsaver.config import Settings, load_settings
from beachsaver.core import security
from beachsaver.core.db import normalise_database_url
from beachsaver.core.migrate import upgrade
from beachsaver.models import Base

MYSQL_URL = os.environ.get("BEACHSAVER_TEST_MYSQL_URL")
BACKENDS = ["sqlite"] + (["mysql"] if MYSQL_URL else [])

if os.environ.get("CI", "").lower() == "true" and not MYSQL_URL:
    raise pytest.UsageError("CI=true but BEACHSAVER_TEST_MYSQL_URL is not set: the MariaDB tests must run")


def create_mysql_database(base_url: str, name: str) -> str:
    url = make_url(normalise_database_url(base_url))
    admin = create_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_mysql_database(base_url: str, name: str) -> None:
    admin = create_engine(make_url(normalise_database_url(base_url)))
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def fresh_database_url(backend: str, tmp_dir: Path) -> tuple[str, Any]:
    """A new, migrated database; returns its URL and a cleanup callable."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        return url, lambda: None
    assert MYSQL_URL
    name = f"bs_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_mysql_database(MYSQL_URL, name)
    upgrade(url)
    return url, lambda: drop_mysql_database(MYSQL_URL, name)


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    env = {
        "BEACHSAVER_ENV": "dev",
        "BEACHSAVER_DATA_DIR": str(data_dir),
        "BEACHSAVER_DATABASE_URL": database_url,
        "BEACHSAVER_PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BEACHSAVER_PHONE_HASH_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BEACHSAVER_JWT_SECRET": secrets.token_urlsafe(40),
        "BEACHSAVER_AUTO_MIGRATE": "false",
        "BEACHSAVER_WORKER_IN_PROCESS": "false",
    }
    env.update({f"BEACHSAVER_{k.upper()}": str(v) for k, v in overrides.items()})
    return load_settings(env)


@pytest.fixture(scope="session", autouse=True)
def shared_route_contexts() -> Iterator[None]:
    """FastAPI (0.165) builds each included route's dependant and response models lazily, once
    per app, on the app's first request: about 0.4 s of CPU, and the suite builds an app per
    test. The routers are module-level objects, so the built routes are shared between the
    suite's apps here. That is only sound while no test sets ``app.dependency_overrides`` (the
    shared routes would keep the first app's): the ``app`` fixture fails a test that does."""
    from fastapi import routing

    build = routing._EffectiveRouteContext.from_api_route
    built: dict[tuple[Any, ...], Any] = {}

    def from_api_route(*, original_route: Any, include_context: Any) -> Any:
        key = (
            id(original_route),
            id(include_context.included_router),
            include_context.prefix,
            include_context.max_body_size,
        )
        if key not in built:
            built[key] = (original_route, build(original_route=original_route, include_context=include_context))
        return built[key][1]

    patch = pytest.MonkeyPatch()
    patch.setattr(routing._EffectiveRouteContext, "from_api_route", staticmethod(from_api_route))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with minimal cost (a default hash takes 0.1–0.8 s on the build machine): most
    tests create or sign in admins. tests/auth overrides this to keep the real parameters."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, cleanup = fresh_database_url(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield url
    cleanup()


def wipe(engine: Any) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for name in tables:
                conn.execute(text(f"DELETE FROM `{name}`"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings (e.g. provider URLs)."""
    return {}


@pytest.fixture
def app(database: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Iterator[Any]:
    from beachsaver.app import create_app

    settings = make_settings(database, tmp_path, **settings_overrides)
    application = create_app(settings)
    yield application
    assert not application.dependency_overrides, "dependency overrides are unsupported (see shared_route_contexts)"
    wipe(application.state.runtime.engine)
    application.state.runtime.engine.dispose()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db(app: Any, client: TestClient) -> Iterator[Any]:
    """A session for arranging data; commit explicitly (``db.commit()``) before calling the API."""
    session = app.state.runtime.session_factory()
    yield session
    session.rollback()
    session.close()
