"""script runs of every kind: handles, cursors and outcomes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:00:00

Every script a task starts is recorded with its dispatcher handle (where it runs, whether it can be
resumed), the cursor of the last line the store holds, and its outcome once known, so a node that
restarts re-attaches to what can be resumed and fails the rest honestly.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it): a batch rebuild would drop the table's AUTOINCREMENT.
    op.add_column("script_runs", sa.Column("kind", sa.String(20), nullable=False, server_default="Agent"))
    op.add_column(
        "script_runs", sa.Column("resumable", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column("script_runs", sa.Column("handle", sa.JSON(), nullable=True))
    op.add_column("script_runs", sa.Column("cursor", sa.JSON(), nullable=True))
    op.add_column("script_runs", sa.Column("outcome", sa.JSON(), nullable=True))
    op.add_column("script_runs", sa.Column("step", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("script_runs", schema=None) as batch_op:
        for column in ("step", "outcome", "cursor", "handle", "resumable", "kind"):
            batch_op.drop_column(column)
