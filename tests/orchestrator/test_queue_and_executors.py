"""The task queue and the AdHocScript executor in-process, over a real store and a fake dispatcher.

These pin the rules of a script's life that no real worker should be needed to show: a task's outcome
is its script's, a cancel reaches the script, a stopping node hands over only what can be followed,
and a node that starts again follows what was handed over to its real end, with no line twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_dispatcher import FakeDispatcher, FakeScript

from argonaut.api import task_logs
from argonaut.domain.scripts import BuiltInTarget, ScriptHandle, ScriptJob, ScriptKind
from argonaut.domain.tasks import IllegalTransition, TaskState, TaskType
from argonaut.orchestrator.action_runner import ActionRunner
from argonaut.orchestrator.adhoc import AdHocScripts
from argonaut.orchestrator.events import TaskEvents
from argonaut.orchestrator.health import HealthChecks, WorkerHealth
from argonaut.orchestrator.process_run import Tools
from argonaut.orchestrator.queue import Executor, TaskQueue, TaskRun
from argonaut.store import Store, script_runs_repo, tasks_repo

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


@dataclass
class Node:
    """One in-process "server node": a queue over the shared store, driving the shared fake."""

    queue: TaskQueue
    store: Store
    events: TaskEvents

    async def submit(self, body: str, **arguments: object) -> int:
        args = {"ScriptBody": body, "Syntax": "Bash", "TargetType": "OctopusServer", **arguments}
        async with self.store.transaction() as conn:
            row = await tasks_repo.create_task(conn, 1, TaskType.AD_HOC_SCRIPT.value, "test", args)
        self.queue.wake()
        return int(row["id"])

    async def task(self, task_id: int) -> dict[str, object]:
        async with self.store.transaction() as conn:
            row = await tasks_repo.get(conn, task_id)
        assert row is not None
        return dict(row)

    async def finished(self, task_id: int) -> dict[str, object]:
        for _ in range(500):
            row = await self.task(task_id)
            if TaskState(str(row["state"])).is_completed:
                return row
            await asyncio.sleep(0.01)
        raise AssertionError(f"task {task_id} did not finish: {row['state']}")

    async def lines(self, task_id: int) -> list[str]:
        async with self.store.transaction() as conn:
            return [r.text for r in await tasks_repo.read_logs(conn, task_id)]


@pytest.fixture
async def nodes(store: Store, tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    started: list[TaskQueue] = []

    async def start(dispatcher: FakeDispatcher, cap: int = 5) -> Node:
        health = WorkerHealth(store, dispatcher, "1.0.0")
        runner = ActionRunner(store, dispatcher, tmp_path / "artifacts", lambda value: value)
        tools = Tools(store, runner, tmp_path / "artifacts", dispatcher_handle=dispatcher.handle)
        executors: dict[str, Executor] = {
            TaskType.AD_HOC_SCRIPT.value: AdHocScripts(tools, dispatcher, health, True),
            TaskType.HEALTH.value: HealthChecks(health, tools),
        }
        events = TaskEvents()
        queue = TaskQueue(store, events, executors, dispatcher, "test-node", cap, flush_interval_s=0.01)
        await queue.start()
        started.append(queue)
        return Node(queue, store, events)

    yield start
    for queue in started:
        await queue.stop(0)


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_a_task_ends_with_its_scripts_real_outcome(nodes: Callable[..., object]) -> None:
    fake = FakeDispatcher()
    node: Node = await nodes(fake)  # type: ignore[operator]
    ok = await node.submit("auto:0")
    failed = await node.submit("auto:3")
    assert (await node.finished(ok))["state"] == "Success"
    bad = await node.finished(failed)
    assert bad["state"] == "Failed" and "exited with code 3" in str(bad["error_message"])
    assert "running auto:3" in await node.lines(failed)
    # Each script's worker was told to forget it, once its outcome was stored.
    await until(lambda: len(fake.released) == 2, "both scripts released")


async def test_the_task_cap_holds(nodes: Callable[..., object]) -> None:
    fake = FakeDispatcher()
    node: Node = await nodes(fake, cap=2)  # type: ignore[operator]
    ids = [await node.submit(f"held {n}") for n in range(5)]
    await until(lambda: len(fake.scripts) == 2, "two scripts started")
    await asyncio.sleep(0.05)
    assert len(fake.scripts) == 2  # the other three wait for a slot
    for n in range(5):
        await until(lambda n=n: bool(fake.by_body(f"held {n}")), f"script {n} started")  # type: ignore[misc]
        fake.by_body(f"held {n}")[0].end(0)
    assert [(await node.finished(t))["state"] for t in ids] == ["Success"] * 5
    assert fake.most_running == 2


async def test_a_follower_of_a_queued_task_waits_on_its_watch_not_on_the_store(
    nodes: Callable[..., object], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of tasks waits for the cap with a client following each. With one node per database (SQLite)
    every change to a queued task reaches its follower through the watch, so the follower never reads the
    task again (the route read it after watching) nor polls; where other nodes may run it (PostgreSQL) it
    polls the store."""
    fake = FakeDispatcher()
    node: Node = await nodes(fake, cap=1)  # type: ignore[operator]
    await node.submit("holds the slot")
    await until(lambda: bool(fake.by_body("holds the slot")), "the first task started")
    waiting = await node.submit("waits")
    reads: list[int] = []
    real_get = tasks_repo.get

    async def counted_get(conn: Any, task_id: int) -> Any:
        reads.append(task_id)
        return await real_get(conn, task_id)

    watch = node.events.watch(waiting)  # as the stream's route does, before it reads the task
    row = await node.task(waiting)
    monkeypatch.setattr(tasks_repo, "get", counted_get)
    svc = SimpleNamespace(store=node.store, queue=node.queue, events=node.events, log_turns=asyncio.Lock())

    async def follow() -> list[dict[str, Any]]:
        chunks = [chunk async for chunk in task_logs.follow(svc, row, 0, watch)]  # type: ignore[arg-type]
        return [json.loads(line) for line in b"".join(chunks).splitlines()]

    following = asyncio.ensure_future(follow())
    await asyncio.sleep(4 * task_logs.ELSEWHERE_POLL_S)
    assert not following.done()
    polls = reads.count(waiting)
    fake.by_body("holds the slot")[0].end(0)
    await until(lambda: bool(fake.by_body("waits")), "the waiting task started")
    fake.by_body("waits")[0].say("hello from the queued task")
    fake.by_body("waits")[0].end(0)
    seen = await asyncio.wait_for(following, 30)
    assert [e["MessageText"] for e in seen if e["Type"] == "Log" and "hello" in e["MessageText"]] == [
        "hello from the queued task"
    ]
    assert seen[-1]["Type"] == "Task" and seen[-1]["Task"]["State"] == "Success"
    if store_url.startswith("sqlite"):
        assert polls == reads.count(waiting) == 0  # the route read it; the end came by the watch
    else:
        assert polls >= 3  # another node may claim it unseen: the store says when


