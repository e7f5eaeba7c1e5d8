"""Telling every node that something changed: PostgreSQL ``LISTEN/NOTIFY``, or this node alone on SQLite.

A signal is a kind and a short detail (``caches``, ``cancel:17``). On PostgreSQL it is sent inside the
sender's transaction (``pg_notify``), so it arrives only once the change is committed, and every node
listens on one connection of its own; a listener that lost its connection reconnects and, having
perhaps missed signals meanwhile, tells its handlers that anything may have changed (detail ``*``).
On SQLite there is one node, so a signal goes straight to this node's handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from argonaut.store.connection import Conn
from argonaut.store.database import is_sqlite

log = logging.getLogger(__name__)

CHANNEL = "argonaut"
MAX_PAYLOAD_BYTES = 7500  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more
EVERYTHING = "*"
Handler = Callable[[str], None]  # called with the detail


class Signals:
    def __init__(self, url: str) -> None:
        self._local = is_sqlite(url)
        self._dsn = "" if self._local else _asyncpg_dsn(url)
        self._handlers: dict[str, list[Handler]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._conn: Any = None  # the listening connection, which also sends signals outside transactions
        self._sending = asyncio.Lock()  # one statement at a time on that connection

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    async def start(self) -> None:
        if not self._local:
            self._listener = asyncio.create_task(self._listen(), name="cluster-signals")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), 10)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def send(self, conn: Conn, kind: str, detail: str = "") -> None:
        """Signal ``kind`` to every node once ``conn``'s transaction commits (at once on SQLite)."""
        if self._local:
            self._deliver(kind, detail)
            return
        await conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": f"{kind}:{detail}"}
        )

    async def send_now(self, kind: str, detail: str = "") -> bool:
        """Signal outside any transaction, in one round trip on the listening connection; answers False
        when that connection is down (the caller falls back to a transaction of its own)."""
        if self._local:
            self._deliver(kind, detail)
            return True
        if self._conn is None or self._conn.is_closed():
            return False
        try:
            async with self._sending:
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{kind}:{detail}")
        except Exception:
            return False
        return True

    def _deliver(self, kind: str, detail: str) -> None:
        for handler in self._handlers.get(kind, ()):
            try:
                handler(detail)
            except Exception:
                log.exception("a %s signal's handler failed", kind)

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        kind, _, detail = payload.partition(":")
        self._deliver(kind, detail)

    async def _listen(self) -> None:
        import asyncpg

        first = True
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot listen for cluster signals (%s); retrying", exc)
                await asyncio.sleep(1)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(functools.partial(_set, lost))
            try:
                await conn.add_listener(CHANNEL, self._received)
                if not first:  # signals sent while we were not listening are lost: assume the worst
                    for kind in list(self._handlers):
                        self._deliver(kind, EVERYTHING)
                first = False
                self._conn = conn
                self._connected.set()
                await lost.wait()
                self._conn = None
                log.warning("the cluster signal connection closed; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()


def _set(event: asyncio.Event, _conn: Any) -> None:
    event.set()


def _asyncpg_dsn(url: str) -> str:
    """SQLAlchemy's ``postgresql+asyncpg://…`` URL as asyncpg's own DSN."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)
