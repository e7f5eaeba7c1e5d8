"""What the CRUD route factories of a space's resources share: finding a resource by the id in the path
(a 404 naming that id when it is malformed or not in the space) and shaping the stored row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.api.auth import Caller, require_visible
from argonaut.api.resources import Row
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.permissions import Permission
from argonaut.service.errors import NotFound
from argonaut.store.connection import Conn


@dataclass(frozen=True)
class SpaceResources:
    """One family of a space's resources: ``get(conn, space_id, number)`` answers the row or ``None``."""

    collection: Collection
    get: Callable[[Conn, int, int], Awaitable[RowMapping | None]]
    shape: Callable[[Row], dict[str, Any]]
    # A family of a project's resources (rows with ``project_id``, and ``environment_id`` when
    # ``by_environment``): the view permission that must reach the row's project (and environment), else
    # the row is a 404 to this caller, whatever the route does with it.
    seen_with: Permission | None = None
    by_environment: bool = False

    async def row(self, conn: Conn, caller: Caller, text: str) -> RowMapping:
        """The row the path's id names, or a 404 naming that id (also when the caller may not see it)."""
        assert caller.space_id is not None
        number = parse_id(self.collection, text)
        row = await self.get(conn, caller.space_id, number) if number is not None else None
        if row is None:
            raise NotFound(text)
        if self.seen_with is not None:
            environment = row["environment_id"] if self.by_environment else None
            await require_visible(
                caller,
                conn,
                self.seen_with,
                text,
                int(row["project_id"]),
                int(environment) if environment is not None else None,
            )
        return row

    async def number(self, conn: Conn, caller: Caller, text: str) -> int:
        return int((await self.row(conn, caller, text))["id"])

    async def resource(self, conn: Conn, caller: Caller, number: int) -> dict[str, Any]:
        """The resource as stored now (after a create or an update)."""
        assert caller.space_id is not None
        row = await self.get(conn, caller.space_id, number)
        assert row is not None
        return self.shape(row)

    async def fetch(self, caller: Caller, text: str) -> RowMapping:
        """The row the path's id names, read in a transaction of its own."""
        async with caller.services.store.transaction() as conn:
            return await self.row(conn, caller, text)

    async def load(self, caller: Caller, text: str) -> dict[str, Any]:
        """The resource the path's id names, read in a transaction of its own."""
        return self.shape(await self.fetch(caller, text))


def server_tasks(
    created: Iterable[tuple[Row, Row]], id_field: str, collection: Collection
) -> list[dict[str, str]]:
    """What a by-names command answers for each ``(row, task)`` it queued: ``{id_field, ServerTaskId}``."""
    return [
        {
            id_field: format_id(collection, int(row["id"])),
            "ServerTaskId": format_id(Collection.SERVER_TASKS, int(task["id"])),
        }
        for row, task in created
    ]