async def test_a_follower_of_a_task_that_ends_as_it_arrives_misses_no_line(
    nodes: Callable[..., object],
) -> None:
    """The stream's route takes the row the task was claimed with (no read) and then watches: a line
    printed before the watch, with the task ending before the follower's snapshot, is only in the store."""
    fake = FakeDispatcher()
    node: Node = await nodes(fake)  # type: ignore[operator]
    task_id = await node.submit("ends soon")
    await until(lambda: bool(fake.by_body("ends soon")), "started")
    script = fake.by_body("ends soon")[0]
    script.say("before anyone watched")
    await until(lambda: node.queue.live_log(task_id) is not None, "running")
    await asyncio.sleep(0.1)  # the line reaches the task's log, unwatched
    watch = node.events.watch(task_id)
    claimed = node.queue.running_row(task_id)
    assert claimed is not None and claimed["state"] == "Executing"
    script.say("after the watch")
    script.end(0)
    await node.finished(task_id)
    svc = SimpleNamespace(store=node.store, queue=node.queue, events=node.events, log_turns=asyncio.Lock())
    chunks = [chunk async for chunk in task_logs.follow(svc, claimed, 0, watch)]  # type: ignore[arg-type]
    seen = [json.loads(line) for line in b"".join(chunks).splitlines()]
    said = [e["MessageText"] for e in seen if e["Type"] == "Log" and e["MessageText"] in script.lines]
    assert said == ["before anyone watched", "after the watch"]
    assert seen[-1]["Type"] == "Task" and seen[-1]["Task"]["State"] == "Success"


async def test_only_a_slot_given_up_or_taken_back_wakes_the_claim_loop() -> None:
    """On a shared database every wake is a claim statement: a script's end, with the task's slot held
    throughout, must not make one (it did, once per script, on PostgreSQL)."""
    run = TaskRun(row={}, log=None, root_activity="root")  # type: ignore[arg-type]
    told: list[bool] = []
    run.on_wait_change = lambda: told.append(run.holds_slot)
    with run.working():
        pass
    assert told == []
    async with run.waiting():  # waiting for a person: the slot is free meanwhile
        assert told == [False]
        with run.working():  # a script of the task runs meanwhile
            pass
    assert told == [False, True]


