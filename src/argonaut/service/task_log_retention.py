"""Task-log retention: a finished task's log lines are removed once it is older than the setting.

Lines are what make a store grow (a chatty deployment writes hundreds of thousands); the task rows, with
their state, times and activity tree, are small and are what deployments, runs and the audit trail
point at, so they stay. The one line left in a pruned log says what happened and which setting did it.
"""

from __future__ import annotations

import datetime as dt

from argonaut.store import tasks_repo
from argonaut.store.connection import Conn
from argonaut.store.timeutil import utcnow

PRUNE_BATCH = 200  # tasks per transaction: a task's log can be long, so a batch is kept short


async def prune_older_than(conn: Conn, days: float, now: dt.datetime | None = None) -> int:
    """Prune one batch of logs of tasks finished more than ``days`` ago; answers how many tasks."""
    before = (now or utcnow()).astimezone(dt.UTC) - dt.timedelta(days=days)
    note = (
        f"This task's log was removed {days:g} days after the task finished "
        "(task log retention: --task-log-retention-days, ARGONAUT_TASK_LOG_RETENTION_DAYS)."
    )
    return await tasks_repo.prune_logs(conn, before, PRUNE_BATCH, note)
