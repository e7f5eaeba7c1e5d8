"""The embedded database's write-ahead log is copied into the database file by a thread of its own, so
no commit on the event loop waits for a checkpoint's fsyncs, and the log stays bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from argonaut.store import Store, tasks_repo
from argonaut.store.checkpoints import WalCheckpointer
from conftest import eventually


async def test_committed_data_reaches_the_database_file_without_a_commit_checkpointing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "argonaut.db"
    store = Store(f"sqlite+aiosqlite:///{path}")
    await store.open()
    try:
        async with store.transaction() as conn:
            task = await tasks_repo.create_task(conn, None, "AdHocScript", "first", {})
            node_setting = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
        assert node_setting == 0, "the node's connection must leave checkpoints to the thread"
        size_before = path.stat().st_size
        # A few hundred pages: far below the 1,000 that SQLite's own checkpoint waits for.
        async with store.transaction() as conn:
            for n in range(40):
                await tasks_repo.create_task(conn, None, "AdHocScript", "x" * 4000 + str(n), {})
        eventually("the log copied into the database file", lambda: path.stat().st_size > size_before, 10)
        # What the file holds is what was committed: a reader of the file alone (no log) sees the tasks.
        # A copy taken while a checkpoint is still writing pages is torn, so copies are taken until one
        # reads whole.
        wal = Path(f"{path}-wal")
        copy = tmp_path / "copy.db"
        names: list[str] = []

        def file_alone_holds_every_task() -> bool:
            copy.write_bytes(path.read_bytes())
            reader = sqlite3.connect(copy)
            try:
                names[:] = [row[0] for row in reader.execute("SELECT description FROM tasks ORDER BY id")]
            except sqlite3.DatabaseError:  # torn mid-checkpoint
                return False
            finally:
                reader.close()
                for leftover in ("-wal", "-shm"):
                    Path(f"{copy}{leftover}").unlink(missing_ok=True)
            return len(names) == 41

        eventually("the database file alone holding all 41 tasks", file_alone_holds_every_task, 10)
        assert wal.exists()
        assert names[0] == "first" and task["description"] == "first"
        assert len(names) == 41
    finally:
        await store.close()


def test_a_log_past_its_limit_is_emptied(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (v TEXT)")
    for _ in range(300):
        writer.execute("INSERT INTO t VALUES (?)", ("y" * 4000,))
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 300 * 4096
    checkpoints = WalCheckpointer(str(path), interval=0.05, limit_frames=100)
    checkpoints.start()
    try:
        # A passive checkpoint copies the log but leaves the file as long as it was; past the limit the
        # thread empties it.
        eventually("the log emptied", lambda: wal.stat().st_size == 0, 10)
    finally:
        checkpoints.stop()
    assert writer.execute("SELECT count(*) FROM t").fetchone()[0] == 300
    writer.close()
