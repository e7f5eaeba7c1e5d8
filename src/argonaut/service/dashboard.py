"""The space's dashboard: the latest deployment of each project to each environment, with its state.

It must stay fast with thousands of deployments stored, so the latest per project and environment is one
query: ``max(id)`` grouped by the ``(project_id, environment_id)`` index (ids only grow, so the highest
is the newest), joined to its release and task. The projects, groups and environments listed beside are
three small reads of their own tables. What the caller may not see is filtered in the queries, not after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping

from argonaut.store.connection import Conn
from argonaut.store.tables import deployments, environments, project_groups, projects, releases, tasks


@dataclass(frozen=True, slots=True)
class DashboardRows:
    projects: Sequence[RowMapping]
    groups: Sequence[RowMapping]
    environments: Sequence[RowMapping]
    items: Sequence[RowMapping]


async def dashboard(
    conn: Conn,
    space_id: int,
    project_ids: Sequence[int] | None,
    environment_ids: Sequence[int] | None,
    deployment_project_ids: Sequence[int] | None,
    deployment_environment_ids: Sequence[int] | None,
) -> DashboardRows:
    """The dashboard's rows; each ``*_ids`` is what the caller may see (None: everything)."""
    project_query = (
        select(
            projects.c.id,
            projects.c.name,
            projects.c.slug,
            projects.c.project_group_id,
            projects.c.is_disabled,
        )
        .where(projects.c.space_id == space_id)
        .order_by(projects.c.name_key)
    )
    if project_ids is not None:
        project_query = project_query.where(projects.c.id.in_(list(project_ids)))
    environment_query = (
        select(environments.c.id, environments.c.name)
        .where(environments.c.space_id == space_id)
        .order_by(environments.c.sort_order, environments.c.id)
    )
    if environment_ids is not None:
        environment_query = environment_query.where(environments.c.id.in_(list(environment_ids)))
    group_query = (
        select(project_groups.c.id, project_groups.c.name)
        .where(project_groups.c.space_id == space_id)
        .order_by(project_groups.c.name_key)
    )
    return DashboardRows(
        projects=(await conn.execute(project_query)).mappings().all(),
        groups=(await conn.execute(group_query)).mappings().all(),
        environments=(await conn.execute(environment_query)).mappings().all(),
        items=await latest_deployments(conn, space_id, deployment_project_ids, deployment_environment_ids),
    )


async def latest_deployments(
    conn: Conn,
    space_id: int,
    project_ids: Sequence[int] | None,
    environment_ids: Sequence[int] | None,
) -> Sequence[RowMapping]:
    """The newest deployment per project and environment, with its release's version and task's state."""
    latest = select(func.max(deployments.c.id).label("id")).where(deployments.c.space_id == space_id)
    if project_ids is not None:
        latest = latest.where(deployments.c.project_id.in_(list(project_ids)))
    if environment_ids is not None:
        latest = latest.where(deployments.c.environment_id.in_(list(environment_ids)))
    newest = latest.group_by(deployments.c.project_id, deployments.c.environment_id).subquery()
    query = (
        select(
            deployments.c.id,
            deployments.c.project_id,
            deployments.c.environment_id,
            deployments.c.release_id,
            deployments.c.channel_id,
            deployments.c.task_id,
            deployments.c.created,
            releases.c.version.label("release_version"),
            tasks.c.state,
            tasks.c.queue_time,
            tasks.c.start_time,
            tasks.c.completed_time,
            tasks.c.error_message,
            tasks.c.has_warnings_or_errors,
            tasks.c.pending_interruptions,
        )
        .select_from(
            newest.join(deployments, deployments.c.id == newest.c.id)
            .join(releases, releases.c.id == deployments.c.release_id)
            .outerjoin(tasks, tasks.c.id == deployments.c.task_id)
        )
        .order_by(deployments.c.project_id, deployments.c.environment_id)
    )
    return (await conn.execute(query)).mappings().all()
