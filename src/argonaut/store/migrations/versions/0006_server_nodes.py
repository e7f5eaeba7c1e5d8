"""server nodes and cluster settings

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:00:00

Several nodes share one database: each registers and heartbeats in ``server_nodes``, and
``cluster_settings`` holds what they must agree on (the master key's check value), and
``cluster_leases`` who does what must happen once per cluster (the health schedule).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_nodes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("max_concurrent_tasks", sa.Integer(), nullable=False),
        sa.Column("is_in_maintenance_mode", sa.Boolean(), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("thumbprint", sa.String(length=40), nullable=True),
        sa.Column("comms_port", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_nodes")),
        sa.UniqueConstraint("name", name=op.f("uq_server_nodes_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "cluster_settings",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_settings")),
    )
    op.create_table(
        "artifact_chunks",
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("stored_name", "seq", name=op.f("pk_artifact_chunks")),
    )
    op.create_table(
        "agent_links",
        sa.Column("subscription", sa.String(length=64), nullable=False),
        sa.Column("thumbprint", sa.String(length=40), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription", "thumbprint", "node", name=op.f("pk_agent_links")),
    )
    op.create_table(
        "relay_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("caller", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=False),
        sa.Column("thumbprint", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_calls")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "cluster_leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_leases")),
    )


def downgrade() -> None:
    op.drop_table("cluster_leases")
    op.drop_table("relay_calls")
    op.drop_table("agent_links")
    op.drop_table("artifact_chunks")
    op.drop_table("cluster_settings")
    op.drop_table("server_nodes")
