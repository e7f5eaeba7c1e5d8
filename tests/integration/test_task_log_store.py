"""Reading a task log page by page, against a real store (SQLite and PostgreSQL): keyset pages, one
activity's lines, Verbose left out in the query, tails, and the size count."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from argonaut.store import Store, tasks_repo
from argonaut.store.tasks_repo import LogRow

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

# Lines 0..99: activity A on even numbers, B on odd; every fifth line Verbose.
ROWS = [
    LogRow(
        n, "A" if n % 2 == 0 else "B", 1_700_000_000 + n / 10, "Verbose" if n % 5 == 4 else "Info", f"l{n}"
    )
    for n in range(100)
]


@pytest.fixture
async def log(store_url: str) -> AsyncIterator[tuple[Store, int]]:
    store = Store(store_url)
    await store.open()
    async with store.transaction() as conn:
        task = await tasks_repo.create_task(conn, None, "AdHocScript", "log", {})
        await tasks_repo.append_logs(conn, int(task["id"]), ROWS)
    yield store, int(task["id"])
    await store.close()


async def read_all(store: Store, task_id: int, limit: int, **options: object) -> list[list[int]]:
    pages, since = [], 0
    while True:
        async with store.transaction() as conn:
            page = await tasks_repo.read_log_page(conn, task_id, since, limit, **options)  # type: ignore[arg-type]
        if page:
            pages.append([row.seq for row in page])
            since = page[-1].seq + 1
        if len(page) < limit:
            return pages


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, list(range(100))),
        ({"before": 37}, list(range(37))),
        ({"activity": "B"}, list(range(1, 100, 2))),
        ({"verbose": False}, [n for n in range(100) if n % 5 != 4]),
        ({"activity": "A", "verbose": False, "before": 50}, [n for n in range(0, 50, 2) if n % 5 != 4]),
    ],
)
async def test_pages_cover_the_log_once_in_order(
    log: tuple[Store, int], options: dict[str, object], expected: list[int]
) -> None:
    store, task_id = log
    pages = await read_all(store, task_id, 7, **options)
    assert [seq for page in pages for seq in page] == expected
    assert all(len(page) == 7 for page in pages[:-1])
    async with store.transaction() as conn:
        assert [r.seq for r in await tasks_repo.read_log_page(conn, task_id, 98, 7)] == [98, 99]
        assert await tasks_repo.read_log_page(conn, task_id, 100, 7) == []


@pytest.mark.parametrize(
    ("count", "options", "expected"),
    [
        (1, {}, 98),
        (3, {}, 94),
        (50, {}, 0),
        (51, {}, None),
        (3, {"verbose": False}, 92),  # 98, 96 and 92: 94 is Verbose
        (2, {"before": 90}, 86),
    ],
)
async def test_the_start_of_an_activitys_tail(
    log: tuple[Store, int], count: int, options: dict[str, object], expected: int | None
) -> None:
    store, task_id = log
    async with store.transaction() as conn:
        start = await tasks_repo.log_tail_start(conn, task_id, "A", count, **options)  # type: ignore[arg-type]
    assert start == expected


async def test_sizes_are_counted_a_page_at_a_time(log: tuple[Store, int]) -> None:
    store, task_id = log
    total, since, counted = 0, 0, 0
    while True:
        async with store.transaction() as conn:
            count, size, last = await tasks_repo.log_size_page(conn, task_id, since, 30)
        total, counted, since = total + size, counted + count, last + 1
        if count < 30:
            break
    assert (counted, total) == (100, sum(len(r.text) + 1 for r in ROWS))
    async with store.transaction() as conn:
        assert await tasks_repo.log_size_page(conn, task_id, 100, 30) == (0, 0, 99)
