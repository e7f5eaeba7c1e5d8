"""Fixtures that start the real server process on a free loopback port and talk to it over HTTP.

Databases. Every test that starts a server or opens a store gets a ``database`` parameter, shown in its
id (``test_x[SQLite]``, ``test_x[PostgreSQL]``). Modules whose subject is the store carry
``pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")`` and run on both:

- the API families: ``test_api_auth_and_spaces``, ``test_api_infrastructure``, ``test_api_accounts``,
  ``test_api_tasks``;
- the task queue of a real node (``test_task_queue``: cap, restarts, hand-over, orphans), and a worker
  usable at once (``test_workers_usable_at_once``: health written by checks, leases);
- the in-process store tests: ``tests/orchestrator/`` and ``test_task_log_store``.

``test_cluster`` (several nodes on one database) is ``databases("PostgreSQL")`` alone: sharing one
database is what it tests, and only PostgreSQL does that.

The rest run on SQLite only, since their subject is not the store and the second run would buy time,
not coverage: agents and their protocol and trust (``test_agents``, ``test_agent_*``), comms hardening,
request limits, SSH workers, CLI text (``test_cli``), the OpenAPI fuzzer, the runner, and the unit tests.

On PostgreSQL, each server the factory starts gets a fresh database (a restart with the same ``home``
keeps its database, as a real node would), and the shared server of a test process gets its own; so
tests never see each other's rows. Where PostgreSQL comes from: see ``tests/postgres.py``
(``ARGONAUT_TEST_DATABASE_URL``, else a throwaway cluster per test process).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from argonaut.runner.spawner import helpers_of as spawn_helpers
from argonaut.server.work_folder import memory_backed_folder
from postgres import Databases, from_url, start_cluster

ARGONAUT = Path(sys.executable).with_name("argonaut")
DATABASES = ("SQLite", "PostgreSQL")


# The admin's password on servers the fixtures start, so portal tests can sign in as a user would.
ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)


def make_api_key() -> str:
    return "API-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(28))


@dataclass
class ServerProcess:
    home: Path
    api_key: str
    args: list[str]
    env: dict[str, str]
    postgres: Databases | None = None  # the server PostgreSQL runs on; None on SQLite
    database_url: str | None = None  # --database, on PostgreSQL
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    comms_port: int = 0
    output: list[str] = field(default_factory=list)
    _client: httpx.Client | None = None

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        self.proc = subprocess.Popen(
            [
                str(ARGONAUT),
                "server",
                "--home",
                str(self.home),
                "--listen",
                "127.0.0.1:0",
                "--comms-port",
                "0",
                *(["--database", self.database_url] if self.database_url else []),
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                if line.startswith("Comms port for polling agents: "):
                    self.comms_port = int(line.rsplit(":", 1)[1])
                if line.startswith("Listening on "):
                    self.url = line.split()[-1]
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout_s) or not self.url:
            self.kill()
            raise RuntimeError("argonaut server did not start:\n" + "\n".join(self.output))
        self._client = None
        return self

    def stored_content(self) -> bytes:
        """Everything the server's database holds: the SQLite files' bytes, or PostgreSQL's rows as text."""
        if self.database_url is not None:
            assert self.postgres is not None
            return self.postgres.rows_as_text(self.database_url).encode()
        return b"".join(p.read_bytes() for p in sorted(self.home.glob("argonaut.db*")))

    @property
    def work_root(self) -> Path:
        """Where this server's built-in worker makes its run folders (memory-backed unless it fell back)."""
        memory_backed = memory_backed_folder(self.home)
        return memory_backed if memory_backed.is_dir() else self.home / "work"

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.url, headers={"X-Octopus-ApiKey": self.api_key}, timeout=30
            )
        return self._client

    def stop(self, timeout_s: float = 30.0) -> int:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout_s)
        self.proc = None
        return code

    def kill(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


# xdist hands out whole files in the order sorted here (the Makefile passes --no-loadscope-reorder: its
# own order, files with more tests first, put the fuzzer's one test last, and a 17-minute run spent its
# last minutes on it alone):
# 1. The longest single test (the OpenAPI fuzzer: minutes), so the other test process works beside it
#    instead of both waiting on it at the end.
# 2. The portal's files, each driving its own chromium: taken one after another by the other process
#    while the fuzzer runs, never two browsers at once (both processes in them made a 15-minute run).
# 3. The rest in their folders' order: real servers and agents before the quick unit tests, which fill
#    the gaps at the end.
_FIRST = "test_openapi_fuzz.py"
_BROWSER = "portal"


def _turn(item: pytest.Item) -> int:
    return 0 if item.path.name == _FIRST else 1 if item.path.parent.name == _BROWSER else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_turn)  # stable: each file's tests, and files of one turn, keep their order


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that needs a database on the databases its module names, else on SQLite."""
    if "database" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("databases")
        values = tuple(marker.args) if marker else DATABASES[:1]
        assert values and set(values) <= set(DATABASES), f"pytest.mark.databases takes {DATABASES}"
        metafunc.parametrize("database", values, indirect=True, ids=values)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """``SQLite`` or ``PostgreSQL``: the database this run of the test uses (see the module docstring)."""
    return str(request.param)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Databases]:
    """Fresh PostgreSQL databases for this test process (see tests/postgres.py)."""
    url = os.environ.get("ARGONAUT_TEST_DATABASE_URL")
    databases = from_url(url) if url else start_cluster(free_port())
    yield databases
    databases.stop()


@pytest.fixture
def store_url(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL for an in-process ``Store`` on a fresh, empty database of this run's kind."""
    if database == "PostgreSQL":
        postgres: Databases = request.getfixturevalue("postgres")
        return postgres.create_database("store")
    return f"sqlite+aiosqlite:///{tmp_path / 'argonaut.db'}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Any]:
    """An in-process ``Store`` on a fresh database, seeded as a first start seeds it (space, admin)."""
    from argonaut.server.first_start import first_start
    from argonaut.store import Store

    opened = Store(store_url)
    await opened.open()
    async with opened.transaction() as conn:
        await first_start(conn, None)
    yield opened
    await opened.close()


