"""The store handle: an engine plus the two ways to use it, a read and a write transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from argonaut.store.database import create_engine, is_sqlite, migrate


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self.is_sqlite = is_sqlite(url)

    async def open(self) -> None:
        await migrate(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction committed on success and rolled back on any error."""
        async with self.engine.begin() as conn:
            yield conn
