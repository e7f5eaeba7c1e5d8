"""Project groups. Every space has a Default Project Group, created with the space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import RowMapping

from argonaut.store.common import Refused, name_key, paged, slugify
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped
from argonaut.store.tables import project_groups, projects
from argonaut.store.timeutil import utcnow

DEFAULT_NAME = "Default Project Group"

_groups = SpaceScoped(project_groups, "project group")
get = _groups.get
find_by_name = _groups.find_by_name
default = _groups.default


async def list_groups(
    conn: Conn,
    space_id: int,
    skip: int,
    take: int,
    ids: Sequence[int] | None = None,
    partial_name: str | None = None,
    name: str | None = None,
) -> tuple[int, Sequence[RowMapping]]:
    query = _groups.filtered(
        _groups.select(space_id).order_by(project_groups.c.name_key), ids, partial_name, name
    )
    return await paged(conn, query, skip, take)


async def create_group(
    conn: Conn,
    space_id: int,
    name: str,
    description: str | None,
    by: str,
    is_default: bool = False,
) -> int:
    await _groups.ensure_name_free(conn, space_id, name)
    return await _groups.insert(
        conn,
        dict(
            space_id=space_id,
            name=name.strip(),
            name_key=name_key(name),
            slug=slugify(name),
            description=description,
            is_default=is_default,
            document={},
            last_modified_on=utcnow(),
            last_modified_by=by,
        ),
    )


async def update_group(conn: Conn, space_id: int, row_id: int, values: dict[str, Any], by: str) -> None:
    await _groups.prepare_update(conn, space_id, row_id, values)
    if "name" in values:
        values["slug"] = slugify(values["name"])
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    await _groups.update(conn, row_id, values)


async def delete_group(conn: Conn, space_id: int, row_id: int) -> None:
    """A group's projects would be left in no group: they must move (or go) first."""
    count = (
        await conn.execute(
            select(func.count()).select_from(projects).where(projects.c.project_group_id == row_id)
        )
    ).scalar_one()
    if count:
        raise Refused(f"This project group still holds {count} project(s): move or delete them first")
    await conn.execute(
        delete(project_groups).where(project_groups.c.space_id == space_id, project_groups.c.id == row_id)
    )
