"""The store handle: an engine and the one way to use it, a transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import Connection, make_url

from argonaut.store.checkpoints import JOURNAL_SIZE_LIMIT, WalCheckpointer
from argonaut.store.connection import Conn, PostgresConnection
from argonaut.store.database import create_postgres_engine, create_sqlite_engine, is_sqlite
from argonaut.store.group_commit import GroupCommits
from argonaut.store.migrations.runner import upgrade_to_head


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        self._sqlite = create_sqlite_engine(url) if self.is_sqlite else None
        self._postgres = None if self.is_sqlite else create_postgres_engine(url)
        self._autocommit = None if self.is_sqlite else create_postgres_engine(url, autocommit=True)
        # The one SQLite connection, kept open for the node's life; its transactions share commits.
        self._commits = GroupCommits(self._connect_held)
        self._checkpoints: WalCheckpointer | None = None

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
        self._commits.close()
        if self._sqlite is not None:
            self._sqlite.dispose()
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._checkpoints = None
        if self._postgres is not None:
            await self._postgres.dispose()
        if self._autocommit is not None:
            await self._autocommit.dispose()

    def _connect_held(self) -> Connection:
        """The node's one SQLite connection: opening one per transaction costs more than the statements
        inside. Its write-ahead log is checkpointed by a thread of its own (``checkpoints.py``)."""
        assert self._sqlite is not None
        held = self._sqlite.connect()
        path = make_url(self.url).database
        if path and path != ":memory:":
            held.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            held.exec_driver_sql(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
            held.commit()
            self._checkpoints = WalCheckpointer(path)
            self._checkpoints.start()
        return held

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A connection in a transaction, committed on success and rolled back on any error.

        Repository calls inside must not await anything but the connection: on SQLite the connection
        is held for the whole body, so a slow await here would stall every other request. On SQLite,
        transactions that end in the same turn of the event loop share a COMMIT (``group_commit.py``).
        """
        if self._sqlite is not None:
            async with self._commits.transaction() as conn:
                yield conn
        else:
            assert self._postgres is not None
            async with self._postgres.begin() as conn:
                yield PostgresConnection(conn)

    @asynccontextmanager
    async def single(self) -> AsyncIterator[Conn]:
        """A connection for one statement that needs no transaction around it (a read, or one atomic
        write): on PostgreSQL it runs in autocommit, saving the BEGIN and COMMIT round trips that a
        transaction costs (two of the three a one-statement transaction takes), from a pool of its own
        (see ``create_postgres_engine``). On SQLite, a transaction.
        """
        if self._sqlite is not None:
            async with self.transaction() as conn:
                yield conn
        else:
            assert self._autocommit is not None
            async with self._autocommit.connect() as conn:
                yield PostgresConnection(conn)