async def test_cancel_stops_the_script_through_its_handle(nodes: Callable[..., object]) -> None:
    fake = FakeDispatcher()
    node: Node = await nodes(fake)  # type: ignore[operator]
    task_id = await node.submit("long")
    await until(lambda: bool(fake.by_body("long")), "started")
    assert await node.queue.cancel(task_id) is TaskState.CANCELLING
    final = await node.finished(task_id)
    assert final["state"] == "Canceled"
    assert fake.by_body("long")[0].cancelled


async def test_a_stopping_node_hands_over_resumable_scripts_and_the_next_follows_them_to_their_end(
    nodes: Callable[..., object],
) -> None:
    fake = FakeDispatcher(resumable=True)
    first: Node = await nodes(fake)  # type: ignore[operator]
    task_id = await first.submit("long")
    await until(lambda: bool(fake.by_body("long")), "started")
    script = fake.by_body("long")[0]
    script.say("one", "two")
    await until(lambda: script.lines == ["one", "two"], "lines said")
    await first.queue.stop(0)
    assert (await first.task(task_id))["state"] == "Executing"  # handed over, not failed
    assert not script.cancelled and first.queue.handed_over == 1

    script.say("three")  # the script goes on while no node watches it
    second: Node = await nodes(fake)  # type: ignore[operator]
    assert fake.pruned_to == [script.handle.ticket]  # the next node keeps what it will follow
    script.say("four")
    script.end(3)
    final = await second.finished(task_id)
    assert final["state"] == "Failed" and "exited with code 3" in str(final["error_message"])
    said = [line for line in await second.lines(task_id) if line in ("one", "two", "three", "four")]
    assert said == ["one", "two", "three", "four"]  # every line, exactly once
    assert fake.start_calls == 1  # never asked to start twice


async def test_a_stopping_node_stops_scripts_it_cannot_hand_over(nodes: Callable[..., object]) -> None:
    fake = FakeDispatcher(resumable=False)
    node: Node = await nodes(fake)  # type: ignore[operator]
    task_id = await node.submit("long")
    await until(lambda: bool(fake.by_body("long")), "started")
    await node.queue.stop(0)
    final = await node.task(task_id)
    assert final["state"] == "Failed" and "shut down" in str(final["error_message"])
    assert fake.by_body("long")[0].cancelled


async def _orphan(store: Store, kind: ScriptKind, resumable: bool, started: bool) -> tuple[int, ScriptHandle]:
    """The state a killed node leaves: a task Executing with one recorded script, as its executor wrote it."""
    args = {"ScriptBody": "orphan", "Syntax": "Bash", "TargetType": "OctopusServer"}
    handle = ScriptHandle(kind, "ticket-orphan", BuiltInTarget(), resumable, node="test-node")
    async with store.transaction() as conn:
        row = await tasks_repo.create_task(conn, 1, TaskType.AD_HOC_SCRIPT.value, "orphan", args)
        task_id = int(row["id"])
        await tasks_repo.claim_next(conn, "test-node", 1)  # the node that starts again
        root, script = f"ServerTasks-{task_id}_1", f"ServerTasks-{task_id}_2"
        activities = [
            {
                "Id": root,
                "Name": "orphan",
                "ParentId": None,
                "Started": None,
                "Ended": None,
                "Status": "Running",
            },
            {
                "Id": script,
                "Name": "Run script",
                "ParentId": root,
                "Started": None,
                "Ended": None,
                "Status": "Running",
            },
        ]
        await tasks_repo.save_activities(conn, task_id, activities)
        await script_runs_repo.record(conn, task_id, script, handle, {"Label": "builtin"})
        if started:
            await script_runs_repo.mark_started(conn, handle.ticket, 1)
    return task_id, handle


async def test_after_a_crash_a_script_that_cannot_be_followed_fails_the_task_honestly(
    store: Store, nodes: Callable[..., object]
) -> None:
    fake = FakeDispatcher()
    task_id, handle = await _orphan(store, ScriptKind.SSH, resumable=False, started=True)
    node: Node = await nodes(fake)  # type: ignore[operator]
    final = await node.task(task_id)
    assert final["state"] == "Failed"
    assert "cannot be followed after a restart, so its outcome is unknown" in str(final["error_message"])
    await until(lambda: handle.ticket in fake.released, "the lost script was told to stop and forget")


