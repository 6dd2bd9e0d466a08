"""statistics roll-up: per-person totals of every rolled-up day (expand step)

An all-time breakdown by person (``GET /api/statistics?group_by=user`` and its Excel export
without ``from``) read every per-day, per-person row of the roll-up: about 3 million rows at a
million reports. ``statistics_person_totals`` holds their sums per organisation, person and
report type, kept equal to them by the roll-up (``rollup.roll_days``), and is filled here from
the rows already rolled up.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The figure columns as they are at this revision (a migration is a snapshot: it does not
#: import ``rollup.FIGURE_COLUMNS``, which later revisions may change).
COUNTS = ("investigation_reports", "cleaning_reports", "collection_requests")
FIGURES = (
    *COUNTS,
    "litres_cents",
    "kg_cleaned_cents",
    "kg_collected_cents",
    "depots_waiting",
    "depots_collected",
    "collection_seconds",
    "collections_timed",
    "volunteer_hours_cents",
)
SMALL = {*COUNTS, "depots_waiting", "depots_collected", "collections_timed"}


def upgrade() -> None:
    op.create_table(
        "statistics_person_totals",
        sa.Column("org_id", BigId, autoincrement=False, nullable=False),
        sa.Column("user_id", BigId, autoincrement=False, nullable=False),
        sa.Column("report_type", sa.String(length=24), nullable=False),
        sa.Column("day_rows", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer() if name in SMALL else sa.BigInteger(), nullable=False) for name in FIGURES),
        sa.PrimaryKeyConstraint("org_id", "user_id", "report_type", name=op.f("pk_statistics_person_totals")),
        sqlite_with_rowid=False,
    )
    sums = ", ".join(f"SUM({name})" for name in FIGURES)
    op.execute(
        "INSERT INTO statistics_person_totals (org_id, user_id, report_type, day_rows, "
        + ", ".join(FIGURES)
        + f") SELECT org_id, COALESCE(user_id, 0), report_type, COUNT(*), {sums} FROM statistics_daily"
        " WHERE grain = 'user' GROUP BY org_id, COALESCE(user_id, 0), report_type"
    )


def downgrade() -> None:
    op.drop_table("statistics_person_totals")
