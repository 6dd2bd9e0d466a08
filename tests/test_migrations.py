"""The migrations build exactly the models' schema, and go down and up again cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from beachsaver.core.db import normalise_database_url
from beachsaver.core.migrate import alembic_config, upgrade
from beachsaver.models import Base
from tests.conftest import fresh_database_url


def _diff(url: str) -> list[object]:
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return list(diff)


def test_migrations_match_models_and_reverse(backend: str, tmp_path: Path) -> None:
    url, cleanup = fresh_database_url(backend, tmp_path)
    try:
        assert _diff(url) == []
        command.downgrade(alembic_config(normalise_database_url(url)), "base")
        upgrade(url)
        assert _diff(url) == []
    finally:
        cleanup()