@pytest.fixture
def server_factory(
    tmp_path_factory: pytest.TempPathFactory, database: str, request: pytest.FixtureRequest
) -> Iterator[object]:
    """Start servers with their own home and options; all are stopped at the end of the test.

    On PostgreSQL every new home gets a fresh database, and a server started again on a home it had
    before gets that home's database back (unless the arguments name a ``--database`` of their own).
    """
    started: list[ServerProcess] = []
    postgres: Databases | None = request.getfixturevalue("postgres") if database == "PostgreSQL" else None
    database_of: dict[Path, str] = {}

    def factory(
        *args: str, home: Path | None = None, api_key: str | None = None, env: dict[str, str] | None = None
    ) -> ServerProcess:
        key = api_key or make_api_key()
        full_env = {
            **os.environ,
            "ARGONAUT_ADMIN_API_KEY": key,
            "ARGONAUT_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **(env or {}),
        }
        home = home or tmp_path_factory.mktemp("home")
        srv = ServerProcess(home, key, list(args), full_env)
        if postgres is not None and "--database" not in args:
            if home not in database_of:
                database_of[home] = postgres.create_database("node")
            srv.postgres, srv.database_url = postgres, database_of[home]
        started.append(srv)
        return srv.start()

    yield factory
    for srv in started:
        srv.kill()
        shutil.rmtree(memory_backed_folder(srv.home), ignore_errors=True)  # what a killed node left there


def _shared_server(home: Path, postgres: Databases | None) -> ServerProcess:
    key = make_api_key()
    env = {**os.environ, "ARGONAUT_ADMIN_API_KEY": key, "ARGONAUT_ADMIN_PASSWORD": ADMIN_PASSWORD}
    srv = ServerProcess(home, key, ["--task-cap", "10"], env)
    if postgres is not None:
        srv.postgres, srv.database_url = postgres, postgres.create_database("shared")
    return srv.start()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = _shared_server(tmp_path_factory.mktemp("shared-home"), None)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory, postgres: Databases) -> Iterator[ServerProcess]:
    srv = _shared_server(tmp_path_factory.mktemp("shared-home-pg"), postgres)
    yield srv
    srv.stop()


@pytest.fixture
def server(database: str, request: pytest.FixtureRequest) -> ServerProcess:
    """One shared server per test process and database; tests using it create uniquely named resources."""
    shared: ServerProcess = request.getfixturevalue(
        "postgres_server" if database == "PostgreSQL" else "sqlite_server"
    )
    return shared


def unique(prefix: str) -> str:
    """A resource name no other test uses, for tests sharing one server."""
    return f"{prefix}-{secrets.token_hex(4)}"


def follow(client: httpx.Client, task_id: str, timeout_s: float = 60.0) -> dict[str, object]:
    """Wait for a task to finish through its live stream; answers the final task resource."""
    with client.stream("GET", f"/api/tasks/{task_id}/stream", timeout=timeout_s) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith('{"Type":"Task"'):
                import json

                task: dict[str, object] = json.loads(line)["Task"]
                return task
    raise AssertionError(f"the stream of {task_id} ended without the finished task")


