"""people: user details and passwords, key expiry, sessions, login throttling, teams, roles, events

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _name_key() -> sa.types.TypeEngine[str]:
    return sa.String(600).with_variant(sa.String(600, collation="C"), "postgresql")


def _modified() -> list[sa.Column[object]]:
    return [
        sa.Column("last_modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified_by", sa.String(200), nullable=True),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_address", sa.String(400), nullable=True))
        batch.add_column(sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("is_service", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        batch.add_column(sa.Column("created", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sessions")),
        _fk("sessions", "user_id", "users"),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", _name_key(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("can_be_deleted", sa.Boolean(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        *_modified(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        _fk("teams", "space_id", "spaces"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_teams_space_name", "teams", ["space_id", "name_key"])
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
        _fk("team_members", "team_id", "teams"),
        _fk("team_members", "user_id", "users"),
    )
    op.create_index("ix_team_members_user", "team_members", ["user_id"])
    op.create_table(
        "user_roles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", _name_key(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("space_permissions", sa.JSON(), nullable=False),
        sa.Column("system_permissions", sa.JSON(), nullable=False),
        sa.Column("is_built_in", sa.Boolean(), nullable=False),
        *_modified(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_roles")),
        sa.UniqueConstraint("name_key", name=op.f("uq_user_roles_name_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "scoped_user_roles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_role_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("project_ids", sa.JSON(), nullable=False),
        sa.Column("environment_ids", sa.JSON(), nullable=False),
        sa.Column("project_group_ids", sa.JSON(), nullable=False),
        sa.Column("tenant_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoped_user_roles")),
        _fk("scoped_user_roles", "team_id", "teams"),
        _fk("scoped_user_roles", "user_role_id", "user_roles"),
        _fk("scoped_user_roles", "space_id", "spaces"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_scoped_user_roles_team_id"), "scoped_user_roles", ["team_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("occurred", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(200), nullable=True),
        sa.Column("ip_address", sa.String(100), nullable=True),
        sa.Column("related_document_ids", sa.JSON(), nullable=False),
        sa.Column("change_details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_occurred", "events", ["occurred", "id"])
    op.create_index("ix_events_space", "events", ["space_id", "id"])


def downgrade() -> None:
    for table in (
        "events",
        "scoped_user_roles",
        "user_roles",
        "team_members",
        "teams",
        "login_attempts",
        "sessions",
    ):
        op.drop_table(table)
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires")
    with op.batch_alter_table("users") as batch:
        for column in ("created", "password_hash", "is_service", "is_active", "email_address"):
            batch.drop_column(column)
