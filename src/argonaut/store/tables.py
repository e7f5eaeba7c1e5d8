"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create and evolve it.

Ids are integers here and ``<Collection>-<n>`` at the API edge. ``sqlite_autoincrement`` stops SQLite
from reusing the id of a deleted row: a reused ``Workers-3`` would make old task logs point at the
wrong machine. Flexible sub-documents (endpoints, policy sub-objects, activity trees) are JSON columns:
they are read and written whole and never queried inside.

Text columns are ``String``/``Text`` from this module, not SQLAlchemy's: PostgreSQL's text cannot hold
U+0000, which SQLite stores, so the value is changed on the way in (``_no_nul``), on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL refuses U+0000 in text ("invalid byte sequence for encoding UTF8: 0x00"), failing the
    whole statement: a script that printed a NUL byte stopped its task's log from being stored, and a
    name holding one was a 500. Both databases store U+FFFD instead, the character a decoder puts for
    bytes it cannot show, so the same input reads back the same; names compared or searched through
    these columns are changed alike, so lookups still match."""
    if value is not None and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class String(TypeDecorator[str]):
    """``VARCHAR(n)`` without U+0000 (see ``_no_nul``)."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _no_nul(value)


class Text(TypeDecorator[str]):
    """``TEXT`` without U+0000 (see ``_no_nul``)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _no_nul(value)


def _name_key(name_limit: int) -> sa.types.TypeEngine[str]:
    """A name's case-folded key, up to three times as long as the name ("ﬃ" folds to "ffi"). Lists
    sort by it; on PostgreSQL it is ``COLLATE "C"``, so it sorts character by character as on SQLite,
    whatever the database's collation (migration 0007)."""
    return String(3 * name_limit).with_variant(String(3 * name_limit, collation="C"), "postgresql")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _modified() -> list[Column[object]]:
    return [
        Column("last_modified_on", DateTime(timezone=True), nullable=True),
        Column("last_modified_by", String(200), nullable=True),
    ]


spaces = Table(
    "spaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),
    Column("name_key", _name_key(50), nullable=False, unique=True),
    Column("slug", String(100), nullable=False),
    Column("description", Text, nullable=True),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("task_queue_stopped", Boolean, nullable=False, default=False),
    *_modified(),
    sqlite_autoincrement=True,
)

machine_policies = Table(
    "machine_policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("document", JSON, nullable=False),
    *_modified(),
    UniqueConstraint("space_id", "name_key"),
    sqlite_autoincrement=True,
)

worker_pools = Table(
    "worker_pools",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("slug", String(400), nullable=False),  # twice the name: "İ" lowers to two characters
    Column("description", Text, nullable=True),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("sort_order", Integer, nullable=False, default=0),
    Column("pool_type", String(40), nullable=False, default="StaticWorkerPool"),
    Column("worker_type", String(100), nullable=True),
    *_modified(),
    UniqueConstraint("space_id", "name_key"),
    sqlite_autoincrement=True,
)

workers = Table(
    "workers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("slug", String(400), nullable=False),  # twice the name: "İ" lowers to two characters
    Column("communication_style", String(40), nullable=False),
    Column("endpoint", JSON, nullable=False),
    Column("thumbprint", String(40), nullable=True, index=True),
    Column("uri", String(500), nullable=True),
    Column("machine_policy_id", Integer, ForeignKey("machine_policies.id"), nullable=False),
    Column("is_disabled", Boolean, nullable=False, default=False),
    Column("health_status", String(20), nullable=False, default="Unknown"),
    Column("status_summary", Text, nullable=True),
    Column("has_latest_calamari", Boolean, nullable=False, default=False),
    Column("details", JSON, nullable=False),
    *_modified(),
    # Workers and deployment targets are both machines the server reaches the same ways (health checks,
    # trust, dispatch, leases), so they share this table; ``kind`` tells them apart, and a name is unique
    # per kind, so one agent registered as both a worker and a target keeps its host name for both
    # (migration 0009).
    Column("kind", String(10), nullable=False, server_default="Worker"),
    Column("environment_ids", JSON, nullable=False, server_default="[]"),  # targets: environment ids
    Column("roles", JSON, nullable=False, server_default="[]"),  # targets: roles (target tags)
    Column("tenanted_participation", String(30), nullable=False, server_default="Untenanted"),
    UniqueConstraint("space_id", "kind", "name_key"),
    sqlite_autoincrement=True,
)

