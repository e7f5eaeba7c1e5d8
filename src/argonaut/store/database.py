"""Opening the store, with every SQLite/PostgreSQL difference kept in this one file.

SQLite (the embedded default) runs inline on the event loop through one connection (see
``connection.py`` for why), guarded by an asyncio lock so transactions never interleave:
- WAL lets readers in other processes (an admin's sqlite3 shell, a backup) run beside the writer, and
  ``synchronous=NORMAL`` skips the fsync per commit that WAL does not need to survive a process crash
  (only an OS crash can lose the last commits).
- ``foreign_keys=ON`` because SQLite ignores declared foreign keys otherwise.
- ``busy_timeout`` so a second process holding a write lock makes us wait instead of fail.

PostgreSQL uses asyncpg and a normal pool; the task queue claims with ``FOR UPDATE SKIP LOCKED``. Its
transactions run side by side (READ COMMITTED), where SQLite's run one at a time: a rule that reads
and then writes on that reading must take a lock there (``take_turns``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, event, func, select
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from argonaut.store import json_text
from argonaut.store.connection import Conn
from argonaut.store.hot import hot


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_sqlite_engine(url: str) -> Engine:
    sync_url = make_url(url).set(drivername="sqlite")
    engine = create_sync_engine(
        sync_url,
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
        json_serializer=json_text.dumps,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_postgres_engine(url: str, autocommit: bool = False) -> AsyncEngine:
    """A pool of connections for transactions, or (``autocommit``) one for single statements.

    Two pools, so that a statement that needs no transaction neither sets nor resets its connection's
    isolation level, which SQLAlchemy does on every checkout when asked per connection (13–18% of a
    task's server CPU on PostgreSQL, in A/B runs). Each holds up to 10 (5 kept open): 20 a node, as
    the one pool of 20 before, so a cluster's demand on ``max_connections`` did not grow.

    No pre-ping: it costs a round trip on every transaction (a task makes five). A connection the
    server dropped fails its statement once, is discarded by the pool, and the caller's retry (every
    loop here retries) gets a fresh one.
    """
    isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    return create_async_engine(
        url, pool_size=5, max_overflow=5, pool_recycle=1800, json_serializer=json_text.dumps, **isolation
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether a unique index refused the write (not a foreign key or a NOT NULL)."""
    if getattr(exc.orig, "sqlstate", None) == "23505":  # PostgreSQL's unique_violation
        return True
    return getattr(exc.orig, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_UNIQUE"


def is_postgresql(conn: Conn) -> bool:
    """PostgreSQL: it fuses a task's writes into one statement (data-modifying CTEs), where SQLite runs
    them one by one in a transaction."""
    return conn.dialect.name == "postgresql"


def supports_skip_locked(conn: Conn) -> bool:
    return is_postgresql(conn)


# Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)); the second key is a space.
LEASING = 1
BUILT_INS = 2  # seeding the built-in roles and teams at node start (second key 0)


async def take_turns(conn: Conn, lock_class: int, space_id: int) -> None:
    """Wait until no other transaction holds this space's ``lock_class`` lock, and hold it to commit.

    For a read that decides a write, such as which worker a step leases: on PostgreSQL two steps
    choosing at once both saw the one idle worker free and both leased it, exclusive steps included.
    The lock is PostgreSQL's transaction-scoped advisory lock, so it holds across server nodes and is
    released by commit or rollback; under ``Store.single()`` (autocommit) it would end with its own
    statement, so the read and the write must share a ``Store.transaction()``. SQLite needs none: its
    transactions already take turns.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(_TAKE_TURN, {"c": lock_class, "s": space_id})


# Built once and hot (store/hot.py): every step that leases on PostgreSQL waits its turn with it.
_TAKE_TURN = hot(
    select(func.pg_advisory_xact_lock(bindparam("c", type_=Integer), bindparam("s", type_=Integer)))
)
