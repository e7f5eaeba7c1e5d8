"""The statements every task runs skip SQLAlchemy's per-execution work on SQLite (store/hot.py), and
answer, store and fail exactly as through SQLAlchemy."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError

from argonaut.domain.scripts import BuiltInTarget, ScriptHandle, ScriptKind
from argonaut.domain.tasks import TaskState
from argonaut.store import Store, events_repo, hot, script_runs_repo, tasks_repo
from argonaut.store.database import is_unique_violation
from argonaut.store.tables import events, tasks
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


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[Store]:
    """A store on ``url``, opened (its schema made current) and closed again."""
    store = Store(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def a_task_lifetime(url: str, executed: list[str]) -> tuple[list[Any], int]:
    """What the repositories answer over one task's life, from queuing to completion, and how many
    statements went through SQLAlchemy meanwhile."""
    answers: list[Any] = []
    before = len([s for s in executed if not s.startswith("hot: ")])
    async with opened(url) as store:
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
        runs = [
            ("A", ScriptHandle(ScriptKind.BUILT_IN, f"ticket-{n}", BuiltInTarget(), resumable=True), step)
            for n, step in enumerate([{"Label": "one", "Variables": {"v": "1"}}, {}, {"Label": "three"}])
        ]
        async with store.single() as conn:  # as a step records its run: on PostgreSQL one statement
            await tasks_repo.record_runs(conn, task_id, runs[:1], [{"Id": "A", "Children": []}], {"Step": 1})
        async with store.transaction() as conn:  # as a plan of several runs records them, in order
            await tasks_repo.record_runs(conn, task_id, runs[1:], [{"Id": "A", "Children": []}], {"Step": 1})
        async with store.transaction() as conn:
            recorded = await script_runs_repo.for_task(conn, task_id)
            answers.append([(r.activity, r.ticket, dict(r.step), r.started, r.finished) for r in recorded])
            answers.append(dict(await tasks_repo.get(conn, task_id) or {}))
        async with store.single() as conn:  # as the queue ends a task: on PostgreSQL one statement
            done = await tasks_repo.finish(
                conn,
                task_id,
                [LogRow(2, "A", 1.7e9, "Info", "last ‘line’"), LogRow(3, "B", 1.7e9, "Verbose", "")],
                release_leases=True,
                forget_scripts=True,
                state=TaskState.SUCCESS,
                error_message=None,
                activities=[{"Id": "A"}],
                output_variables=[{"Name": "out", "Value": None}],
                has_warnings_or_errors=True,
                log_count=4,
            )
            answers.append(dict(done) if done else None)
        async with store.single() as conn:
            again = await tasks_repo.finish(
                conn,
                task_id,
                [LogRow(4, "A", 1.7e9, "Info", "after the end")],
                release_leases=False,
                forget_scripts=False,
                state=TaskState.FAILED,
                error_message="again",
                activities=[],
                output_variables=[],
                has_warnings_or_errors=False,
                log_count=5,
            )
            answers.append(again)
        async with store.transaction() as conn:
            answers.append([run.activity for run in await script_runs_repo.for_task(conn, task_id)])
            answers.append(dict(await tasks_repo.get(conn, task_id) or {}))
            answers.append(await tasks_repo.read_logs(conn, task_id))
        through_sqlalchemy = len([s for s in executed if not s.startswith("hot: ")]) - before
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
    fast, fast_through_sqlalchemy = await a_task_lifetime(sqlite_url(tmp_path, "fast"), statements_executed)
    monkeypatch.setattr(hot, "is_hot", lambda statement: False)
    slow, slow_through_sqlalchemy = await a_task_lifetime(sqlite_url(tmp_path, "slow"), statements_executed)
    assert without_times(fast) == without_times(slow)
    assert fast[0]["description"] == "nul\ufffdhere"  # the text columns' own processing still applies
    assert fast[0]["arguments"]["Nested"] == [1, None, {"a": True}]
    assert isinstance(fast[-2]["completed_time"], dt.datetime)
    assert fast[2][0] == ("A", "ticket-0", {"Label": "one", "Variables": {"v": "1"}}, False, False)
    assert fast[3]["process_state"] == {"Step": 1} and fast[3]["activities"] == [{"Id": "A", "Children": []}]
    assert fast[5] is None  # a finished task does not complete twice
    # The hot path really ran: the seventeen hot statements of the lifetime (queue, claim, lines, line
    # count, a script run and progress, two script runs and progress, read; lines, leases, runs and state
    # of the finish; lines and state of the second; read) skipped SQLAlchemy; the script-run and log
    # reads, not hot, did not.
    assert slow_through_sqlalchemy - fast_through_sqlalchemy == 17
    # ... and were still announced to whoever listens for statements (tests and traces count on it).
    assert sum(1 for s in statements_executed if s.startswith("hot: UPDATE tasks SET state")) == 3


async def as_admin(url: str, sql: str, *args: Any) -> None:
    """Run ``sql`` on the database of ``url`` over a connection of its own, as another node would."""
    admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(sql, *args)
    finally:
        await admin.close()


def sqlite_url(folder: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{folder / name}.db"


async def test_postgresql_records_runs_and_ends_a_task_in_one_statement_each_with_the_same_outcome(
    tmp_path: Path, postgres: Any, statements_executed: list[str]
) -> None:
    """The recording of a task's runs and its finish are one statement each on PostgreSQL (CTEs), and a
    lifetime there
    answers and stores just what it does on SQLite: the lines, the runs forgotten, the final state, and
    for a task already ended None, its late line stored all the same, as the transaction did."""
    on_sqlite, _ = await a_task_lifetime(sqlite_url(tmp_path, "lite"), [])
    on_postgres, _ = await a_task_lifetime(postgres.create_database("finish"), statements_executed)
    assert without_times(on_postgres) == without_times(on_sqlite)
    assert [run[1] for run in on_postgres[2]] == ["ticket-0", "ticket-1", "ticket-2"]  # in their order
    assert on_postgres[3]["process_state"] == {"Step": 1}
    assert on_postgres[5] is None and on_postgres[6] == []  # ended once; its script run forgotten
    # The runs and the activities were one statement too (the runs in a CTE of the update).
    # ... and, as every statement of a task's path, ran straight on asyncpg (announced as hot).
    recorded = [s for s in statements_executed if s.startswith("hot: WITH recorded_run AS")]
    assert len(recorded) == 1 and "INSERT INTO script_runs" in recorded[0]
    assert [row.text for row in on_postgres[-1]] == ["hello", "x", "last ‘line’", "", "after the end"]
    finishes = [s for s in statements_executed if s.startswith("hot: WITH stored_lines AS")]
    assert len(finishes) == 2 and "DELETE FROM script_runs" in finishes[0]


@pytest.mark.parametrize("store_kind", ["SQLite", "PostgreSQL"])
async def test_a_task_is_queued_with_its_event_or_not_at_all(
    tmp_path: Path, postgres: Any, statements_executed: list[str], store_kind: str
) -> None:
    """Queuing with an event writes both (on PostgreSQL in one statement, the event made before the
    insert from the id drawn first), and an event the store refuses leaves no task behind."""
    url = sqlite_url(tmp_path, "q") if store_kind == "SQLite" else postgres.create_database("queue")

    def queued_event(category: str | None) -> Any:
        def make(row: Any) -> dict[str, Any]:
            names = [f"ServerTasks-{row['id']}"]
            return events_repo.event_values(
                category, row["description"], username="u", related_document_ids=names
            )

        return make

    async with opened(url) as store:
        async with store.single() as conn:
            first = await tasks_repo.create_task(
                conn, None, "AdHocScript", "first", {"a": [1]}, queued_event("TaskQueued")
            )
        with pytest.raises(DBAPIError):  # an event with no category: refused
            async with store.single() as conn:
                await tasks_repo.create_task(conn, None, "AdHocScript", "second", {}, queued_event(None))
        async with store.single() as conn:
            third = await tasks_repo.create_task(
                conn, None, "AdHocScript", "third", {}, queued_event("TaskQueued")
            )
        async with store.transaction() as conn:
            stored_tasks = (await conn.execute(select(tasks.c.id, tasks.c.description))).all()
            stored_events = (
                await conn.execute(select(events.c.message, events.c.related_document_ids))
            ).all()
    assert first["arguments"] == {"a": [1]} and first["state"] == "Queued" and first["start_time"] is None
    assert [description for _, description in stored_tasks] == ["first", "third"]
    assert [tuple(e) for e in stored_events] == [
        ("first", [f"ServerTasks-{first['id']}"]),
        ("third", [f"ServerTasks-{third['id']}"]),
    ]
    if store_kind == "PostgreSQL":
        assert len([s for s in statements_executed if s.startswith("hot: WITH task_event AS")]) == 3


@pytest.mark.parametrize("store_kind", ["SQLite", "PostgreSQL"])
async def test_a_unique_violation_on_a_hot_statement_is_sqlalchemys_integrity_error(
    tmp_path: Path, postgres: Any, store_kind: str
) -> None:
    url = sqlite_url(tmp_path, "x") if store_kind == "SQLite" else postgres.create_database("unique")
    handle = ScriptHandle(ScriptKind.BUILT_IN, "ticket-1", BuiltInTarget(), resumable=True)
    other = ScriptHandle(ScriptKind.BUILT_IN, "ticket-2", BuiltInTarget(), resumable=True)
    async with opened(url) as store:
        async with store.transaction() as conn:
            task = await tasks_repo.create_task(conn, None, "AdHocScript", "t", {})
            await script_runs_repo.record(conn, int(task["id"]), "A", handle)
        with pytest.raises(IntegrityError) as raised:
            async with store.transaction() as conn:
                await script_runs_repo.record(conn, int(task["id"]), "B", other)
                await script_runs_repo.record(conn, int(task["id"]), "C", handle)
        assert is_unique_violation(raised.value)
        assert "ticket-1" not in str(raised.value)  # the refused row's values stay out of the message
        async with store.transaction() as conn:  # the failed transaction was rolled back, nothing half-done
            assert [run.activity for run in await script_runs_repo.for_task(conn, int(task["id"]))] == ["A"]


async def test_a_postgresql_connection_lost_under_a_hot_statement_is_not_handed_out_again(
    postgres: Any,
) -> None:
    """The server ending a pooled connection fails the statement that finds it out, as through
    SQLAlchemy, and the pool drops that connection: the next statement gets a working one."""
    url = postgres.create_database("lost")
    async with opened(url) as store:
        async with store.single() as conn:
            created = await tasks_repo.create_task(conn, None, "AdHocScript", "t", {})
            backend = (await conn.execute(select(func.pg_backend_pid()))).scalar_one()
        await as_admin(url, "SELECT pg_terminate_backend($1)", backend)
        with pytest.raises(DBAPIError) as raised:
            async with store.single() as conn:
                await tasks_repo.get(conn, int(created["id"]))
        assert raised.value.connection_invalidated
        async with store.single() as conn:
            again = await tasks_repo.get(conn, int(created["id"]))
        assert again is not None and again["description"] == "t"


async def test_a_schema_change_under_a_prepared_hot_statement_costs_one_failure_not_every_call(
    postgres: Any,
) -> None:
    """Another node's migration can change a column a prepared statement reads: that statement fails
    once, as through SQLAlchemy, and is prepared afresh for the next call."""
    url = postgres.create_database("schema")
    async with opened(url) as store:
        async with store.single() as conn:
            created = await tasks_repo.create_task(conn, None, "AdHocScript", "t", {})
            await tasks_repo.get(conn, int(created["id"]))
        await as_admin(url, "ALTER TABLE tasks ALTER COLUMN error_message TYPE varchar(5000)")
        outcomes = []
        for _ in range(3):
            try:
                async with store.single() as conn:
                    outcomes.append((await tasks_repo.get(conn, int(created["id"])) or {}).get("description"))
            except DBAPIError as exc:
                outcomes.append(type(exc).__name__)
    assert outcomes[-2:] == ["t", "t"], outcomes
    assert len([o for o in outcomes if o != "t"]) <= 1, outcomes


@pytest.mark.parametrize("store_kind", ["SQLite", "PostgreSQL"])
async def test_a_hot_statement_missing_a_parameter_is_refused_as_sqlalchemy_refuses_it(
    tmp_path: Path, postgres: Any, store_kind: str
) -> None:
    url = sqlite_url(tmp_path, "x") if store_kind == "SQLite" else postgres.create_database("missing")
    async with opened(url) as store:
        with pytest.raises(InvalidRequestError, match="task_id"):
            async with store.transaction() as conn:
                await conn.execute(tasks_repo._GET, {})
