"""The agent's isolation mutex: scripts that need the machine to themselves wait for the others.

``FullIsolation`` takes the lock exclusively, ``NoIsolation`` shares it (the described system's
reader/writer mutex). Waiting writers go first once the running readers finish, so a stream of shared
scripts cannot starve an exclusive one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class IsolationMutex:
    def __init__(self) -> None:
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._changed = asyncio.Condition()

    @property
    def busy(self) -> bool:
        return self._writer or self._readers > 0

    @property
    def busy_exclusively(self) -> bool:
        return self._writer or self._writers_waiting > 0

    @asynccontextmanager
    async def hold(self, exclusive: bool) -> AsyncIterator[None]:
        async with self._changed:
            if exclusive:
                self._writers_waiting += 1
                try:
                    await self._changed.wait_for(lambda: not self._writer and self._readers == 0)
                finally:
                    self._writers_waiting -= 1
                self._writer = True
            else:
                await self._changed.wait_for(lambda: not self._writer and self._writers_waiting == 0)
                self._readers += 1
        try:
            yield
        finally:
            async with self._changed:
                if exclusive:
                    self._writer = False
                else:
                    self._readers -= 1
                self._changed.notify_all()
