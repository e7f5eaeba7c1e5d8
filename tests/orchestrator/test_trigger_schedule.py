"""The trigger schedule in-process, over a real store, with a clock the test sets and a ``fire`` that
records: a due time fires once even when two nodes act on it at once, a node back from downtime fires
a missed time once, and a trigger that cannot run moves on instead of failing every tick."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any, cast

import pytest
from sqlalchemy.engine import RowMapping

from argonaut.orchestrator.queue import TaskQueue
from argonaut.orchestrator.trigger_schedule import NotFired, TriggerSchedule
from argonaut.service import projects
from argonaut.store import Store, triggers_repo
from argonaut.store.connection import Conn
from argonaut.store.timeutil import as_utc

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

NOW = dt.datetime(2030, 1, 7, 8, 0, 0, 500_000, tzinfo=dt.UTC)
NOON_DAILY = {"FilterType": "CronExpressionSchedule", "CronExpression": "0 0 12 * * *", "Timezone": "UTC"}


class FakeQueue:
    def __init__(self, node: str) -> None:
        self.node = node
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


class Recorder:
    """A ``fire`` that records each (trigger, due time) and queues one task per firing."""

    def __init__(self, refuse: str | None = None) -> None:
        self.fired: list[tuple[int, dt.datetime]] = []
        self.refuse = refuse

    async def __call__(self, conn: Conn, trigger: RowMapping, due: dt.datetime) -> int:
        if self.refuse:
            raise NotFired(self.refuse)
        self.fired.append((int(trigger["id"]), due))
        return 1


async def add_trigger(store: Store, next_run: dt.datetime | None, disabled: bool = False) -> int:
    async with store.transaction() as conn:
        project = await projects.create_project(conn, 1, {"Name": f"ops {uuid.uuid4()}"}, "test")
        values: dict[str, Any] = {
            "name": "Noon",
            "description": None,
            "is_disabled": disabled,
            "filter": NOON_DAILY,
            "action": {
                "ActionType": "RunRunbook",
                "RunbookId": "Runbooks-1",
                "EnvironmentIds": ["Environments-1"],
            },
            "next_run": next_run,
        }
        return await triggers_repo.create(conn, 1, project, values, "test")


async def trigger(store: Store, trigger_id: int) -> RowMapping:
    async with store.transaction() as conn:
        row = await triggers_repo.get(conn, 1, trigger_id)
    assert row is not None
    return row


def schedule(store: Store, fire: Recorder, node: str = "alpha") -> tuple[TriggerSchedule, FakeQueue]:
    queue = FakeQueue(node)
    return TriggerSchedule(store, cast(TaskQueue, queue), fire, clock=lambda: NOW), queue


async def test_a_missed_due_time_fires_once_and_the_schedule_continues_from_now(store: Store) -> None:
    three_days_ago = dt.datetime(2030, 1, 4, 12, tzinfo=dt.UTC)
    tid = await add_trigger(store, three_days_ago)
    fire = Recorder()
    node, queue = schedule(store, fire)
    assert await node.tick() == 1
    assert fire.fired == [(tid, three_days_ago)] and queue.wakes == 1
    row = await trigger(store, tid)
    assert as_utc(row["next_run"]) == dt.datetime(2030, 1, 7, 12, tzinfo=dt.UTC)
    assert as_utc(row["last_run"]) == three_days_ago
    assert await node.tick() == 0 and len(fire.fired) == 1


async def test_two_nodes_acting_at_once_fire_a_due_time_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both think they hold the lease (as when it expires under a slow holder) and both read the same due
    times; the compare-and-set on ``next_run`` still lets only one of them fire each."""
    due = dt.datetime(2030, 1, 7, 7, tzinfo=dt.UTC)
    tids = [await add_trigger(store, due) for _ in range(5)]
    async with store.transaction() as conn:
        read_by_second = await triggers_repo.due(conn, NOW, 100)  # before the first fires anything
    fire = Recorder()
    first, _ = schedule(store, fire, "alpha")
    second, _ = schedule(store, fire, "alpha")
    assert await first.tick() == 5

    async def stale(conn: Conn, now: dt.datetime, limit: int) -> Sequence[RowMapping]:
        return read_by_second

    monkeypatch.setattr(triggers_repo, "due", stale)
    assert await second.tick() == 0
    assert sorted(fire.fired) == [(tid, due) for tid in tids]


async def test_only_the_lease_holder_fires(store: Store) -> None:
    tid = await add_trigger(store, dt.datetime(2030, 1, 7, 7, tzinfo=dt.UTC))
    fire = Recorder()
    holder, _ = schedule(store, fire, "alpha")
    other, _ = schedule(store, fire, "beta")
    assert await holder.tick() == 1
    async with store.transaction() as conn:
        await triggers_repo.update_trigger(
            conn, tid, {"next_run": dt.datetime(2030, 1, 7, 7, tzinfo=dt.UTC)}, "t"
        )
    assert await other.tick() == 0  # alpha's lease has not expired
    assert len(fire.fired) == 1


async def test_a_trigger_that_cannot_run_moves_on_with_a_warning(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    due = dt.datetime(2030, 1, 7, 7, tzinfo=dt.UTC)
    tid = await add_trigger(store, due)
    node, queue = schedule(store, Recorder(refuse="Runbook has no published snapshot"))
    with caplog.at_level(logging.WARNING, logger="argonaut.orchestrator.trigger_schedule"):
        assert await node.tick() == 0
    assert any("did not run" in r.message and "no published snapshot" in r.message for r in caplog.records)
    row = await trigger(store, tid)
    assert (
        as_utc(row["next_run"]) == dt.datetime(2030, 1, 7, 12, tzinfo=dt.UTC)
        and as_utc(row["last_run"]) == due
    )
    assert queue.wakes == 0


async def test_disabled_triggers_do_not_fire(store: Store) -> None:
    await add_trigger(store, dt.datetime(2030, 1, 7, 7, tzinfo=dt.UTC), disabled=True)
    await add_trigger(store, None)
    fire = Recorder()
    node, _ = schedule(store, fire)
    assert await node.tick() == 0 and fire.fired == []
