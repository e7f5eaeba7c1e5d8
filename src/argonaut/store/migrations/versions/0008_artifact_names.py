"""artifact names of any length, artifact sizes past 2 GiB

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:00:00

A script names its artifacts (``new_octopusartifact file name``) and nothing bounds the name. SQLite
kept a long one; PostgreSQL refused it ("value too long for type character varying(500)"), and as
artifacts are written in the transaction that completes the task, the task never completed.
An artifact's length in bytes was an INTEGER, 32-bit on PostgreSQL (64-bit on SQLite): an artifact of
2 GiB or more failed the same way. It is a BIGINT now.
PostgreSQL only (SQLite ignores VARCHAR lengths and its integers are 64-bit).
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
        op.alter_column(
            "artifacts", "length", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "artifacts", "length", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False
        )
        op.execute("UPDATE artifacts SET filename = left(filename, 500) WHERE length(filename) > 500")
        op.alter_column(
            "artifacts", "filename", type_=sa.String(500), existing_type=sa.Text(), existing_nullable=False
        )
