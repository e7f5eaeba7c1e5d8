"""Background work done once per cluster: the health schedule, scheduled triggers, audit retention.

Every node runs the loop; only the node holding the work's cluster lease acts (a compare-and-set on
holder or expiry, renewed every tick), so the work is done once, and another node takes it over
within the lease's time to live when the holder stops. A failed tick is logged and the loop goes on:
a busy store must never end the work for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import IntegrityError

from argonaut.store import Store, nodes_repo

log = logging.getLogger(__name__)


class ClusterLoop:
    """Subclasses say what one tick does (``tick_once``, answering how long to sleep) and name their lease."""

    lease: str = ""
    what: str = "a background tick"  # for the log line when one fails

    def __init__(self, store: Store, node: str, lease_ttl_s: float, retry_s: float) -> None:
        self._store = store
        self._node = node
        self._lease_ttl_s = lease_ttl_s
        self._retry_s = retry_s
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name=self.lease)

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop

    async def _run(self) -> None:
        while True:
            try:
                wait_s = await self.tick_once()
            except Exception:
                log.exception("%s failed", self.what)
                wait_s = self._retry_s
            await asyncio.sleep(wait_s)

    async def tick_once(self) -> float:
        raise NotImplementedError

    async def hold_lease(self) -> bool:
        """Whether this node holds (or just took) the work's cluster lease."""
        try:
            async with self._store.transaction() as conn:
                return await nodes_repo.hold_lease(conn, self.lease, self._node, self._lease_ttl_s)
        except IntegrityError:  # another node created the lease at the same moment: it holds it
            return False
