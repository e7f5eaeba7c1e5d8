"""What the agent benchmarks share: API plumbing over the raw client, and simulated polling agents.

A :class:`FakePoller` is a polling agent without a process: its own certificate and subscription, a
real TLS connection to the comms port, the hello handshake, and a :class:`Link` that answers
``capabilities.v1`` (what a health check asks). Thousands fit in one benchmark process, so the server
can be measured with as many connected agents as the machine's file descriptors allow.
:meth:`FakePoller.keep_polling` reconnects as the real agent does, with its backoff policy
(``argonaut.agent.backoff``).
"""

from __future__ import annotations

import asyncio
import collections
import errno
import functools
import os
import resource
import secrets
import ssl
import string
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from _http import RawClient
from argonaut.agent.backoff import reconnect_delay
from argonaut.agent.service import CONNECT_TIMEOUT_S, HELLO_TIMEOUT_S, capabilities
from argonaut.protocol.link import Link, LinkTimings, MethodError, offer_hello
from argonaut.protocol.messages import Hello, ProtocolError
from argonaut.security.certificates import NodeCertificate
from argonaut.security.tls import connecting_context

SPACE = "/api/Spaces-1"
WAIT_S = 120.0

T = TypeVar("T")


def raise_fd_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit, for thousands of links here; the server inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def fd_soft_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return line.split()[3]
    return "?"


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def subscription_id() -> str:
    return (
        "poll://" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(20)) + "/"
    )


async def api(client: RawClient, method: str, path: str, payload: Any = None, expect: int = 200) -> Any:
    status, body = await client.request(method, path, payload)
    if status != expect:
        raise RuntimeError(f"{method} {path}: {status} {body}")
    return body


async def limited(concurrency: int, jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Every job's result, at most ``concurrency`` running at once; the first failure cancels the rest."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(job)) for job in jobs]
    return [task.result() for task in tasks]


async def follow(client: RawClient, task_id: str) -> dict[str, Any]:
    final: dict[str, Any] = {}
    async for event in client.stream_lines(f"/api/tasks/{task_id}/stream"):
        if event["Type"] == "Task":
            final = event["Task"]
    return final


async def run_task(client: RawClient, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """POST a task and follow it to the end: (milliseconds, the finished task)."""
    started = time.perf_counter()
    task = await api(client, "POST", f"{SPACE}/tasks", body, expect=201)
    final = await follow(client, task["Id"])
    return (time.perf_counter() - started) * 1000, final


async def new_pool(client: RawClient, name: str) -> str:
    return str((await api(client, "POST", f"{SPACE}/workerpools", {"Name": name}, expect=201))["Id"])


async def add_worker(client: RawClient, name: str, pool: str, endpoint: dict[str, str]) -> str:
    body = {"Name": name, "WorkerPoolIds": [pool], "Endpoint": endpoint}
    return str((await api(client, "POST", f"{SPACE}/workers", body, expect=201))["Id"])


async def count_workers(client: RawClient, pool: str, health: str) -> int:
    page = await api(client, "GET", f"{SPACE}/workers?workerPoolIds={pool}&healthStatuses={health}&take=0")
    return int(page["TotalResults"])


async def tasks_in_flight(client: RawClient) -> int:
    busy = await api(client, "GET", f"{SPACE}/tasks?states=Queued,Executing,Cancelling&take=0")
    return int(busy["TotalResults"])


async def wait_healthy(client: RawClient, pool: str, wanted: int, timeout_s: float = WAIT_S) -> float:
    """Seconds until ``wanted`` workers of ``pool`` are Healthy and no task is queued or running."""
    started = time.perf_counter()
    healthy = 0
    while time.perf_counter() - started < timeout_s:
        healthy = await count_workers(client, pool, "Healthy")
        if healthy >= wanted and await tasks_in_flight(client) == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.1)
    page = await api(client, "GET", f"{SPACE}/workers?workerPoolIds={pool}&take=1000")
    seen = collections.Counter(f"{w['HealthStatus']}: {w['StatusSummary']}" for w in page["Items"])
    raise RuntimeError(
        f"{pool}: {healthy}/{wanted} Healthy after {timeout_s:g}s; {dict(seen.most_common(5))}"
    )


# -- simulated polling agents ----------------------------------------------------------------------------

CAPABILITIES = capabilities().model_dump(mode="json")


@dataclass
class PollerStats:
    """What a crowd of pollers saw: connection attempts per second (by the loop's clock), how each
    ended, and how many ``capabilities.v1`` calls (health checks) they answered."""

    attempts: collections.Counter[int] = field(default_factory=collections.Counter)
    linked: collections.Counter[int] = field(default_factory=collections.Counter)  # links made per second
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    connect_s: list[float] = field(default_factory=list)  # attempt to link, of the attempts that linked
    checks: int = 0

    def reset(self) -> None:
        self.attempts.clear()
        self.linked.clear()
        self.outcomes.clear()
        self.connect_s.clear()
        self.checks = 0


def outcome_of(exc: BaseException) -> str:
    """How a failed connection attempt ended, in the words of the benchmark's tables."""
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "port closed (node down)"
    if isinstance(exc, ConnectionResetError | ssl.SSLError | asyncio.IncompleteReadError | EOFError):
        return "closed by the node before the hello"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ProtocolError):
        return "refused by the node"
    return type(exc).__name__


