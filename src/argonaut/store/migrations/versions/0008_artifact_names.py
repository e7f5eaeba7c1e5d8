"""artifact names of any length

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:00:00

A script names its artifacts (``new_octopusartifact file name``) and nothing bounds the name. SQLite
kept a long one; PostgreSQL refused it ("value too long for type character varying(500)"), and as
artifacts are written in the transaction that completes the task, the task never completed.
PostgreSQL only (SQLite ignores VARCHAR lengths); VARCHAR to TEXT rewrites nothing there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "artifacts", "filename", type_=sa.Text(), existing_type=sa.String(500), existing_nullable=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE artifacts SET filename = left(filename, 500) WHERE length(filename) > 500")
        op.alter_column(
            "artifacts", "filename", type_=sa.String(500), existing_type=sa.Text(), existing_nullable=False
        )
