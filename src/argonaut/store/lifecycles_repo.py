"""Lifecycles: the phases a release goes through. Every space has a Default Lifecycle (no phases: one
phase per environment, in their sort order), created with the space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from argonaut.store.common import Refused, slugify
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import channels, lifecycles, projects

DEFAULT_NAME = "Default Lifecycle"


def default_retention() -> dict[str, Any]:
    """The described system's default: keep everything ("Default" strategy, 0 items)."""
    return {"Strategy": "Default", "QuantityToKeep": 0, "Unit": "Items", "ShouldKeepForever": True}


def default_document() -> dict[str, Any]:
    return {
        "Phases": [],
        "ReleaseRetentionPolicy": default_retention(),
        "TentacleRetentionPolicy": default_retention(),
    }


_lifecycles = SpaceScoped(lifecycles, "lifecycle")
get = _lifecycles.get
find_by_name = _lifecycles.find_by_name
default = _lifecycles.default
list_lifecycles = _lifecycles.page


async def create_lifecycle(
    conn: Conn,
    space_id: int,
    name: str,
    description: str | None,
    document: dict[str, Any],
    by: str,
    is_default: bool = False,
) -> int:
    await _lifecycles.ensure_name_free(conn, space_id, name)
    return await _lifecycles.insert(
        conn,
        new_row(
            space_id,
            name,
            by,
            slug=slugify(name),
            description=description,
            is_default=is_default,
            document=document,
        ),
    )


async def update_lifecycle(conn: Conn, space_id: int, row_id: int, values: dict[str, Any], by: str) -> None:
    await _lifecycles.save(conn, space_id, row_id, values, by, slug=True)


async def delete_lifecycle(conn: Conn, space_id: int, row_id: int) -> None:
    """A lifecycle in use would leave projects and channels with no rules for their releases."""
    users = (
        await conn.execute(
            select(func.count())
            .select_from(projects)
            .where(projects.c.lifecycle_id == row_id)
            .union_all(select(func.count()).select_from(channels).where(channels.c.lifecycle_id == row_id))
        )
    ).scalars()
    if sum(users) > 0:
        raise Refused("This lifecycle is used by projects or channels: give them another lifecycle first")
    await conn.execute(delete(lifecycles).where(lifecycles.c.space_id == space_id, lifecycles.c.id == row_id))


async def naming_environment(conn: Conn, space_id: int, environment_id: str) -> Sequence[str]:
    """Names of lifecycles whose phases name this environment (they would name a missing one)."""
    query = select(lifecycles.c.name, lifecycles.c.document).where(lifecycles.c.space_id == space_id)
    names = []
    for row in (await conn.execute(query)).mappings():
        for phase in (row["document"] or {}).get("Phases", []):
            listed = [
                *phase.get("AutomaticDeploymentTargets", []),
                *phase.get("OptionalDeploymentTargets", []),
            ]
            if any(str(e).casefold() == environment_id.casefold() for e in listed):
                names.append(str(row["name"]))
                break
    return names
