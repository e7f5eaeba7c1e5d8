"""The log of one executing task: numbered lines grouped under activities, buffered between flushes.

Lines get their sequence number here, in one place, so the store, live watchers and the raw log agree on
order. Lines wait in ``pending`` until the queue's flusher writes them in one batch; a task's final lines
are written in the same transaction that completes it, so a finished task never misses its last lines.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from argonaut.orchestrator.events import TaskEvents
from argonaut.store.tasks_repo import LogRow


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class TaskLog:
    def __init__(
        self,
        task_id: int,
        events: TaskEvents,
        first_seq: int = 0,
        activities: list[dict[str, Any]] | None = None,
        lines_written: Counter | None = None,
    ) -> None:
        self.task_id = task_id
        self._lines_written = lines_written  # the node's /metrics counter of log lines
        self._events = events
        self._next_seq = first_seq
        self.pending: list[LogRow] = []
        self._in_flight: list[LogRow] = []
        self.activities: list[dict[str, Any]] = list(activities or [])
        self._by_id = {activity["Id"]: activity for activity in self.activities}  # a Health task has 10,000
        self.has_warnings_or_errors = False
        self._counter = len(self.activities)

    def open_activity(self, name: str, parent: str | None = None, pending: bool = False) -> str:
        """A new activity, Running now; or Pending (not started) until :meth:`start_activity`."""
        self._counter += 1
        activity_id = f"ServerTasks-{self.task_id}_{self._counter}"
        activity = {
            "Id": activity_id,
            "Name": name,
            "ParentId": parent,
            "Started": None if pending else _iso(time.time()),
            "Ended": None,
            "Status": "Pending" if pending else "Running",
        }
        self.activities.append(activity)
        self._by_id[activity_id] = activity
        return activity_id

    def start_activity(self, activity_id: str) -> None:
        activity = self._by_id.get(activity_id)
        if activity is not None and activity["Status"] == "Pending":
            activity["Started"] = _iso(time.time())
            activity["Status"] = "Running"

    def close_activity(self, activity_id: str, status: str) -> None:
        activity = self._by_id.get(activity_id)
        if activity is not None and activity["Ended"] is None:
            activity["Ended"] = _iso(time.time())
            activity["Status"] = status

    def close_open_activities(self, status: str) -> None:
        for activity in self.activities:
            if activity["Ended"] is None:
                self.close_activity(activity["Id"], status)

    def write(
        self, activity: str, category: str, text: str, occurred: float | None = None, cursor: object = None
    ) -> None:
        if "\x00" in text:  # as the store keeps it (PostgreSQL refuses NUL): watchers see the same line
            text = text.replace("\x00", "\ufffd")
        row = LogRow(
            self._next_seq,
            activity,
            occurred if occurred is not None else time.time(),
            category,
            text,
            cursor,
        )
        self._next_seq += 1
        if self._lines_written is not None:
            self._lines_written.inc()
        if category in ("Error", "Warning", "Fatal"):
            self.has_warnings_or_errors = True
        self.pending.append(row)
        self._events.publish(self.task_id, row)

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def take_pending(self) -> list[LogRow]:
        """Hand the pending lines to a writer; they stay visible in :meth:`unstored` until it is done."""
        rows, self.pending = self.pending, []
        self._in_flight.extend(rows)
        return rows

    def stored(self, rows: list[LogRow]) -> None:
        done = {row.seq for row in rows}
        self._in_flight = [row for row in self._in_flight if row.seq not in done]

    def unstored(self) -> list[LogRow]:
        """Lines not yet committed to the store: what a new watcher must be shown besides the store."""
        return [*self._in_flight, *self.pending]