async def test_after_a_crash_a_planned_script_that_never_started_is_started_once(
    store: Store, nodes: Callable[..., object]
) -> None:
    fake = FakeDispatcher()
    task_id, handle = await _orphan(store, ScriptKind.AGENT, resumable=True, started=False)
    node: Node = await nodes(fake)  # type: ignore[operator]
    await until(lambda: handle.ticket in fake.scripts, "started after the restart")
    fake.scripts[handle.ticket].say("hello")
    fake.scripts[handle.ticket].end(0)
    assert (await node.finished(task_id))["state"] == "Success"
    assert fake.start_calls == 1


async def test_after_a_crash_a_started_script_is_followed_from_its_cursor(
    store: Store, nodes: Callable[..., object]
) -> None:
    fake = FakeDispatcher()
    task_id, handle = await _orphan(store, ScriptKind.AGENT, resumable=True, started=True)
    script = fake.scripts[handle.ticket] = FakeScript(handle, ScriptJob(task_id, "orphan", "Bash"))
    script.say("stored before the crash", "said after")  # the cursor (1) says the first is stored
    script.end(0)
    node: Node = await nodes(fake)  # type: ignore[operator]
    assert (await node.finished(task_id))["state"] == "Success"
    lines = await node.lines(task_id)
    assert "said after" in lines and "stored before the crash" not in lines
    assert fake.start_calls == 0  # followed, never started again


async def test_every_state_change_obeys_the_domain_rule(store: Store) -> None:
    async with store.transaction() as conn:
        row = await tasks_repo.create_task(conn, 1, TaskType.AD_HOC_SCRIPT.value, "t", {})
        with pytest.raises(IllegalTransition):
            await tasks_repo.set_state(
                conn, int(row["id"]), TaskState.EXECUTING, expected=[TaskState.SUCCESS]
            )


async def test_lines_the_store_refuses_end_their_task_failed_and_hold_no_other_task_back(
    nodes: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    real, real_finish = tasks_repo.append_logs, tasks_repo.finish

    def refuse(rows: list[object]) -> None:
        if any(getattr(row, "text", "") == "poison" for row in rows):
            raise ValueError("the store refused a line")

    async def refusing(conn: object, task_id: int, rows: list[object], count_too: bool = True) -> None:
        refuse(rows)
        await real(conn, task_id, rows, count_too)  # type: ignore[arg-type]

    async def refusing_at_the_end(conn: object, task_id: int, rows: list[object], **values: Any) -> object:
        refuse(rows)  # on PostgreSQL the last lines go in the finishing statement, not append_logs
        return await real_finish(conn, task_id, rows, **values)  # type: ignore[arg-type]

    monkeypatch.setattr(tasks_repo, "append_logs", refusing)
    monkeypatch.setattr(tasks_repo, "finish", refusing_at_the_end)
    fake = FakeDispatcher()
    node: Node = await nodes(fake)  # type: ignore[operator]
    bad, good = await node.submit("bad"), await node.submit("good")
    await until(lambda: bool(fake.by_body("bad")) and bool(fake.by_body("good")), "both started")
    fake.by_body("bad")[0].say("poison")
    fake.by_body("good")[0].say("fine")
    for _ in range(500):  # the good task's line gets through while the bad one's is refused
        if "fine" in await node.lines(good):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the good task's line was held back")
    fake.by_body("bad")[0].end(0)
    fake.by_body("good")[0].end(0)
    ended = await node.finished(bad)
    assert ended["state"] == "Failed" and "refused" in str(ended["error_message"])
    assert (await node.finished(good))["state"] == "Success"


async def test_a_slot_coming_free_claims_only_when_work_may_be_queued(
    nodes: Callable[..., object], store: Store
) -> None:
    """On SQLite every task is queued through this process's wake(), so an ended task's free slot costs
    no claim statement once the queue was found empty; other nodes may queue work on PostgreSQL, so
    there every free slot still looks."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    claims: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "UPDATE tasks SET state" in statement and "start_time=" in statement:  # a claim starts tasks
            claims.append(statement)

    fake = FakeDispatcher()
    node: Node = await nodes(fake)  # type: ignore[operator]
    await asyncio.sleep(0.05)  # the queue's first look at start
    event.listen(Engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            task = await node.submit("auto:0")
            assert (await node.finished(task))["state"] == "Success"
            await asyncio.sleep(0.02)  # the ended task's slot is free again
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    if store.is_sqlite:
        assert len(claims) == 5  # one per submitted task, none per freed slot
    else:
        assert len(claims) >= 9  # each freed slot looked for work queued elsewhere
