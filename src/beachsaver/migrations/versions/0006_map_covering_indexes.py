"""map depots layer: covering indexes on reports and collection_depots (expand step)

``GET /api/statistics/map?layer=depots`` reads the live collection requests of the scope from
a date on and their depots (04 §2: 10,000 features ≤ 300 ms). With these two indexes MariaDB
answers it from the indexes alone: the requests from ``(org_id, type, status, event_at,
beach_id)`` and their depots from ``(report_id, status, latitude, longitude, collected_amount,
name)``, instead of one primary-key look-up per request and per depot. Both start with the
columns of an existing index (``ix_reports_org_id_type_status_event_at``,
``ix_collection_depots_report_id``), which they make redundant; those are dropped in a later
release (contract step), once no running release relies on them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_reports_org_id_type_status_event_at_beach_id",
        "reports",
        ["org_id", "type", "status", "event_at", "beach_id"],
        unique=False,
    )
    op.create_index(
        "ix_collection_depots_report_id_map_cover",
        "collection_depots",
        ["report_id", "status", "latitude", "longitude", "collected_amount", "name"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_collection_depots_report_id_map_cover", table_name="collection_depots")
    op.drop_index("ix_reports_org_id_type_status_event_at_beach_id", table_name="reports")
