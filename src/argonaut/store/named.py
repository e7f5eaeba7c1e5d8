"""What every named, space-scoped resource table shares: lookups, list pages, renames, default flags.

Pools, policies and workers follow the same rules (names unique per space case-insensitively, at most
one default per space, the described system's ``ids``/``partialName``/``name`` filters); they live here
once so the rules cannot drift between resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, bindparam, insert, select, true, update
from sqlalchemy.engine import RowMapping

from argonaut.store.common import Conflict, Refused, conflict_if_taken, name_key, paged, slugify
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.timeutil import utcnow


def new_row(space_id: int, name: str, by: str, /, **values: Any) -> dict[str, Any]:
    """A new row's ``values`` with the columns every named row has: its space, its name (trimmed) and
    the name's key, and who wrote it when. ``values`` may hold a ``name`` too: ``name`` wins."""
    return dict(
        values,
        space_id=space_id,
        name=name.strip(),
        name_key=name_key(name),
        last_modified_on=utcnow(),
        last_modified_by=by,
    )


class SpaceScoped:
    def __init__(
        self,
        table: Table,
        noun: str,
        only: ColumnElement[bool] | None = None,
        order_by: Sequence[ColumnElement[Any]] | None = None,
    ) -> None:
        self.table = table
        self.noun = noun  # "worker pool", for messages
        # The rows of this kind when a table holds several (workers and deployment targets share one).
        self.only: ColumnElement[bool] = only if only is not None else true()
        # The order lists answer in: by name unless the kind has its own.
        self.order_by = tuple(order_by) if order_by is not None else (table.c.name_key,)
        # Built once and hot (store/hot.py): planning a script reads its worker and policy this way.
        self._get = hot(
            select(table).where(
                table.c.space_id == bindparam("space_id"), self.only, table.c.id == bindparam("row_id")
            )
        )

    def select(self, space_id: int) -> Select[Any]:
        """Every row of this kind in the space."""
        t = self.table
        return select(t).where(t.c.space_id == space_id, self.only)

    async def get(self, conn: Conn, space_id: int, row_id: int) -> RowMapping | None:
        found = await conn.execute(self._get, {"space_id": space_id, "row_id": row_id})
        return found.mappings().first()

    async def find_by_name(self, conn: Conn, space_id: int, name: str) -> RowMapping | None:
        query = self.select(space_id).where(self.table.c.name_key == name_key(name))
        return (await conn.execute(query)).mappings().first()

    async def default(self, conn: Conn, space_id: int) -> RowMapping | None:
        query = self.select(space_id).where(self.table.c.is_default.is_(True))
        return (await conn.execute(query)).mappings().first()

    def filtered(
        self, query: Select[Any], ids: Sequence[int] | None, partial_name: str | None, name: str | None
    ) -> Select[Any]:
        t = self.table
        if ids is not None:
            query = query.where(t.c.id.in_(ids))
        if partial_name:
            query = query.where(t.c.name_key.contains(partial_name.casefold(), autoescape=True))
        if name:
            query = query.where(t.c.name_key == name_key(name))
        return query

    def listed(
        self, space_id: int, ids: Sequence[int] | None, partial_name: str | None, name: str | None
    ) -> Select[Any]:
        """The space's rows of this kind, ``filtered``, in the kind's list order."""
        return self.filtered(self.select(space_id).order_by(*self.order_by), ids, partial_name, name)

    async def page(
        self,
        conn: Conn,
        space_id: int,
        skip: int,
        take: int,
        ids: Sequence[int] | None = None,
        partial_name: str | None = None,
        name: str | None = None,
    ) -> tuple[int, Sequence[RowMapping]]:
        """One page of ``listed`` and the total it is a page of: the ``list_…`` function of each kind."""
        return await paged(conn, self.listed(space_id, ids, partial_name, name), skip, take)

    async def ensure_name_free(self, conn: Conn, space_id: int, name: str, row_id: int | None = None) -> None:
        other = await self.find_by_name(conn, space_id, name)
        if other is not None and other["id"] != row_id:
            raise Conflict(self._taken(name))

    def writing_name(self, name: str) -> AbstractContextManager[None]:
        """Around the insert or update that writes ``name``: another request may have taken it since
        ``ensure_name_free`` (see ``conflict_if_taken``)."""
        return conflict_if_taken(self._taken(name))

    async def insert(self, conn: Conn, values: dict[str, Any]) -> int:
        """Insert a row whose name ``ensure_name_free`` passed; answers its id."""
        with self.writing_name(values["name"]):
            result = await conn.execute(insert(self.table).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def update(self, conn: Conn, row_id: int, values: dict[str, Any]) -> None:
        """Update a row after ``prepare_update`` applied the shared rules to ``values``."""
        with self.writing_name(str(values.get("name", ""))):
            await conn.execute(update(self.table).where(self.table.c.id == row_id).values(**values))

    async def save(
        self, conn: Conn, space_id: int, row_id: int, values: dict[str, Any], by: str, slug: bool = False
    ) -> None:
        """Update a row with ``prepare_update``'s rules and who changed it when; with ``slug``, a rename
        renames the slug too."""
        await self.prepare_update(conn, space_id, row_id, values)
        if slug and "name" in values:
            values["slug"] = slugify(values["name"])
        values.update(last_modified_on=utcnow(), last_modified_by=by)
        await self.update(conn, row_id, values)

    def _taken(self, name: str) -> str:
        return f"A {self.noun} named '{name}' already exists in this space"

    async def clear_default(self, conn: Conn, space_id: int) -> None:
        await conn.execute(
            update(self.table).where(self.table.c.space_id == space_id, self.only).values(is_default=False)
        )

    async def prepare_update(self, conn: Conn, space_id: int, row_id: int, values: dict[str, Any]) -> None:
        """Apply the shared rules to an update's ``values`` in place (rename and default flag)."""
        if "name" in values:
            await self.ensure_name_free(conn, space_id, values["name"], row_id)
            values["name_key"] = name_key(values["name"])
            values["name"] = values["name"].strip()
        if values.get("is_default") is True:
            await self.clear_default(conn, space_id)
        elif values.get("is_default") is False:
            current = await self.get(conn, space_id, row_id)
            if current is not None and current["is_default"]:
                raise Refused(
                    f"A space always has a default {self.noun}: make another {self.noun} the default instead"
                )
