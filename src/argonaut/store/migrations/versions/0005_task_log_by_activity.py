"""task log lines by activity

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000

``details`` shows each activity's lines, and ``details?tail=N`` the last N of each: without an index
on (task_id, activity, seq) both read the task's whole log to find them.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_log_activity", "task_log", ["task_id", "activity", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_task_log_activity", table_name="task_log")
