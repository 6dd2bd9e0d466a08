"""audit log: entries sealed after commit (seq; prev_hash and hash nullable)

Writers used to chain their own entries under a lock on the single ``audit_head`` row, held
from just before their commit to its end: every writing request of every process passed
through that row, and under load they queued on it (docs/performance.md). Entries are now
inserted unsealed and chained by the sealer (07 §5 allows "a sealing job every few seconds"),
which numbers them ``seq`` without gaps. Existing entries are sealed already: their ``seq`` is
their id (the head's ``last_id`` was the last id, and is now the last ``seq``: the same number).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE audit_entries SET seq = id")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f("uq_audit_entries_seq"), ["seq"])


def downgrade() -> None:
    # Entries not sealed yet cannot be kept without a hash: seal them first (beachsaver jobs run
    # audit-seal) before going back.
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_audit_entries_seq"), type_="unique")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("seq")
