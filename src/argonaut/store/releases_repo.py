"""Releases and deployments: a release freezes a project's process and variables; a deployment runs a
release in one environment as a ``Deploy`` task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.common import Conflict, conflict_if_taken, paged
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.tables import deployments, releases, tasks
from argonaut.store.timeutil import utcnow


def version_key(version: str) -> str:
    return version.strip().casefold()


def _taken(version: str) -> str:
    return f"A release with the version '{version}' already exists for this project"


async def create_release(conn: Conn, values: dict[str, Any]) -> int:
    """Insert a release; a version the project already has is a ``Conflict`` (also when two requests race)."""
    key = version_key(values["version"])
    found = await conn.execute(
        select(releases.c.id).where(
            releases.c.project_id == values["project_id"], releases.c.version_key == key
        )
    )
    if found.first() is not None:
        raise Conflict(_taken(values["version"]))
    now = utcnow()
    with conflict_if_taken(_taken(values["version"])):
        result = await conn.execute(
            insert(releases).values(version_key=key, assembled=now, last_modified_on=now, **values)
        )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


# Built once and hot (store/hot.py): a deployment reads its release, and itself, several times.
_GET_RELEASE = hot(
    select(releases).where(
        releases.c.space_id == bindparam("space_id"), releases.c.id == bindparam("release_id")
    )
)


async def get_release(conn: Conn, space_id: int, release_id: int) -> RowMapping | None:
    found = await conn.execute(_GET_RELEASE, {"space_id": space_id, "release_id": release_id})
    return found.mappings().first()


async def find_release(conn: Conn, project_id: int, version: str) -> RowMapping | None:
    query = select(releases).where(
        releases.c.project_id == project_id, releases.c.version_key == version_key(version)
    )
    return (await conn.execute(query)).mappings().first()


async def list_releases(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    project_id: int | None = None,
    channel_id: int | None = None,
    *,
    project_ids: Sequence[int] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """Newest first, as the described system lists them."""
    query = select(releases).where(releases.c.space_id == space_id).order_by(releases.c.id.desc())
    if ids is not None:
        query = query.where(releases.c.id.in_(ids))
    if project_id is not None:
        query = query.where(releases.c.project_id == project_id)
    if channel_id is not None:
        query = query.where(releases.c.channel_id == channel_id)
    if project_ids is not None:
        query = query.where(releases.c.project_id.in_(project_ids))
    return await paged(conn, query, skip, take)


async def delete_release(conn: Conn, space_id: int, release_id: int) -> None:
    await conn.execute(delete(releases).where(releases.c.space_id == space_id, releases.c.id == release_id))


async def create_deployment(conn: Conn, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(deployments).values(created=utcnow(), **values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def set_deployment_task(conn: Conn, deployment_id: int, task_id: int) -> None:
    await conn.execute(update(deployments).where(deployments.c.id == deployment_id).values(task_id=task_id))


def _with_task() -> Any:
    """A deployment with its task's state and its release's frozen process and variables, which its
    resource shows: one query, however many deployments a page lists."""
    return select(
        deployments,
        tasks.c.state.label("task_state"),
        tasks.c.completed_time.label("task_completed_time"),
        releases.c.process_snapshot_id,
        releases.c.variables_snapshot_id,
    ).select_from(
        deployments.outerjoin(tasks, tasks.c.id == deployments.c.task_id).outerjoin(
            releases, releases.c.id == deployments.c.release_id
        )
    )


_GET_DEPLOYMENT = hot(
    _with_task().where(
        deployments.c.space_id == bindparam("space_id"), deployments.c.id == bindparam("deployment_id")
    )
)
_DEPLOYMENT_BY_ID = hot(_with_task().where(deployments.c.id == bindparam("deployment_id")))


async def get_deployment(conn: Conn, space_id: int, deployment_id: int) -> RowMapping | None:
    found = await conn.execute(_GET_DEPLOYMENT, {"space_id": space_id, "deployment_id": deployment_id})
    return found.mappings().first()


async def deployment_by_id(conn: Conn, deployment_id: int) -> RowMapping | None:
    """For the engine, which knows the deployment from its task's arguments."""
    return (await conn.execute(_DEPLOYMENT_BY_ID, {"deployment_id": deployment_id})).mappings().first()


async def list_deployments(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    release_id: int | None = None,
    project_ids: Sequence[int] | None = None,
    environment_ids: Sequence[int] | None = None,
    task_states: Sequence[str] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    """Newest first."""
    query = _with_task().where(deployments.c.space_id == space_id).order_by(deployments.c.id.desc())
    if ids is not None:
        query = query.where(deployments.c.id.in_(ids))
    if release_id is not None:
        query = query.where(deployments.c.release_id == release_id)
    if project_ids is not None:
        query = query.where(deployments.c.project_id.in_(project_ids))
    if environment_ids is not None:
        query = query.where(deployments.c.environment_id.in_(environment_ids))
    if task_states is not None:
        query = query.where(tasks.c.state.in_(task_states))
    return await paged(conn, query, skip, take)


async def succeeded_environments(conn: Conn, release_id: int) -> set[int]:
    """Environments where this release has a successful deployment: what its lifecycle counts."""
    query = (
        select(deployments.c.environment_id)
        .select_from(deployments.join(tasks, tasks.c.id == deployments.c.task_id))
        .where(deployments.c.release_id == release_id, tasks.c.state == "Success")
        .distinct()
    )
    return {int(r) for r in (await conn.execute(query)).scalars()}


async def delete_deployment(conn: Conn, space_id: int, deployment_id: int) -> None:
    await conn.execute(
        delete(deployments).where(deployments.c.space_id == space_id, deployments.c.id == deployment_id)
    )
