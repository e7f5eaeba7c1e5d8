"""The store handle: an engine and the one way to use it, a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import Connection

from argonaut.store.connection import Conn, InlineConnection
from argonaut.store.database import create_postgres_engine, create_sqlite_engine, is_sqlite
from argonaut.store.migrations.runner import upgrade_to_head


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        self._sqlite = create_sqlite_engine(url) if self.is_sqlite else None
        self._postgres = None if self.is_sqlite else create_postgres_engine(url)
        self._lock = asyncio.Lock()
        self._held: Connection | None = None  # the one SQLite connection, kept open for the node's life

    async def open(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is current."""
        if self._sqlite is not None:
            with self._sqlite.begin() as conn:
                upgrade_to_head(conn)
        else:
            assert self._postgres is not None
            async with self._postgres.begin() as conn:
                await conn.run_sync(upgrade_to_head)

    async def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None
        if self._sqlite is not None:
            self._sqlite.dispose()
        if self._postgres is not None:
            await self._postgres.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A connection in a transaction, committed on success and rolled back on any error.

        Repository calls inside must not await anything but the connection: on SQLite the lock is held
        for the whole body, so a slow await here would stall every other request.
        """
        if self._sqlite is not None:
            async with self._lock:
                if self._held is None:
                    # Opening a Connection per transaction costs more than the statements inside.
                    self._held = self._sqlite.connect()
                with self._held.begin():
                    yield InlineConnection(self._held)
        else:
            assert self._postgres is not None
            async with self._postgres.begin() as conn:
                yield conn

    @asynccontextmanager
    async def single(self) -> AsyncIterator[Conn]:
        """A connection for one statement that needs no transaction around it (a read, or one atomic
        write): on PostgreSQL it runs in autocommit, saving the BEGIN and COMMIT round trips that a
        transaction costs (two of the three a one-statement transaction takes). On SQLite, a transaction.
        """
        if self._sqlite is not None:
            async with self.transaction() as conn:
                yield conn
        else:
            assert self._postgres is not None
            async with self._postgres.connect() as conn:
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")
