"""collection_depots.request_live and the near index (expand step)

``GET /api/collection-depots?near=`` and its count looked up every candidate depot's request to
keep only live ones (submitted or approved, not deleted): thousands of primary-key look-ups in
``reports`` per call in a district with thousands of waiting depots. The liveness is now kept
with the depot (written by the request's transitions, D46), and ``(org_id, status,
request_live, latitude, longitude, collector_id)`` answers the list and its count from the
index alone. It starts with the columns of ``ix_collection_depots_org_id_status``, which it
replaces (a release still running the old code uses the new index's prefix the same way).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("collection_depots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_live", sa.Boolean(), nullable=False, server_default=sa.false()))
    depots = sa.table(
        "collection_depots", sa.column("report_id", sa.BigInteger()), sa.column("request_live", sa.Boolean())
    )
    reports = sa.table(
        "reports", sa.column("id", sa.BigInteger()), sa.column("status", sa.String()), sa.column("deleted_at")
    )
    live = sa.select(reports.c.id).where(
        reports.c.status.in_(["SUBMITTED", "APPROVED"]), reports.c.deleted_at.is_(None)
    )
    op.execute(depots.update().where(depots.c.report_id.in_(live)).values(request_live=True))
    with op.batch_alter_table("collection_depots", schema=None) as batch_op:
        # no default from here on: every writer says whether the request is live
        batch_op.alter_column("request_live", existing_type=sa.Boolean(), server_default=None, nullable=False)
        batch_op.create_index(
            "ix_collection_depots_org_id_status_near",
            ["org_id", "status", "request_live", "latitude", "longitude", "collector_id"],
            unique=False,
        )
        batch_op.drop_index("ix_collection_depots_org_id_status")


def downgrade() -> None:
    with op.batch_alter_table("collection_depots", schema=None) as batch_op:
        batch_op.create_index("ix_collection_depots_org_id_status", ["org_id", "status"], unique=False)
        batch_op.drop_index("ix_collection_depots_org_id_status_near")
        batch_op.drop_column("request_live")
