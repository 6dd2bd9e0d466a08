"""statistics roll-up: daily figures, dirty days, roll-up state; reports (org_id, submitted_at)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import beachsaver.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "statistics_daily",
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_id", BigId, autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("report_type", sa.String(length=24), nullable=False),
        sa.Column("beach_id", BigId, nullable=True),
        sa.Column("team_id", BigId, nullable=True),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("trash_type", sa.String(length=16), nullable=True),
        sa.Column("investigation_reports", sa.Integer(), nullable=False),
        sa.Column("cleaning_reports", sa.Integer(), nullable=False),
        sa.Column("collection_requests", sa.Integer(), nullable=False),
        sa.Column("litres_cents", sa.BigInteger(), nullable=False),
        sa.Column("kg_cleaned_cents", sa.BigInteger(), nullable=False),
        sa.Column("kg_collected_cents", sa.BigInteger(), nullable=False),
        sa.Column("depots_waiting", sa.Integer(), nullable=False),
        sa.Column("depots_collected", sa.Integer(), nullable=False),
        sa.Column("collection_seconds", sa.BigInteger(), nullable=False),
        sa.Column("collections_timed", sa.Integer(), nullable=False),
        sa.Column("volunteer_hours_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "day", "org_id", "seq", name=op.f("pk_statistics_daily")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_statistics_daily_grain_beach_id_day", "statistics_daily", ["grain", "beach_id", "day"], unique=False
    )
    op.create_table(
        "statistics_dirty_days",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_id", BigId, nullable=False),
        sa.Column("created_at", beachsaver.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_dirty_days")),
    )
    op.create_index("ix_statistics_dirty_days_day_org_id", "statistics_dirty_days", ["day", "org_id"], unique=False)
    op.create_table(
        "statistics_rollup_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rolled_through", sa.Date(), nullable=True),
        sa.Column("rolled_at", beachsaver.core.db.UTCDateTime(), nullable=True),
        sa.Column("report_id_seen", sa.BigInteger(), nullable=True),
        sa.Column("depot_id_seen", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_rollup_state")),
    )
    # The dashboard's "submitted today" by organisation (statistics/kpis.py).
    op.create_index("ix_reports_org_id_submitted_at", "reports", ["org_id", "submitted_at"], unique=False)
    # Depots completed, or created and still waiting, in a time window (statistics/aggregates.py).
    op.create_index(
        "ix_collection_depots_status_collection_completed_at",
        "collection_depots",
        ["status", "collection_completed_at"],
        unique=False,
    )
    op.create_index(
        "ix_collection_depots_status_created_at", "collection_depots", ["status", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_collection_depots_status_created_at", table_name="collection_depots")
    op.drop_index("ix_collection_depots_status_collection_completed_at", table_name="collection_depots")
    op.drop_index("ix_reports_org_id_submitted_at", table_name="reports")
    op.drop_table("statistics_rollup_state")
    op.drop_index("ix_statistics_dirty_days_day_org_id", table_name="statistics_dirty_days")
    op.drop_table("statistics_dirty_days")
    op.drop_index("ix_statistics_daily_grain_beach_id_day", table_name="statistics_daily")
    op.drop_table("statistics_daily")
