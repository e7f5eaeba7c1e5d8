"""Environments, in their dashboard order (``sort_order``, then id): the order the Default Lifecycle
takes them in, so a new environment goes last and a reorder renumbers them all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.store import lifecycles_repo, machines_repo
from argonaut.store.common import Refused, slugify
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import environments

_environments = SpaceScoped(
    environments, "environment", order_by=(environments.c.sort_order, environments.c.id)
)
get = _environments.get
find_by_name = _environments.find_by_name
list_environments = _environments.page


def _ordered(space_id: int) -> Select[Any]:
    return _environments.select(space_id).order_by(*_environments.order_by)


async def all_in_space(conn: Conn, space_id: int) -> Sequence[RowMapping]:
    """Every environment of the space in dashboard order."""
    return (await conn.execute(_ordered(space_id))).mappings().all()


async def get_many(conn: Conn, space_id: int, ids: Sequence[int]) -> Sequence[RowMapping]:
    return (await conn.execute(_ordered(space_id).where(environments.c.id.in_(list(ids))))).mappings().all()


async def create_environment(conn: Conn, space_id: int, values: dict[str, Any], by: str) -> int:
    """``values``: name, description, use_guided_failure, document, and sort_order (None: last)."""
    await _environments.ensure_name_free(conn, space_id, values["name"])
    sort_order = values.get("sort_order")
    if sort_order is None:
        last = await conn.execute(
            select(func.max(environments.c.sort_order)).where(environments.c.space_id == space_id)
        )
        highest = last.scalar()
        sort_order = 0 if highest is None else int(highest) + 1
    return await _environments.insert(
        conn,
        new_row(
            space_id,
            values["name"],
            by,
            slug=slugify(values["name"]),
            description=values.get("description"),
            sort_order=sort_order,
            use_guided_failure=bool(values.get("use_guided_failure", False)),
            document=values.get("document") or {},
        ),
    )


async def update_environment(conn: Conn, space_id: int, row_id: int, values: dict[str, Any], by: str) -> None:
    await _environments.save(conn, space_id, row_id, values, by, slug=True)


async def reorder(conn: Conn, space_id: int, first: Sequence[int]) -> None:
    """Renumber the space's environments 0, 1, 2…: ``first`` (ids of the space, each once) in that
    order, then the others in their present order."""
    rest = [int(row["id"]) for row in await all_in_space(conn, space_id) if row["id"] not in set(first)]
    for position, row_id in enumerate([*first, *rest]):
        await conn.execute(
            update(environments)
            .where(environments.c.space_id == space_id, environments.c.id == row_id)
            .values(sort_order=position)
        )


async def delete_environment(conn: Conn, space_id: int, row_id: int) -> None:
    """Refused while targets are in it or lifecycles name it: they would point at nothing. Its
    deployments go with it (foreign key)."""
    row = await get(conn, space_id, row_id)
    if row is None:
        return
    targets = [str(t["name"]) for t in await machines_repo.targets_in_environment(conn, space_id, row_id)]
    if targets:
        raise Refused(
            f"The environment '{row['name']}' still has deployment targets ({_listed(targets)}): "
            "move them to another environment or delete them first"
        )
    named_by = await lifecycles_repo.naming_environment(
        conn, space_id, format_id(Collection.ENVIRONMENTS, row_id)
    )
    if named_by:
        raise Refused(
            f"The environment '{row['name']}' is used by the phases of lifecycle(s) {_listed(named_by)}: "
            "remove it from them first"
        )
    await conn.execute(
        delete(environments).where(environments.c.space_id == space_id, environments.c.id == row_id)
    )


def _listed(names: Sequence[str], at_most: int = 10) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")
