"""runbooks, their snapshots and runs, interruptions, project triggers, step templates

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:00:00

``tasks.pending_interruptions`` keeps the types of a task's pending interruptions with the task, so a
task list shows ``HasPendingInterruptions`` without a join.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _name_key() -> sa.types.TypeEngine[str]:
    return sa.String(600).with_variant(sa.String(600, collation="C"), "postgresql")


def _modified() -> list[sa.Column[object]]:
    return [
        sa.Column("last_modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified_by", sa.String(200), nullable=True),
    ]


def _fk(table: str, column: str, target: str, ondelete: str | None = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("pending_interruptions", sa.JSON(), nullable=True))
    op.create_table(
        "runbooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", _name_key(), nullable=False),
        sa.Column("slug", sa.String(400), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("process_id", sa.String(150), nullable=False),
        sa.Column("published_snapshot_id", sa.Integer(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        *_modified(),
        _pk("runbooks"),
        _fk("runbooks", "space_id", "spaces"),
        _fk("runbooks", "project_id", "projects"),
        sa.UniqueConstraint("project_id", "name_key", name=op.f("uq_runbooks_project_id_name_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "runbook_snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", _name_key(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("process_snapshot_id", sa.String(150), nullable=False),
        sa.Column("variables_snapshot_id", sa.String(150), nullable=False),
        sa.Column("assembled", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        *_modified(),
        _pk("runbook_snapshots"),
        _fk("runbook_snapshots", "space_id", "spaces"),
        _fk("runbook_snapshots", "project_id", "projects"),
        _fk("runbook_snapshots", "runbook_id", "runbooks"),
        sa.UniqueConstraint("runbook_id", "name_key", name=op.f("uq_runbook_snapshots_runbook_id_name_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "runbook_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        _pk("runbook_runs"),
        _fk("runbook_runs", "space_id", "spaces"),
        _fk("runbook_runs", "project_id", "projects"),
        _fk("runbook_runs", "runbook_id", "runbooks"),
        _fk("runbook_runs", "snapshot_id", "runbook_snapshots"),
        _fk("runbook_runs", "environment_id", "environments"),
        _fk("runbook_runs", "task_id", "tasks", "SET NULL"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_runbook_runs_runbook_environment", "runbook_runs", ["runbook_id", "environment_id", "id"]
    )
    op.create_table(
        "interruptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_pending", sa.Boolean(), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("related_document_ids", sa.JSON(), nullable=False),
        sa.Column("responsible_team_ids", sa.JSON(), nullable=False),
        sa.Column("responsible_user_id", sa.Integer(), nullable=True),
        sa.Column("correlation_id", sa.String(200), nullable=False),
        sa.Column("submitted", sa.JSON(), nullable=True),
        _pk("interruptions"),
        _fk("interruptions", "space_id", "spaces"),
        _fk("interruptions", "task_id", "tasks"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_interruptions_task_id"), "interruptions", ["task_id"])
    op.create_index("ix_interruptions_space_pending", "interruptions", ["space_id", "is_pending", "id"])
    op.create_table(
        "project_triggers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", _name_key(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_disabled", sa.Boolean(), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("next_run", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run", sa.DateTime(timezone=True), nullable=True),
        *_modified(),
        _pk("project_triggers"),
        _fk("project_triggers", "space_id", "spaces"),
        _fk("project_triggers", "project_id", "projects"),
        sa.UniqueConstraint("project_id", "name_key", name=op.f("uq_project_triggers_project_id_name_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "action_templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", _name_key(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("action_type", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        *_modified(),
        _pk("action_templates"),
        _fk("action_templates", "space_id", "spaces"),
        sa.UniqueConstraint("space_id", "name_key", name=op.f("uq_action_templates_space_id_name_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "action_template_versions",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("template_id", "version", name=op.f("pk_action_template_versions")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["action_templates.id"],
            name=op.f("fk_action_template_versions_template_id_action_templates"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    for table in (
        "action_template_versions",
        "action_templates",
        "project_triggers",
        "interruptions",
        "runbook_runs",
        "runbook_snapshots",
        "runbooks",
    ):
        op.drop_table(table)
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("pending_interruptions")