def script_task(body: str, syntax: str = "Bash", **arguments: object) -> dict[str, object]:
    return {"Name": "AdHocScript", "Arguments": {"ScriptBody": body, "Syntax": syntax, **arguments}}


def run_script(
    client: httpx.Client, body: str, space: str = "Spaces-1", **arguments: object
) -> dict[str, object]:
    response = client.post(f"/api/{space}/tasks", json=script_task(body, **arguments))
    assert response.status_code == 201, response.text
    return follow(client, str(response.json()["Id"]))


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class AgentProcess:
    """A real agent process with its own home folder (certificate and agent.json)."""

    home: Path
    thumbprint: str
    listen_port: int | None = None
    proc: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"https://127.0.0.1:{self.listen_port}/"

    def start(self, timeout_s: float = 30.0) -> AgentProcess:
        self.proc = subprocess.Popen(
            [str(ARGONAUT), "agent", "run", "--home", str(self.home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                if line.startswith("Agent "):
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout_s) or self.proc.poll() is not None:
            raise RuntimeError("argonaut agent did not start:\n" + "\n".join(self.output))
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def agent_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Make agent homes and start agents; every agent is stopped at the end of the test."""
    from argonaut.agent import config as agent_config
    from argonaut.security.certificates import load_or_create_certificate

    made: list[AgentProcess] = []

    def factory(
        trust: list[str] | None = None,
        listen: bool = True,
        polling: list[dict[str, object]] | None = None,
        start: bool = True,
        home: Path | None = None,
    ) -> AgentProcess:
        home = home or tmp_path_factory.mktemp("agent")
        certificate = load_or_create_certificate(home, "Argonaut test agent")
        port = free_port() if listen else None
        config = agent_config.AgentConfig(listen=listen, listen_port=port or 0)
        for thumbprint in trust or []:
            config.trust(thumbprint)
        config.polling = [agent_config.PollingServer(**p) for p in polling or []]  # type: ignore[arg-type]
        agent_config.save(home, config)
        agent = AgentProcess(home, certificate.thumbprint, port)
        made.append(agent)
        return agent.start() if start else agent

    yield factory
    for agent in made:
        agent.stop()


def wait_for_health(
    client: httpx.Client, worker_id: str, wanted: str, space: str = "Spaces-1"
) -> dict[str, Any]:
    """Polls the API (bounded) for a state the server reaches on its own, e.g. after an agent connects."""
    worker: dict[str, Any] = {}
    for _ in range(600):
        worker = client.get(f"/api/{space}/workers/{worker_id}").json()
        if worker["HealthStatus"] == wanted:
            return worker
        time.sleep(0.05)
    raise AssertionError(f"{worker_id} stayed {worker.get('HealthStatus')}: {worker.get('StatusSummary')}")


def eventually(what: str, check: Callable[[], object], timeout_s: float = 30.0) -> None:
    """Poll (bounded) for a state the system reaches on its own; the failure names what never came."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g}s: {what}")
        time.sleep(0.05)


def wait_for_log_line(client: httpx.Client, task_id: str, text: str) -> None:
    """Follow a task's live stream until a line with ``text`` arrives (e.g. a script saying it started)."""
    with client.stream("GET", f"/api/tasks/{task_id}/stream", timeout=60) as stream:
        for line in stream.iter_lines():
            if f'"{text}"' in line:
                return
    raise AssertionError(f"{task_id} ended without printing {text!r}")


def new_spawn_helper(before: set[int]) -> int:
    """The one helper this process started since ``before`` was taken (it names itself as it starts)."""
    eventually("a new spawn helper", lambda: set(spawn_helpers(os.getpid())) - before, timeout_s=10)
    (helper,) = set(spawn_helpers(os.getpid())) - before
    return helper


def assert_process_gone(pid: int, what: str) -> None:
    """A killed process may take the kernel a moment to reap: wait for it, boundedly, then fail."""
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"{what} survived the cancel")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium for one test module (see tests/browser.py).

    Per module, not per session: Playwright's sync API keeps an event loop running while it is open,
    and the test process's later modules call ``asyncio.run``, which refuses to start inside one.
    """
    from browser import launched

    with launched() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any, server: ServerProcess) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the shared server's portal, not yet signed in."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(tab: Any, username: str = "admin", password: str = ADMIN_PASSWORD, path: str = "/app") -> None:
    """Open the portal and sign in through its login form, as a person would."""
    tab.goto(path)
    tab.get_by_label("User name").fill(username)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("button", name="Sign out").wait_for()