@dataclass
class FakePoller:
    certificate: NodeCertificate
    subscription: str
    local_host: str | None = None  # a source address of 127.0.0.0/8, to spread links over port ranges
    stats: PollerStats | None = None
    timings: LinkTimings = LinkTimings()
    link: Link | None = None
    checked: bool = False  # answered capabilities.v1 since the flag was last cleared
    connected_at: float = 0.0  # perf_counter() when the current link was welcomed
    _context: ssl.SSLContext | None = None

    async def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "capabilities.v1":
            self.checked = True
            if self.stats is not None:
                self.stats.checks += 1
            return CAPABILITIES
        raise MethodError("unknown-method", f"the load generator does not offer {method}")

    def prepare(self) -> FakePoller:
        """Make the TLS context now (about 1.5 ms of CPU), not while the server is being measured."""
        if self._context is None:
            self._context = connecting_context(self.certificate)
        return self

    async def connect(self, port: int) -> None:
        """One attempt with the real agent's deadlines: TLS, hello, then the link serves the server."""
        self.prepare()
        assert self._context is not None
        began = asyncio.get_running_loop().time()
        if self.stats is not None:
            self.stats.attempts[int(began)] += 1
        local = (self.local_host, 0) if self.local_host else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                "127.0.0.1",
                port,
                ssl=self._context,
                server_hostname="argonaut",
                local_addr=local,
                ssl_handshake_timeout=CONNECT_TIMEOUT_S,
            ),
            CONNECT_TIMEOUT_S,
        )
        try:
            hello = Hello(versions=(1,), role="agent", subscription=self.subscription)
            await asyncio.wait_for(offer_hello(reader, writer, hello), HELLO_TIMEOUT_S)
        except BaseException:
            writer.transport.abort()
            raise
        self.link = Link(
            reader, writer, self.answer, name=f"bench {self.subscription}", timings=self.timings
        ).start()
        self.connected_at = time.perf_counter()
        if self.stats is not None:
            self.stats.outcomes["connected"] += 1
            now = asyncio.get_running_loop().time()
            self.stats.linked[int(now)] += 1
            self.stats.connect_s.append(now - began)

    async def keep_polling(self, port: int) -> None:
        """What the real agent's polling loop does: hold a link, and after it ends or an attempt fails
        wait as ``reconnect_delay`` says before the next attempt."""
        failures = 0
        while True:
            if self.link is None or self.link.closed:
                try:
                    await self.connect(port)
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if self.stats is not None:
                        self.stats.outcomes[outcome_of(exc)] += 1
                    self.link = None
            if self.link is not None:
                await self.link.wait_closed()
            failures += 1
            await asyncio.sleep(reconnect_delay(failures))

    async def close(self) -> None:
        if self.link is not None:
            await self.link.close()


async def register_pollers(
    url: str, key: str, pool: str, pollers: Sequence[FakePoller], name: str, concurrency: int
) -> list[str]:
    """Register each poller as a polling worker in ``pool`` (named ``name`` and its number), over
    ``concurrency`` keep-alive connections; answers the worker ids."""
    clients = [RawClient(url, key) for _ in range(concurrency)]
    free = list(clients)

    async def register(n: int, poller: FakePoller) -> str:
        client = free.pop()
        try:
            endpoint = {
                "CommunicationStyle": "TentacleActive",
                "Uri": poller.subscription,
                "Thumbprint": poller.certificate.thumbprint,
            }
            return await add_worker(client, f"{name}-{n:05d}", pool, endpoint)
        finally:
            free.append(client)

    try:
        return await limited(concurrency, [functools.partial(register, n, p) for n, p in enumerate(pollers)])
    finally:
        for client in clients:
            await client.close()
