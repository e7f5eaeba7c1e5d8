"""Health checks store their results together (``orchestrator.health.HealthWrites``): the results that
arrive while one transaction is written go in the next one, each check still waits for its own, and
a machine's connection history still gets exactly one entry per change of health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from sqlalchemy import select

from argonaut.domain.health import HealthReport
from argonaut.domain.policies import default_document
from argonaut.domain.scripts import Target
from argonaut.domain.workers import HealthStatus
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.orchestrator.health import WorkerHealth
from argonaut.store import Store, connection_history_repo, workers_repo
from argonaut.store.connection import Conn
from argonaut.store.tables import machine_policies

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

MACHINES = 30


class Answers:
    """A dispatcher whose health checks answer whatever status the test sets."""

    def __init__(self) -> None:
        self.status = HealthStatus.HEALTHY

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport:
        await asyncio.sleep(0)
        return HealthReport(self.status, f"it is {self.status.value}", "1.0.0")


async def add_workers(store: Store, count: int) -> list[Any]:
    async with store.transaction() as conn:
        policy = (await conn.execute(select(machine_policies.c.id).limit(1))).scalar_one()
        for n in range(count):
            endpoint = {
                "CommunicationStyle": "TentaclePassive",
                "Uri": f"https://m{n}:10933/",
                "Thumbprint": "A" * 40,
            }
            values = {"name": f"m{n}", "endpoint": endpoint, "machine_policy_id": policy}
            await workers_repo.create_worker(conn, 1, values, [], "test")
        return list(await workers_repo.all_in_space(conn, 1))


def count_transactions(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counted = [0]
    original = store.transaction

    @asynccontextmanager
    async def transaction() -> AsyncIterator[Conn]:
        counted[0] += 1
        async with original() as conn:
            yield conn

    monkeypatch.setattr(store, "transaction", transaction)
    return counted


async def check_all(health: WorkerHealth, rows: list[Any]) -> list[HealthReport]:
    policy = default_document()
    return await asyncio.gather(*(health.check(1, row, policy, lambda c, t: None) for row in rows))


async def statuses(store: Store) -> set[str]:
    async with store.transaction() as conn:
        return {str(row["health_status"]) for row in await workers_repo.all_in_space(conn, 1)}


async def history_lengths(store: Store, rows: list[Any]) -> set[int]:
    async with store.transaction() as conn:
        return {
            len(
                await connection_history_repo.history(
                    conn, 1, workers_repo.machine_id(int(r["id"]), "Worker")
                )
            )
            for r in rows
        }


async def test_results_arriving_together_share_a_transaction_and_each_change_is_recorded_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = await add_workers(store, MACHINES)
    answers = Answers()
    health = WorkerHealth(store, cast(Dispatcher, answers), "1.0.0")
    transactions = count_transactions(store, monkeypatch)

    reports = await check_all(health, rows)

    assert {r.status for r in reports} == {HealthStatus.HEALTHY}
    assert transactions[0] < MACHINES  # grouped: not one per check
    assert await statuses(store) == {"Healthy"}
    assert await history_lengths(store, rows) == {1}  # Unknown -> Healthy, once each

    await check_all(health, rows)  # nothing changed: no new history
    assert await history_lengths(store, rows) == {1}

    answers.status = HealthStatus.UNAVAILABLE
    await check_all(health, rows)
    assert await statuses(store) == {"Unavailable"}
    assert await history_lengths(store, rows) == {2}


async def test_a_lone_check_is_stored_before_it_returns(store: Store) -> None:
    rows = await add_workers(store, 1)
    health = WorkerHealth(store, cast(Dispatcher, Answers()), "1.0.0")
    await check_all(health, rows)
    async with store.transaction() as conn:
        row = await workers_repo.machine_row(conn, 1, int(rows[0]["id"]))
    assert row is not None and row["health_status"] == "Healthy" and row["details"]["LastChecked"]


class Held(Answers):
    """A check that answers only when the test lets it: the machine can be edited meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def check_health(self, target: Target, timeout_s: float) -> HealthReport:
        self.asked.set()
        await self.answer.wait()
        return await super().check_health(target, timeout_s)


async def test_a_check_of_an_endpoint_since_replaced_does_not_store_its_result(store: Store) -> None:
    """A check answers Healthy for the certificate it asked about; meanwhile the worker was re-registered
    with another. That answer is old news: the worker stays Unknown, for the check its change asks for."""
    rows = await add_workers(store, 1)
    held = Held()
    health = WorkerHealth(store, cast(Dispatcher, held), "1.0.0")
    checking = asyncio.ensure_future(check_all(health, rows))
    await held.asked.wait()
    async with store.transaction() as conn:
        endpoint = {**rows[0]["endpoint"], "Thumbprint": "B" * 40}
        await workers_repo.update_worker(conn, 1, int(rows[0]["id"]), {"endpoint": endpoint}, None, "test")
    held.answer.set()
    (report,) = await checking
    assert report.status is HealthStatus.HEALTHY  # what the check itself saw
    assert await statuses(store) == {"Unknown"}  # but not what the store says of the new endpoint
