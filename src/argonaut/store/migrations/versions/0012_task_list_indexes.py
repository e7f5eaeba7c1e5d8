"""task list indexes: a space's tasks by state and by type, newest first

With 100,000 tasks a filtered page took 40 ms (bench/task_list.py): the count and the page walked the
(state, id) index and read every row to test its space. These indexes hold all three columns, so both
the count and the newest-first page are read from the index alone.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_space_state", "tasks", ["space_id", "state", "id"])
    op.create_index("ix_tasks_space_name", "tasks", ["space_id", "name", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_space_name", table_name="tasks")
    op.drop_index("ix_tasks_space_state", table_name="tasks")
