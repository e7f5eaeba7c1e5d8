"""The statements every task runs skip SQLAlchemy's per-execution work on SQLite (store/hot.py), and
answer, store and fail exactly as through SQLAlchemy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from argonaut.domain.scripts import BuiltInTarget, ScriptHandle, ScriptKind
from argonaut.domain.tasks import TaskState
from argonaut.store import Store, hot, script_runs_repo, tasks_repo
from argonaut.store.database import is_unique_violation
from argonaut.store.tasks_repo import LogRow


@pytest.fixture
def statements_executed() -> Iterator[list[str]]:
    """Every statement that SQLAlchemy ran through its own execution while the test runs. Hot
    statements are announced to the same listeners without an execution context: those are kept as
    ``hot: <sql>``."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *_: Any) -> None:
        seen.append(statement if context is not None else f"hot: {statement}")

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


async def a_task_lifetime(path: Path, executed: list[str]) -> tuple[list[Any], int]:
    """What the repositories answer over one task's life, from queuing to completion, and how many
    statements went through SQLAlchemy meanwhile."""
    store = Store(f"sqlite+aiosqlite:///{path}")
    await store.open()
    answers: list[Any] = []
    before = len([s for s in executed if not s.startswith("hot: ")])
    try:
        async with store.transaction() as conn:
            created = await tasks_repo.create_task(
                conn,
                None,
                "AdHocScript",
                "nul\x00here",
                {"ScriptBody": "echo", "Nested": [1, None, {"a": True}]},
            )
            answers.append(dict(created))
            task_id = int(created["id"])
        async with store.transaction() as conn:
            answers.append([dict(row) for row in await tasks_repo.claim_next(conn, "node-a", 5)])
            await tasks_repo.append_logs(
                conn,
                task_id,
                [LogRow(0, "A", 1_700_000_000.5, "Info", "hello"), LogRow(1, "A", 1.7e9, "Error", "x")],
            )
            await tasks_repo.save_activities(conn, task_id, [{"Id": "A", "Children": []}], {"Step": 1})
            done = await tasks_repo.complete(
                conn,
                task_id,
                TaskState.SUCCESS,
                None,
                [{"Id": "A"}],
                [{"Name": "out", "Value": None}],
                True,
                2,
            )
            answers.append(dict(done) if done else None)
            answers.append(
                await tasks_repo.complete(conn, task_id, TaskState.FAILED, "again", [], [], False, 2)
            )
        async with store.transaction() as conn:
            answers.append(dict(await tasks_repo.get(conn, task_id) or {}))
            answers.append(await tasks_repo.read_logs(conn, task_id))
        through_sqlalchemy = len([s for s in executed if not s.startswith("hot: ")]) - before
    finally:
        await store.close()
    return answers, through_sqlalchemy


def without_times(value: Any) -> Any:
    """Answers of two runs differ only in their clocks: keep that a time was there, not which."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    if isinstance(value, dt.datetime):
        return "<datetime>"
    return value


async def test_hot_statements_answer_as_sqlalchemy_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements_executed: list[str]
) -> None:
    fast, fast_through_sqlalchemy = await a_task_lifetime(tmp_path / "fast.db", statements_executed)
    monkeypatch.setattr(hot, "is_hot", lambda statement: False)
    slow, slow_through_sqlalchemy = await a_task_lifetime(tmp_path / "slow.db", statements_executed)
    assert without_times(fast) == without_times(slow)
    assert fast[0]["description"] == "nul\ufffdhere"  # the text columns' own processing still applies
    assert fast[0]["arguments"]["Nested"] == [1, None, {"a": True}]
    assert isinstance(fast[-2]["completed_time"], dt.datetime)
    assert fast[3] is None  # a finished task does not complete twice
    # The hot path really ran: the eight hot statements of the lifetime (queue, claim, lines, line
    # count, progress, two completes, read) skipped SQLAlchemy; the log read, not hot, did not.
    assert slow_through_sqlalchemy - fast_through_sqlalchemy == 8
    # ... and were still announced to whoever listens for statements (tests and traces count on it).
    assert sum(1 for s in statements_executed if s.startswith("hot: UPDATE tasks SET state")) == 3


async def test_a_unique_violation_on_a_hot_statement_is_sqlalchemys_integrity_error(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    await store.open()
    handle = ScriptHandle(ScriptKind.BUILT_IN, "ticket-1", BuiltInTarget(), resumable=True)
    try:
        async with store.transaction() as conn:
            task = await tasks_repo.create_task(conn, None, "AdHocScript", "t", {})
            await script_runs_repo.record(conn, int(task["id"]), "A", handle)
        with pytest.raises(IntegrityError) as raised:
            async with store.transaction() as conn:
                await script_runs_repo.record(conn, int(task["id"]), "B", handle)
        assert is_unique_violation(raised.value)
        async with store.transaction() as conn:  # the failed transaction was rolled back, nothing half-done
            assert [run.activity for run in await script_runs_repo.for_task(conn, int(task["id"]))] == ["A"]
    finally:
        await store.close()


async def test_a_hot_statement_missing_a_parameter_is_refused_as_sqlalchemy_refuses_it(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    await store.open()
    try:
        with pytest.raises(InvalidRequestError, match="task_id"):
            async with store.transaction() as conn:
                await conn.execute(tasks_repo._GET, {})
    finally:
        await store.close()
