"""Projects and their channels.

A project's deployment process, variable set and Default channel are made with it by the service
(``service/projects.py``), in one transaction; deleting a project takes all of them with it (foreign
keys cascade). Channel names are unique per project, not per space, and each project has exactly one
default channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.common import Conflict, Refused, conflict_if_taken, name_key, paged
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import channels, projects, releases
from argonaut.store.timeutil import utcnow

DEFAULT_CHANNEL = "Default"

_projects = SpaceScoped(projects, "project")
find_project_by_name = _projects.find_by_name


async def get_project(conn: Conn, space_id: int, project_id: int) -> RowMapping | None:
    return await _projects.get(conn, space_id, project_id)


async def find_project_by_slug(conn: Conn, space_id: int, slug: str) -> RowMapping | None:
    """Slugs are unique per space by the service's choice, not by an index: the oldest wins a tie."""
    query = _projects.select(space_id).where(projects.c.slug == slug.strip().lower()).order_by(projects.c.id)
    return (await conn.execute(query)).mappings().first()


async def slug_taken(conn: Conn, space_id: int, slug: str, project_id: int | None = None) -> bool:
    query = select(projects.c.id).where(projects.c.space_id == space_id, projects.c.slug == slug)
    if project_id is not None:
        query = query.where(projects.c.id != project_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def list_projects(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    partial_name: str | None = None,
    name: str | None = None,
    *,
    group_id: int | None = None,
    lifecycle_id: int | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    query = _projects.listed(space_id, ids, partial_name, name)
    if group_id is not None:
        query = query.where(projects.c.project_group_id == group_id)
    if lifecycle_id is not None:
        query = query.where(projects.c.lifecycle_id == lifecycle_id)
    return await paged(conn, query, skip, take)


async def create_project(conn: Conn, space_id: int, values: dict[str, Any], by: str) -> int:
    """Insert the project row alone; ``values`` holds its columns but the bookkeeping ones."""
    await _projects.ensure_name_free(conn, space_id, values["name"])
    return await _projects.insert(conn, new_row(space_id, values["name"], by, **values))


async def update_project(conn: Conn, space_id: int, project_id: int, values: dict[str, Any], by: str) -> None:
    await _projects.save(conn, space_id, project_id, values, by)


async def delete_project(conn: Conn, space_id: int, project_id: int) -> None:
    """Channels, the process, variable sets, releases and deployments go with it (ON DELETE CASCADE)."""
    await conn.execute(delete(projects).where(projects.c.space_id == space_id, projects.c.id == project_id))


# --- Channels --------------------------------------------------------------------------------------


_GET_CHANNEL = hot(  # built once and hot (store/hot.py): every deployment reads its channel
    select(channels).where(
        channels.c.space_id == bindparam("space_id"), channels.c.id == bindparam("channel_id")
    )
)


async def get_channel(conn: Conn, space_id: int, channel_id: int) -> RowMapping | None:
    found = await conn.execute(_GET_CHANNEL, {"space_id": space_id, "channel_id": channel_id})
    return found.mappings().first()


async def default_channel(conn: Conn, project_id: int) -> RowMapping | None:
    query = select(channels).where(channels.c.project_id == project_id, channels.c.is_default.is_(True))
    return (await conn.execute(query)).mappings().first()


async def list_channels(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    partial_name: str | None = None,
    name: str | None = None,
    *,
    project_id: int | None = None,
    project_ids: Sequence[int] | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    query = select(channels).where(channels.c.space_id == space_id)
    if project_id is not None:
        query = query.where(channels.c.project_id == project_id)
    if project_ids is not None:
        query = query.where(channels.c.project_id.in_(project_ids))
    if ids is not None:
        query = query.where(channels.c.id.in_(ids))
    if partial_name:
        query = query.where(channels.c.name_key.contains(partial_name.casefold(), autoescape=True))
    if name:
        query = query.where(channels.c.name_key == name_key(name))
    return await paged(
        conn, query.order_by(channels.c.project_id, channels.c.name_key, channels.c.id), skip, take
    )


def _channel_taken(name: str) -> str:
    return f"A channel named '{name.strip()}' already exists in this project"


async def _ensure_channel_name_free(conn: Conn, project_id: int, name: str, channel_id: int | None) -> None:
    query = select(channels.c.id).where(
        channels.c.project_id == project_id, channels.c.name_key == name_key(name)
    )
    found = (await conn.execute(query)).scalar()
    if found is not None and found != channel_id:
        raise Conflict(_channel_taken(name))


async def _clear_default_channel(conn: Conn, project_id: int) -> None:
    await conn.execute(update(channels).where(channels.c.project_id == project_id).values(is_default=False))


async def create_channel(conn: Conn, space_id: int, project_id: int, values: dict[str, Any], by: str) -> int:
    """``values`` holds name, slug, description, lifecycle_id, is_default and document; a new default
    channel takes the flag from the old one."""
    await _ensure_channel_name_free(conn, project_id, values["name"], None)
    if values.get("is_default"):
        await _clear_default_channel(conn, project_id)
    row = dict(
        values,
        space_id=space_id,
        project_id=project_id,
        name=values["name"].strip(),
        name_key=name_key(values["name"]),
        last_modified_on=utcnow(),
        last_modified_by=by,
    )
    with conflict_if_taken(_channel_taken(values["name"])):
        result = await conn.execute(channels.insert().values(**row))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_channel(conn: Conn, channel: RowMapping, values: dict[str, Any], by: str) -> None:
    """Rename, move the default flag here (``is_default`` True), or change the rest. Taking the flag
    away without giving it to another channel is refused: a project always has a default channel."""
    project_id = int(channel["project_id"])
    if "name" in values:
        await _ensure_channel_name_free(conn, project_id, values["name"], int(channel["id"]))
        values["name_key"] = name_key(values["name"])
        values["name"] = values["name"].strip()
    if values.get("is_default") is True and not channel["is_default"]:
        await _clear_default_channel(conn, project_id)
    elif values.get("is_default") is False and channel["is_default"]:
        raise Refused("A project always has a default channel: make another channel the default instead")
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    with conflict_if_taken(_channel_taken(str(values.get("name", "")))):
        await conn.execute(update(channels).where(channels.c.id == channel["id"]).values(**values))


async def delete_channel(conn: Conn, channel: RowMapping) -> None:
    """Releases belong to a channel for good, and a project keeps its default channel."""
    if channel["is_default"]:
        raise Refused(
            "The default channel of a project cannot be deleted: make another channel the default first"
        )
    count = (
        await conn.execute(
            select(func.count()).select_from(releases).where(releases.c.channel_id == channel["id"])
        )
    ).scalar_one()
    if count:
        raise Refused(f"This channel has {count} release(s): delete them before the channel")
    await conn.execute(delete(channels).where(channels.c.id == channel["id"]))
