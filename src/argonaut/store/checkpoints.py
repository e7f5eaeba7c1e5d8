"""WAL checkpoints of the embedded database, on a thread of their own.

SQLite's default checkpoints run inside whichever commit pushes the write-ahead log past 1,000 pages:
that commit copies the log into the database file and waits for two fsyncs, 5–20 ms on this project's
machines, while the event loop it runs on stands still (the store runs SQLite inline on the loop, see
``connection.py``). Under a burst of tasks that was a stall every hundred or so tasks, charged to
whichever request committed.

So the node's connection never checkpoints (``wal_autocheckpoint=0``) and this thread does, through
its own connection, with ``PASSIVE`` checkpoints: they copy what no reader still needs and never block
the writer, and the sqlite3 module lets go of the GIL while they run. Once a checkpoint has copied the
whole log, the next write starts the log over from its beginning.

A writer that never pauses can keep a passive checkpoint from ever reaching the log's end, so the log
would grow for as long as the burst lasts. Past ``limit_frames`` the thread runs a ``TRUNCATE``
checkpoint instead, which makes the writer wait for it (what every checkpoint did before) and empties
the file; ``journal_size_limit`` on the node's connection trims a log that grew in a burst back down
when it starts over. What a commit guarantees does not change: with ``synchronous=NORMAL`` a commit
was never synced itself, and a checkpoint syncs the same files as before.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL_S = 0.5
LIMIT_FRAMES = 16_384  # 64 MB of 4 KB pages: about 600 ad-hoc tasks' worth of writes
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024  # what a log that started over is trimmed back to


class WalCheckpointer:
    """Checkpoints ``path``'s write-ahead log every ``interval`` seconds until ``stop``."""

    def __init__(self, path: str, interval: float = INTERVAL_S, limit_frames: int = LIMIT_FRAMES) -> None:
        self._path = path
        self._interval = interval
        self._limit_frames = limit_frames
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after a last checkpoint, so a stopped node leaves its log copied into the database."""
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=10000")
            while not self._stopping.wait(self._interval):
                frames = self._checkpoint(connection, "PASSIVE")
                if frames > self._limit_frames:
                    self._checkpoint(connection, "TRUNCATE")
            self._checkpoint(connection, "PASSIVE")
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection, mode: str) -> int:
        """Run one checkpoint; how many frames the log held (0 when it could not tell)."""
        try:
            row = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as exc:  # e.g. the file was removed under us; the next round tries again
            log.warning("SQLite checkpoint failed: %s", exc)
            return 0
        return int(row[1]) if row and row[1] is not None else 0
