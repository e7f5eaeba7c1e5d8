"""SQLite transactions that end in the same turn of the event loop share one COMMIT
(``store/group_commit.py``), and each caller still sees what it saw with a COMMIT of its own: its work
is in the database file when its ``async with`` ends, its failure is its own, and a COMMIT that fails
is heard by every caller it would have committed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from argonaut.store import Store, tasks_repo
from argonaut.store.checkpoints import WalCheckpointer
from argonaut.store.group_commit import TransactionAbandoned


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'argonaut.db'}")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def stored_descriptions(store: Store) -> list[str]:
    """What another process reading the file sees: only committed work."""
    path = store.url.split("///", 1)[1]
    reader = sqlite3.connect(path)
    try:
        return [row[0] for row in reader.execute("SELECT description FROM tasks ORDER BY id")]
    finally:
        reader.close()


def count_commits(store: Store) -> list[int]:
    commits = [0]
    engine = store._sqlite  # the embedded engine: its commit event is each COMMIT issued
    assert engine is not None
    event.listen(engine, "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))
    return commits


async def add_task(store: Store, description: str) -> list[str]:
    async with store.transaction() as conn:
        await tasks_repo.create_task(conn, None, "AdHocScript", description, {})
    return stored_descriptions(store)  # right after the block, before anything else runs


async def test_transactions_ending_together_share_a_commit_and_each_is_stored_when_its_block_ends(
    store: Store,
) -> None:
    commits = count_commits(store)
    seen = await asyncio.gather(*(add_task(store, f"task {n}") for n in range(10)))
    for n, stored in enumerate(seen):
        assert f"task {n}" in stored, f"task {n} was not in the database file when its block ended"
    assert stored_descriptions(store) == [f"task {n}" for n in range(10)]
    assert 1 <= commits[0] < 10, f"10 transactions ending together took {commits[0]} commits"


async def test_a_lone_transaction_is_stored_when_its_block_ends(store: Store) -> None:
    assert await add_task(store, "alone") == ["alone"]
    assert await add_task(store, "and another") == ["alone", "and another"]


async def test_a_failing_transaction_rolls_back_alone(store: Store) -> None:
    async def failing() -> None:
        async with store.transaction() as conn:
            await tasks_repo.create_task(conn, None, "AdHocScript", "refused", {})
            raise ValueError("the caller changed its mind")

    results = await asyncio.gather(
        add_task(store, "first"), failing(), add_task(store, "last"), return_exceptions=True
    )
    assert isinstance(results[1], ValueError)
    assert stored_descriptions(store) == ["first", "last"]


async def test_a_commit_that_fails_is_heard_by_every_caller_in_it_and_the_store_goes_on(
    store: Store,
) -> None:
    async def breaks_the_commit() -> None:
        async with store.transaction() as conn:
            # A deferred foreign key is checked by COMMIT, not by the statement: the COMMIT fails.
            await conn.execute(text("PRAGMA defer_foreign_keys=ON"))
            await conn.execute(
                text(
                    "INSERT INTO task_log (task_id, seq, activity, occurred, category, text) "
                    "VALUES (999999, 0, 'a', 0, 'Info', 'no such task')"
                )
            )

    results = await asyncio.gather(
        add_task(store, "before"), breaks_the_commit(), add_task(store, "after"), return_exceptions=True
    )
    assert all(isinstance(r, IntegrityError) for r in results), results
    assert stored_descriptions(store) == []
    assert await add_task(store, "next") == ["next"]


async def test_when_the_database_abandons_the_transaction_the_others_hear_of_it(store: Store) -> None:
    async def abandoned() -> None:
        async with store.transaction() as conn:
            # What SQLite does by itself on a full disk or an I/O error: the whole transaction is gone.
            await conn.execute(text("ROLLBACK"))
            raise sqlite3.OperationalError("database or disk is full")

    results = await asyncio.gather(add_task(store, "before"), abandoned(), return_exceptions=True)
    assert isinstance(results[0], TransactionAbandoned), results
    assert isinstance(results[1], sqlite3.OperationalError)
    assert stored_descriptions(store) == []
    assert await add_task(store, "next") == ["next"]


async def test_groups_go_on_while_checkpoints_truncate_the_log(store: Store) -> None:
    """A TRUNCATE checkpoint (the log past 64 MB) holds the write lock while it waits for readers: a
    group that held a read snapshot across a turn of the loop and then wrote would wait for it on the
    loop's thread, the checkpoint waiting for that snapshot, until the busy timeout failed them both."""
    path = store.url.split("///", 1)[1]
    eager = WalCheckpointer(path, interval=0.001, limit_frames=0)  # a TRUNCATE after every write
    eager.start()
    try:

        async def read_then_write(n: int) -> None:
            async with store.transaction() as conn:
                await tasks_repo.get(conn, 1)
                await asyncio.sleep(0)  # the read snapshot is held across a turn of the loop
                await tasks_repo.create_task(conn, None, "AdHocScript", f"task {n}", {})

        async with asyncio.timeout(30):
            for round_ in range(20):
                await asyncio.gather(*(read_then_write(round_ * 5 + n) for n in range(5)))
    finally:
        eager.stop()
    assert len(stored_descriptions(store)) == 100
