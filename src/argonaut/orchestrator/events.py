"""Live task events inside one node: log lines and completion, pushed to whoever is watching.

Watchers (the streaming API, the CLI) get events the moment they happen, so a client sees a task finish
without any polling interval. Each watcher has its own unbounded queue; a slow watcher costs memory only
for the lines it has not read, and a task's lines are also in the store for late readers.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.store.tasks_repo import LogRow


@dataclass(frozen=True, slots=True)
class Completed:
    """The task reached a final state; ``row`` is its stored row, so watchers need not read it again."""

    row: Mapping[str, Any] | RowMapping


Event = LogRow | Completed


class TaskEvents:
    def __init__(self) -> None:
        self._watchers: dict[int, set[asyncio.Queue[Event]]] = defaultdict(set)

    def watch(self, task_id: int) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._watchers[task_id].add(queue)
        return queue

    def unwatch(self, task_id: int, queue: asyncio.Queue[Event]) -> None:
        watchers = self._watchers.get(task_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self._watchers[task_id]

    def publish(self, task_id: int, event: Event) -> None:
        for queue in self._watchers.get(task_id, ()):
            queue.put_nowait(event)
