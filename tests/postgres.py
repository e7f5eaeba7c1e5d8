"""PostgreSQL for the tests: a fresh database per server (or per in-process store), on a server of their own.

Where the databases live:
- ``ARGONAUT_TEST_DATABASE_URL`` set (``postgresql+asyncpg://user:password@127.0.0.1:5432/postgres``): on
  that server, which must let the user create databases; every database made is dropped at the end.
- otherwise a throwaway cluster: initdb into a temporary folder, pg_ctl on a free loopback port, removed at
  the end. A fresh machine needs nothing running (Debian's ``postgresql`` package provides the binaries;
  ``make test`` installs it when missing). PostgreSQL refuses to run as root, so as root the cluster
  belongs to the ``postgres`` user.

Whatever stops the throwaway cluster (no initdb, a cluster that does not start or answer) fails the test
under ``CI=true`` and skips it elsewhere, saying why. A URL that does not answer always fails: whoever set
it asked for PostgreSQL.

Databases are made and read over asyncpg (a dependency of the server already), on one event loop in a
helper thread, so fixtures can call this from sync and async code alike.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

T = TypeVar("T")


def unavailable(why: str) -> NoReturn:
    """PostgreSQL cannot be had: a failure under CI=true, a skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is needed under CI=true: {why}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {why}")


class _Loop:
    """An event loop in a daemon thread: asyncpg calls from sync fixtures and from running loops alike."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="postgres-admin", daemon=True).start()

    def run(self, make: Callable[[], Awaitable[T]], timeout_s: float = 60.0) -> T:
        async def call() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self.loop)
        return future.result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


class Databases:
    """Makes fresh databases on one PostgreSQL server and reads what they hold."""

    def __init__(self, admin_url: URL, on_stop: Callable[[], None] | None = None) -> None:
        self.admin_url = admin_url  # a postgresql+asyncpg URL of a database to run CREATE DATABASE from
        self._on_stop = on_stop
        self._made: list[str] = []
        self._loop = _Loop()
        self._admin: Any = None
        self._icu: bool | None = None  # whether databases can be made with ICU collations; None: not tried

    def _connect_args(self, database: str) -> dict[str, Any]:
        url = self.admin_url
        return {
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "user": url.username,
            "password": url.password,
            "database": database,
        }

    def connect(self) -> None:
        """Open the admin connection (raises if the server does not answer)."""

        async def opening() -> Any:
            return await asyncpg.connect(
                **self._connect_args(self.admin_url.database or "postgres"), timeout=10
            )

        self._admin = self._loop.run(opening)

    def create_database(self, purpose: str = "test") -> str:
        """A new, empty database; answers its ``postgresql+asyncpg://`` URL for ``--database``.

        It sorts text by ICU's ``en-US`` rules where the server has ICU (PostgreSQL 15+), as most
        production servers sort by a linguistic locale such as en_US.UTF-8: a query whose answer hangs
        on the collation then shows it here, not only in production. Elsewhere it takes the server's
        default.
        """
        name = f"argonaut_{purpose}_{secrets.token_hex(5)}".lower()
        self._loop.run(lambda: self._create(name))
        self._made.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    async def _create(self, name: str) -> None:
        if self._icu is not False:
            try:
                await self._admin.execute(
                    f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
                )
                self._icu = True
                return
            except asyncpg.PostgresError:
                if self._icu:
                    raise
                self._icu = False  # before PostgreSQL 15, or built without ICU
        await self._admin.execute(f'CREATE DATABASE "{name}"')

    def rows_as_text(self, url: str) -> str:
        """Every row of every table of a database, as PostgreSQL prints rows: what the database holds."""
        database = make_url(url).database or ""

        async def dump() -> str:
            conn = await asyncpg.connect(**self._connect_args(database), timeout=10)
            try:
                tables = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
                )
                lines = []
                for table in tables:
                    quoted = '"' + table["tablename"].replace('"', '""') + '"'
                    rows = await conn.fetch(f"SELECT t::text AS row FROM {quoted} AS t")
                    lines.extend(row["row"] for row in rows)
                return "\n".join(lines)
            finally:
                await conn.close()

        return self._loop.run(dump)

    def stop(self) -> None:
        async def closing() -> None:
            if self._admin is None:
                return
            if self._on_stop is None:  # someone else's server: leave it as it was found
                for name in self._made:
                    await self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await self._admin.close()

        try:
            self._loop.run(closing)
        finally:
            self._loop.close()
            if self._on_stop is not None:
                self._on_stop()


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run(run_as: str | None, *argv: str) -> None:
    command = ["runuser", "-u", run_as, "--", *argv] if run_as else list(argv)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stderr or done.stdout}")


def start_cluster(port: int) -> Databases:
    """A throwaway cluster on ``port`` (127.0.0.1 only), removed when the answer is stopped."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        unavailable("PostgreSQL's initdb is not installed (Debian: apt-get install postgresql)")
    run_as = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="argonaut-pg-"))
    data = folder / "data"

    def remove() -> None:
        try:
            _run(run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    try:
        os.chmod(folder, 0o755)
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        _run(run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        # fsync off: a test database need not survive a power cut. Connections: each server's pool holds
        # up to 20, and a test may run several servers and in-process stores at once.
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        _run(
            run_as,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        )
    except (OSError, KeyError, RuntimeError, subprocess.TimeoutExpired) as exc:
        log = folder / "log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(f"a throwaway cluster did not start: {exc}\n{detail}")
    url = URL.create(
        "postgresql+asyncpg", username="postgres", host="127.0.0.1", port=port, database="postgres"
    )
    databases = Databases(url, on_stop=remove)
    try:
        databases.connect()
    except Exception as exc:
        databases.stop()
        unavailable(f"the throwaway cluster on port {port} did not answer: {exc}")
    return databases


def from_url(url: str) -> Databases:
    """Databases on the server ``ARGONAUT_TEST_DATABASE_URL`` names."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        pytest.fail(
            f"ARGONAUT_TEST_DATABASE_URL is not a postgresql+asyncpg:// URL: {parsed!r}", pytrace=False
        )
    databases = Databases(parsed.set(drivername="postgresql+asyncpg"))
    try:
        databases.connect()
    except Exception as exc:
        databases.stop()
        # Not a skip even outside CI: whoever set the URL asked for these tests on that server.
        pytest.fail(f"ARGONAUT_TEST_DATABASE_URL ({parsed!r}) did not answer: {exc}", pytrace=False)
    return databases
