"""deployment targets, environments, lifecycles, projects, processes, variables, releases, deployments

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:00:00

Deployment targets share the workers table (a ``kind`` column): the server reaches both the same
ways, so health checks, trust, dispatch and leases need no second copy. A name is unique per kind, so
one agent registered as a worker and as a target keeps its host name for both. ``tasks.process_state``
is a process run's stored step cursor.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _name_key() -> sa.types.TypeEngine[str]:
    return sa.String(600).with_variant(sa.String(600, collation="C"), "postgresql")


def _named(table: str, *columns: sa.schema.SchemaItem) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", _name_key(), nullable=False),
        sa.Column("slug", sa.String(400), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        *columns,
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("last_modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f(f"fk_{table}_space_id_spaces"), ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="Worker"))
        batch.add_column(sa.Column("environment_ids", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("tenanted_participation", sa.String(30), nullable=False, server_default="Untenanted")
        )
        batch.drop_constraint("uq_workers_space_id_name_key", type_="unique")
        batch.create_unique_constraint("uq_workers_space_id_kind_name_key", ["space_id", "kind", "name_key"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("process_state", sa.JSON(), nullable=True))

    _named(
        "environments",
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("use_guided_failure", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("space_id", "name_key", name=op.f("uq_environments_space_id_name_key")),
    )
    _named(
        "lifecycles",
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("space_id", "name_key", name=op.f("uq_lifecycles_space_id_name_key")),
    )
    _named(
        "project_groups",
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("space_id", "name_key", name=op.f("uq_project_groups_space_id_name_key")),
    )
    _named(
        "projects",
        sa.Column("project_group_id", sa.Integer(), nullable=False),
        sa.Column("lifecycle_id", sa.Integer(), nullable=False),
        sa.Column("is_disabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_group_id"],
            ["project_groups.id"],
            name=op.f("fk_projects_project_group_id_project_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["lifecycle_id"], ["lifecycles.id"], name=op.f("fk_projects_lifecycle_id_lifecycles")
        ),
        sa.UniqueConstraint("space_id", "name_key", name=op.f("uq_projects_space_id_name_key")),
    )
    _named(
        "channels",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("lifecycle_id", sa.Integer(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_channels_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lifecycle_id"], ["lifecycles.id"], name=op.f("fk_channels_lifecycle_id_lifecycles")
        ),
        sa.UniqueConstraint("project_id", "name_key", name=op.f("uq_channels_project_id_name_key")),
    )
    for table, payload in (("processes", "steps"), ("variable_sets", "variables")):
        op.create_table(
            table,
            sa.Column("id", sa.String(150), nullable=False),
            sa.Column("space_id", sa.Integer(), nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("owner_id", sa.String(60), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column(payload, sa.JSON(), nullable=False),
            sa.Column("frozen", sa.Boolean(), nullable=False),
            *([sa.Column("last_snapshot_id", sa.String(150), nullable=True)] if table == "processes" else []),
            sa.Column("last_modified_on", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_modified_by", sa.String(200), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.ForeignKeyConstraint(
                ["space_id"], ["spaces.id"], name=op.f(f"fk_{table}_space_id_spaces"), ondelete="CASCADE"
            ),
            sa.ForeignKeyConstraint(
                ["project_id"],
                ["projects.id"],
                name=op.f(f"fk_{table}_project_id_projects"),
                ondelete="CASCADE",
            ),
        )
    op.create_index("ix_processes_project", "processes", ["project_id"])
    op.create_index("ix_variable_sets_project", "variable_sets", ["project_id"])
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(349), nullable=False),
        sa.Column("version_key", sa.String(349), nullable=False),
        sa.Column("release_notes", sa.Text(), nullable=True),
        sa.Column("process_snapshot_id", sa.String(150), nullable=False),
        sa.Column("variables_snapshot_id", sa.String(150), nullable=False),
        sa.Column("assembled", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("last_modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f("fk_releases_space_id_spaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_releases_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_releases_channel_id_channels")
        ),
        sa.UniqueConstraint("project_id", "version_key", name=op.f("uq_releases_project_id_version_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f("fk_deployments_space_id_spaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_deployments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_deployments_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_deployments_environment_id_environments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_deployments_task_id_tasks"), ondelete="SET NULL"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deployments_release", "deployments", ["release_id"])
    op.create_index("ix_deployments_project_environment", "deployments", ["project_id", "environment_id"])
    _defaults_for_existing_spaces()


def _defaults_for_existing_spaces() -> None:
    """Spaces created before this revision get what a new space is created with: a Default Lifecycle and
    a Default Project Group."""
    bind = op.get_bind()
    keep_all = {"Strategy": "Default", "QuantityToKeep": 0, "Unit": "Items", "ShouldKeepForever": True}
    lifecycle_doc = {"Phases": [], "ReleaseRetentionPolicy": keep_all, "TentacleRetentionPolicy": keep_all}
    meta = sa.MetaData()
    lifecycles = sa.Table("lifecycles", meta, autoload_with=bind)
    groups = sa.Table("project_groups", meta, autoload_with=bind)
    for (space_id,) in bind.execute(sa.text("SELECT id FROM spaces")).all():
        common = {"space_id": space_id, "description": None, "is_default": True, "last_modified_by": "system"}
        bind.execute(
            lifecycles.insert().values(
                name="Default Lifecycle",
                name_key="default lifecycle",
                slug="default-lifecycle",
                document=lifecycle_doc,
                **common,
            )
        )
        bind.execute(
            groups.insert().values(
                name="Default Project Group",
                name_key="default project group",
                slug="default-project-group",
                document={},
                **common,
            )
        )


def downgrade() -> None:
    for table in (
        "deployments",
        "releases",
        "variable_sets",
        "processes",
        "channels",
        "projects",
        "project_groups",
        "lifecycles",
        "environments",
    ):
        op.drop_table(table)
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("process_state")
    with op.batch_alter_table("workers") as batch:
        batch.drop_constraint("uq_workers_space_id_kind_name_key", type_="unique")
        batch.create_unique_constraint("uq_workers_space_id_name_key", ["space_id", "name_key"])
        for column in ("tenanted_participation", "roles", "environment_ids", "kind"):
            batch.drop_column(column)
