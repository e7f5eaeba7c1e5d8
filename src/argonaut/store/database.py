"""Opening the store, with every SQLite/PostgreSQL difference kept in this one file.

SQLite (the embedded default):
- WAL lets readers run beside the writer, and ``synchronous=NORMAL`` skips the fsync per commit that
  WAL does not need for durability across process crashes (only an OS crash can lose the last commits).
- ``foreign_keys=ON`` because SQLite ignores declared foreign keys otherwise.
- ``busy_timeout`` so a second process (an admin's sqlite3 shell) waits instead of failing at once.
- One pooled connection: a single server process owns the file, and serialising its short
  transactions through one connection avoids "database is locked" retries entirely.

PostgreSQL: a normal pool; the task queue claims with ``FOR UPDATE SKIP LOCKED`` (see ``tasks_repo``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def supports_skip_locked(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; runs at every start and is a no-op when current."""
    from argonaut.store.migrations.runner import upgrade_to_head

    async with engine.begin() as conn:
        await conn.run_sync(upgrade_to_head)
