"""Task-log retention keeps the store bounded: old finished tasks keep their row and activity tree but
lose their lines, replaced by one line that says why; recent and unfinished tasks keep everything."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from argonaut.orchestrator.retention import TaskLogRetention
from argonaut.service import task_log_retention
from argonaut.store import Store, tasks_repo
from argonaut.store.tables import task_log, tasks
from conftest import eventually, follow, script_task

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


async def _task(conn: Any, age_days: float | None, lines: int) -> int:
    """A task with ``lines`` log lines that finished ``age_days`` ago (None: still running)."""
    now = dt.datetime.now(dt.UTC)
    finished = None if age_days is None else now - dt.timedelta(days=age_days)
    started = (finished or now) - dt.timedelta(seconds=5)
    result = await conn.execute(
        insert(tasks).values(
            space_id=1,
            name="AdHocScript",
            description=f"{age_days} days",
            arguments={},
            state="Executing" if finished is None else "Success",
            queue_time=started,
            start_time=started,
            completed_time=finished,
            last_updated_time=finished or now,
            has_warnings_or_errors=False,
            activities=[],
            output_variables={},
            log_count=lines,
        )
    )
    number = int(result.inserted_primary_key[0])
    await conn.execute(
        insert(task_log),
        [
            {
                "task_id": number,
                "seq": n,
                "activity": "step-1",
                "occurred": started.timestamp() + n,
                "category": "Info",
                "text": f"line {n}",
            }
            for n in range(lines)
        ],
    )
    return number


async def test_old_logs_are_pruned_once_per_cluster_and_say_why(store: Store) -> None:
    async with store.transaction() as conn:
        old = [await _task(conn, days, 50) for days in (200, 120, 91)]
        recent = await _task(conn, 10, 50)
        running = await _task(conn, None, 50)
        tiny = await _task(conn, 300, 1)

    def purge(conn: Any) -> Any:
        return task_log_retention.prune_older_than(conn, 90)

    one = TaskLogRetention(store, "node-1", purge, batch=2)
    other = TaskLogRetention(store, "node-2", purge, batch=2)
    assert await other.tick() == 3  # whoever holds the lease prunes every old log, batch by batch
    assert await one.tick() == 0  # the other node holds the lease
    assert await other.tick() == 0  # a pruned log is pruned once

    async with store.transaction() as conn:
        for number in old:
            lines = await tasks_repo.read_logs(conn, number)
            assert [line.activity for line in lines] == ["step-1"]
            assert "log was removed 90 days after the task finished" in lines[0].text
            row = await tasks_repo.get(conn, number)
            assert row is not None and row["state"] == "Success" and row["log_count"] == 1
        for number in (recent, running):
            assert len(await tasks_repo.read_logs(conn, number)) == 50
        assert [line.text for line in await tasks_repo.read_logs(conn, tiny)] == ["line 0"]
        total = (await conn.execute(select(func.count()).select_from(task_log))).scalar_one()
    assert total == 3 + 50 + 50 + 1


def test_a_node_started_with_a_short_retention_prunes_old_logs(server_factory: Any) -> None:
    srv = server_factory()
    task = srv.client.post("/api/Spaces-1/tasks", json=script_task("echo kept for now; echo and this"))
    assert task.status_code == 201, task.text
    task_id = task.json()["Id"]
    follow(srv.client, task_id)
    assert "kept for now" in srv.client.get(f"/api/tasks/{task_id}/raw").text
    srv.stop()
    srv.env["ARGONAUT_TASK_LOG_RETENTION_DAYS"] = "0.00001"  # under a second
    srv.start()

    def pruned() -> bool:
        return "log was removed" in srv.client.get(f"/api/tasks/{task_id}/raw").text

    eventually("the old log to be pruned", pruned)
    raw = srv.client.get(f"/api/tasks/{task_id}/raw").text
    assert "kept for now" not in raw
    assert srv.client.get(f"/api/tasks/{task_id}").json()["State"] == "Success"  # the task itself stays