worker_pool_members = Table(
    "worker_pool_members",
    metadata,
    Column("worker_id", Integer, ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True),
    Column("pool_id", Integer, ForeignKey("worker_pools.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_worker_pool_members_pool", "pool_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    # Migration 0011: people. The password is an argon2 hash (never the password); service accounts
    # have none and sign in with API keys only.
    Column("email_address", String(400), nullable=True),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("is_service", Boolean, nullable=False, server_default=sa.false()),
    Column("password_hash", Text, nullable=True),
    Column("created", DateTime(timezone=True), nullable=True),
    sqlite_autoincrement=True,
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=True),  # None: never (migration 0011)
    sqlite_autoincrement=True,
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(50), nullable=False),
    Column("description", Text, nullable=False),
    Column("arguments", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    # A process run's cursor (deployments): the steps that ended and what they left for later steps, so
    # a node that resumes the task starts at the step where it stopped (migration 0009).
    Column("process_state", JSON, nullable=True),
    # Types of the task's pending interruptions (ManualIntervention, GuidedFailure), kept with the task so
    # lists show HasPendingInterruptions without a join (migration 0010).
    Column("pending_interruptions", JSON, nullable=True),
    Column("queue_time", DateTime(timezone=True), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=True),
    Column("completed_time", DateTime(timezone=True), nullable=True),
    Column("last_updated_time", DateTime(timezone=True), nullable=False),
    Column("error_message", Text, nullable=True),
    Column("server_node", String(200), nullable=True),
    Column("has_warnings_or_errors", Boolean, nullable=False, default=False),
    Column("activities", JSON, nullable=False),
    Column("output_variables", JSON, nullable=False),
    Column("log_count", Integer, nullable=False, default=0),
    Index("ix_tasks_state_queue", "state", "id"),
    Index("ix_tasks_space_id", "space_id", "id"),
    # Filtered task lists (state, type) count and page from these alone (migration 0012).
    Index("ix_tasks_space_state", "space_id", "state", "id"),
    Index("ix_tasks_space_name", "space_id", "name", "id"),
    sqlite_autoincrement=True,
)

task_log = Table(
    "task_log",
    metadata,
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("activity", String(40), nullable=False),
    Column("occurred", Float, nullable=False),
    Column("category", String(12), nullable=False),
    Column("text", Text, nullable=False),
    # One activity's lines in order, for details and its tail (migration 0004).
    Index("ix_task_log_activity", "task_id", "activity", "seq"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("filename", Text, nullable=False),  # named by the script, unbounded (migration 0008)
    Column("length", BigInteger, nullable=False),  # bytes: 2 GiB and more (migration 0008)
    Column("stored_name", String(200), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)

worker_leases = Table(
    "worker_leases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("worker_id", Integer, ForeignKey("workers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("exclusive", Boolean, nullable=False, default=False),
    Column("created", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)

script_runs = Table(
    "script_runs",
    metadata,
    # One script a task started on an agent, recorded before the agent is asked to start it, so a node
    # that restarts can find the script by its ticket and carry on from the last stored line.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("activity", String(60), nullable=False),
    Column("ticket", String(64), nullable=False, unique=True),
    Column("worker_id", Integer, nullable=False),
    Column("worker_name", String(200), nullable=False),
    Column("endpoint", JSON, nullable=False),
    Column("finished", Boolean, nullable=False, default=False),
    Column("failure", Text, nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    # BuiltIn | Agent | Ssh, and whether a node that restarts can re-attach to the script.
    Column("kind", String(20), nullable=False, server_default="Agent"),
    Column("resumable", Boolean, nullable=False, server_default=true()),
    Column("handle", JSON, nullable=True),  # the dispatcher's serialised ScriptHandle
    Column("cursor", JSON, nullable=True),  # where the lines the store holds end, in the worker's terms
    Column("outcome", JSON, nullable=True),  # exit code, outputs and failure, once the script ended
    Column("step", JSON, nullable=True),  # the executor's own notes: label, lease, step variables
    sqlite_autoincrement=True,
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("account_type", String(40), nullable=False),
    Column("username", String(200), nullable=True),
    # Field name -> value encrypted with the master key ("enc1:…"); never returned by the API.
    Column("secrets", JSON, nullable=False),
    *_modified(),
    UniqueConstraint("space_id", "name_key"),
    sqlite_autoincrement=True,
)

server_nodes = Table(
    "server_nodes",
    metadata,
    # The server nodes sharing this database. A node heartbeats (last_seen) while it runs; one silent for
    # longer than the offline timeout is offline, and its work goes on elsewhere.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("max_concurrent_tasks", Integer, nullable=False),
    Column("is_in_maintenance_mode", Boolean, nullable=False, default=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=True),  # None: stopped cleanly
    # What an agent registering with the cluster learns of each node: its certificate and comms port.
    Column("thumbprint", String(40), nullable=True),
    Column("comms_port", Integer, nullable=True),
    sqlite_autoincrement=True,
)

cluster_settings = Table(
    "cluster_settings",
    metadata,
    # Facts every node of the cluster must agree on, such as the check of the shared master key.
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

artifact_chunks = Table(
    "artifact_chunks",
    metadata,
    # An artifact's bytes in the database, a megabyte a row, so every node of a cluster can serve it (the
    # node that collected it also keeps a file, and serves that).
    Column("stored_name", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

agent_links = Table(
    "agent_links",
    metadata,
    # Which node holds a link to which polling agent: a node without one relays its calls through one
    # that has it (rows of offline nodes are ignored).
    Column("subscription", String(64), primary_key=True),
    Column("thumbprint", String(40), primary_key=True),
    Column("node", String(200), primary_key=True),
    Column("since", DateTime(timezone=True), nullable=False),
)

relay_calls = Table(
    "relay_calls",
    metadata,
    # A call one node asks another to make over its link to a polling agent; the answer comes back here.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("caller", String(200), nullable=False),
    Column("target", String(200), nullable=False),
    Column("subscription", String(64), nullable=False),
    Column("thumbprint", String(40), nullable=False),
    Column("method", String(60), nullable=False),
    Column("params", JSON, nullable=False),
    Column("timeout_s", Float, nullable=False),
    Column("answer", JSON, nullable=True),
    Column("error", JSON, nullable=True),  # {"code", "message"}; code "no-link": the target had none
    Column("created", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)

cluster_leases = Table(
    "cluster_leases",
    metadata,
    # Work done once per cluster, not once per node (the health schedule): the node holding the lease does
    # it, renewing it as it goes; another takes it over once it expires.
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)


def _named(table: str, *columns: sa.schema.SchemaItem) -> Table:
    """A space-scoped resource with a name unique per space (case-insensitively) and a JSON document of
    the fields nothing queries."""
    return Table(
        table,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
        Column("name", String(200), nullable=False),
        Column("name_key", _name_key(200), nullable=False),
        Column("slug", String(400), nullable=False),
        Column("description", Text, nullable=True),
        *columns,
        Column("document", JSON, nullable=False),
        *_modified(),
        sqlite_autoincrement=True,
    )


environments = _named(
    "environments",
    Column("sort_order", Integer, nullable=False),
    Column("use_guided_failure", Boolean, nullable=False, default=False),
    UniqueConstraint("space_id", "name_key"),
)

lifecycles = _named(
    "lifecycles",
    Column("is_default", Boolean, nullable=False, default=False),
    UniqueConstraint("space_id", "name_key"),
)

project_groups = _named(
    "project_groups",
    Column("is_default", Boolean, nullable=False, default=False),
    UniqueConstraint("space_id", "name_key"),
)

projects = _named(
    "projects",
    Column("project_group_id", Integer, ForeignKey("project_groups.id"), nullable=False),
    Column("lifecycle_id", Integer, ForeignKey("lifecycles.id"), nullable=False),
    Column("is_disabled", Boolean, nullable=False, default=False),
    UniqueConstraint("space_id", "name_key"),
)

channels = _named(
    "channels",
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("lifecycle_id", Integer, ForeignKey("lifecycles.id"), nullable=True),
    Column("is_default", Boolean, nullable=False, default=False),
    UniqueConstraint("project_id", "name_key"),
)

processes = Table(
    "processes",
    metadata,
    # A project's deployment process (``deploymentprocess-Projects-1``) and its frozen copies, one per
    # release (``deploymentprocess-Projects-1-s-3-AB12C``); the steps are one JSON document, read and
    # written whole, as the API does.
    Column("id", String(150), primary_key=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("owner_id", String(60), nullable=False),  # Projects-n (deployments), Runbooks-n (issue 10)
    Column("version", Integer, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("frozen", Boolean, nullable=False, default=False),
    Column("last_snapshot_id", String(150), nullable=True),
    *_modified(),
    Index("ix_processes_project", "project_id"),
)

variable_sets = Table(
    "variable_sets",
    metadata,
    # A project's variables (``variableset-Projects-1``) and the frozen copies releases keep. Sensitive
    # values are stored encrypted with the master key inside the JSON.
    Column("id", String(150), primary_key=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("owner_id", String(60), nullable=False),
    Column("version", Integer, nullable=False),
    Column("variables", JSON, nullable=False),
    Column("frozen", Boolean, nullable=False, default=False),
    *_modified(),
    Index("ix_variable_sets_project", "project_id"),
)

releases = Table(
    "releases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("version", String(349), nullable=False),
    Column("version_key", String(349), nullable=False),
    Column("release_notes", Text, nullable=True),
    Column("process_snapshot_id", String(150), nullable=False),
    Column("variables_snapshot_id", String(150), nullable=False),
    Column("assembled", DateTime(timezone=True), nullable=False),
    Column("document", JSON, nullable=False),
    *_modified(),
    UniqueConstraint("project_id", "version_key"),
    sqlite_autoincrement=True,
)

deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("release_id", Integer, ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
    Column("environment_id", Integer, ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("channel_id", Integer, nullable=False),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True),
    Column("name", String(400), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("deployed_by", String(200), nullable=False),
    # SpecificMachineIds, ExcludedMachineIds, SkipActions, UseGuidedFailure, FormValues, Comments, ...
    Column("document", JSON, nullable=False),
    Index("ix_deployments_release", "release_id"),
    Index("ix_deployments_project_environment", "project_id", "environment_id"),
    sqlite_autoincrement=True,
)


runbooks = Table(
    "runbooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("slug", String(400), nullable=False),
    Column("description", Text, nullable=True),
    Column("process_id", String(150), nullable=False),  # RunbookProcess-Runbooks-n (the processes table)
    Column("published_snapshot_id", Integer, nullable=True),
    # EnvironmentScope, Environments, RunRetentionPolicy, ConnectivityPolicy, DefaultGuidedFailureMode...
    Column("document", JSON, nullable=False),
    *_modified(),
    UniqueConstraint("project_id", "name_key"),
    sqlite_autoincrement=True,
)

runbook_snapshots = Table(
    "runbook_snapshots",
    metadata,
    # A runbook's process and the project's variables, frozen: what a published runbook runs.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("runbook_id", Integer, ForeignKey("runbooks.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("notes", Text, nullable=True),
    Column("process_snapshot_id", String(150), nullable=False),
    Column("variables_snapshot_id", String(150), nullable=False),
    Column("assembled", DateTime(timezone=True), nullable=False),
    Column("document", JSON, nullable=False),
    *_modified(),
    UniqueConstraint("runbook_id", "name_key"),
    sqlite_autoincrement=True,
)

runbook_runs = Table(
    "runbook_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("runbook_id", Integer, ForeignKey("runbooks.id", ondelete="CASCADE"), nullable=False),
    Column("snapshot_id", Integer, ForeignKey("runbook_snapshots.id", ondelete="CASCADE"), nullable=False),
    Column("environment_id", Integer, ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True),
    Column("name", String(400), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("deployed_by", String(200), nullable=False),
    # SpecificMachineIds, ExcludedMachineIds, SkipActions, UseGuidedFailure, FormValues, Comments, ...
    Column("document", JSON, nullable=False),
    Index("ix_runbook_runs_runbook_environment", "runbook_id", "environment_id", "id"),
    sqlite_autoincrement=True,
)

interruptions = Table(
    "interruptions",
    metadata,
    # A task waiting for a person: a manual intervention, or guidance after a failure.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("type", String(40), nullable=False),  # ManualIntervention | GuidedFailure
    Column("title", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("is_pending", Boolean, nullable=False, default=True),
    Column("form", JSON, nullable=False),  # {Values, Elements}
    Column("related_document_ids", JSON, nullable=False),
    Column("responsible_team_ids", JSON, nullable=False),
    Column("responsible_user_id", Integer, nullable=True),
    Column("correlation_id", String(200), nullable=False),  # the spot (or step) of the run that waits
    Column("submitted", JSON, nullable=True),  # what was answered, by whom and when
    Index("ix_interruptions_space_pending", "space_id", "is_pending", "id"),
    sqlite_autoincrement=True,
)

project_triggers = Table(
    "project_triggers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("is_disabled", Boolean, nullable=False, default=False),
    Column("filter", JSON, nullable=False),  # the schedule: cron, daily, interval ... with a time zone
    Column("action", JSON, nullable=False),  # what it does: run a runbook in environments
    Column("next_run", DateTime(timezone=True), nullable=True),  # when it fires next (UTC)
    Column("last_run", DateTime(timezone=True), nullable=True),
    *_modified(),
    UniqueConstraint("project_id", "name_key"),
    sqlite_autoincrement=True,
)

action_templates = Table(
    "action_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("action_type", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),  # Properties, Parameters, Packages, CommunityActionTemplateId
    *_modified(),
    UniqueConstraint("space_id", "name_key"),
    sqlite_autoincrement=True,
)

action_template_versions = Table(
    "action_template_versions",
    metadata,
    # Every saved version of a template, so a step keeps running the version it names.
    Column("template_id", Integer, ForeignKey("action_templates.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


sessions = Table(
    "sessions",
    metadata,
    # A signed-in browser: the cookie carries a random token stored only as its hash; state-changing
    # requests must also send the session's CSRF token (migration 0011).
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    # Failed sign-ins counted per user name and per client address, so guessing is throttled across
    # nodes: "user:<name key>" or "address:<ip>".
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_failure", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=True),  # None: system
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("can_be_deleted", Boolean, nullable=False, default=True),
    Column("document", JSON, nullable=False),  # ExternalSecurityGroups and what else clients send
    *_modified(),
    Index("ix_teams_space_name", "space_id", "name_key"),
    sqlite_autoincrement=True,
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_team_members_user", "user_id"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("name_key", _name_key(200), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("space_permissions", JSON, nullable=False),  # GrantedSpacePermissions
    Column("system_permissions", JSON, nullable=False),  # GrantedSystemPermissions
    Column("is_built_in", Boolean, nullable=False, default=False),
    *_modified(),
    sqlite_autoincrement=True,
)

scoped_user_roles = Table(
    "scoped_user_roles",
    metadata,
    # A role a team holds, in one space (None: system-wide), optionally narrowed to projects,
    # environments and project groups.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_role_id", Integer, ForeignKey("user_roles.id", ondelete="CASCADE"), nullable=False),
    Column("space_id", Integer, ForeignKey("spaces.id", ondelete="CASCADE"), nullable=True),
    Column("project_ids", JSON, nullable=False),
    Column("environment_ids", JSON, nullable=False),
    Column("project_group_ids", JSON, nullable=False),
    Column("tenant_ids", JSON, nullable=False),
    sqlite_autoincrement=True,
)

events = Table(
    "events",
    metadata,
    # The audit trail: who changed, ran or signed in to what, and how it changed.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", Integer, nullable=True),  # kept when the space goes: the trail outlives it
    Column("category", String(60), nullable=False),
    Column("message", Text, nullable=False),
    Column("occurred", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("username", String(200), nullable=True),
    Column("ip_address", String(100), nullable=True),
    Column("related_document_ids", JSON, nullable=False),
    Column("change_details", JSON, nullable=True),
    Index("ix_events_occurred", "occurred", "id"),
    Index("ix_events_space", "space_id", "id"),
    sqlite_autoincrement=True,
)
