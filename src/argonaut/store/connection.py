"""One connection type for repositories, whichever database is underneath.

PostgreSQL goes through SQLAlchemy's ``AsyncConnection`` (asyncpg), wrapped in
:class:`PostgresConnection` for the hot statements (store/hot.py). SQLite goes through
:class:`InlineConnection`: the embedded database is a local file owned by this process, its statements
take microseconds, and running them inline on the event loop is several times faster than aiosqlite's
hop to a worker thread for every statement (measured in bench/adhoc.py). Both answer
``await conn.execute(statement)`` with a buffered result, so repositories do not care which it is.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection

from argonaut.store import hot

AnyResult = CursorResult[*tuple[Any, ...]]


class InlineConnection:
    """A synchronous SQLAlchemy connection presented with the async ``execute`` repositories call."""

    def __init__(self, sync: Connection, raw: sqlite3.Connection) -> None:
        self.sync_connection = sync
        self.dialect = sync.dialect
        self._raw = raw

    async def execute(self, statement: Any, parameters: Any = None) -> AnyResult:
        if hot.is_hot(statement):
            result = hot.run(self.sync_connection, self._raw, statement, parameters)
            if result is not None:
                # A HotResult answers the part of CursorResult's API that hot statements' callers use.
                return result  # type: ignore[return-value]
        return self.sync_connection.execute(statement, parameters)


class PostgresConnection:
    """SQLAlchemy's ``AsyncConnection``, but hot statements run straight on asyncpg (store/hot.py)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> AnyResult:
        if hot.is_hot(statement):
            result = await hot.run_postgres(self.connection, statement, parameters)
            if result is not None:
                return result  # type: ignore[return-value]
        answer: AnyResult = await self.connection.execute(statement, parameters)
        return answer


Conn = PostgresConnection | InlineConnection
