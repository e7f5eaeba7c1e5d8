"""Project groups. Every space has a Default Project Group, created with the space."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from argonaut.store.common import Refused, slugify
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import project_groups, projects

DEFAULT_NAME = "Default Project Group"

_groups = SpaceScoped(project_groups, "project group")
get = _groups.get
find_by_name = _groups.find_by_name
default = _groups.default
list_groups = _groups.page


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
        new_row(
            space_id,
            name,
            by,
            slug=slugify(name),
            description=description,
            is_default=is_default,
            document={},
        ),
    )


async def update_group(conn: Conn, space_id: int, row_id: int, values: dict[str, Any], by: str) -> None:
    await _groups.save(conn, space_id, row_id, values, by, slug=True)


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
