"""JSON columns are written by orjson (store/json_text.py), and what orjson refuses is still stored
as ``json.dumps`` stored it: a task's arguments come back exactly as they were given."""

from __future__ import annotations

from pathlib import Path

from argonaut.store import Store, tasks_repo


async def test_arguments_orjson_refuses_are_stored_and_read_back_exactly(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'argonaut.db'}")
    await store.open()
    try:
        ordinary = {"ScriptBody": "echo ünïcode ✓", "Timeout": 30, "Ratio": 0.5, "Tags": ["a", None]}
        beyond = {"Count": 2**70, "Nested": {"Huge": -(2**80)}}
        async with store.transaction() as conn:
            first = await tasks_repo.create_task(conn, None, "AdHocScript", "ordinary", ordinary)
            second = await tasks_repo.create_task(conn, None, "AdHocScript", "past 64 bits", beyond)
        async with store.transaction() as conn:
            read_first = await tasks_repo.get(conn, int(first["id"]))
            read_second = await tasks_repo.get(conn, int(second["id"]))
        assert read_first is not None and read_second is not None
        assert read_first["arguments"] == ordinary
        assert read_second["arguments"] == beyond
        assert isinstance(read_second["arguments"]["Count"], int)
    finally:
        await store.close()
