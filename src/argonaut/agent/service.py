"""``argonaut agent run``: the long-running agent, listening for servers and/or polling them.

Listening: accept TLS connections, keep those whose client certificate thumbprint is trusted, and
serve the server's calls on each. Polling: for every server the agent was registered with, keep one
outgoing link open; it carries the server's calls the same way, so the machine needs no inbound port.
Reconnects back off exponentially with full jitter, so hundreds of agents coming back after a server
restart do not arrive in one stampede.

Both kinds of link ping the server (``ping_interval_s`` in agent.json), so a polling agent whose
connection died silently notices, and reconnects. The listening port admits connections as the
server's comms port does (``security/admission.py``): capped while unauthenticated, a deadline on
the TLS handshake, a certificate checked before anything is read, then a hello-sized hello.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import random
import shutil
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from argonaut import __version__
from argonaut.agent import config as agent_config
from argonaut.agent.backoff import BACKOFF_FIRST_S, reconnect_delay
from argonaut.agent.config import ANY_NODE, AgentConfig, KnownServer, PollingServer
from argonaut.agent.files import FileService
from argonaut.agent.scripts import ScriptService
from argonaut.config.logs import configure as configure_logs
from argonaut.protocol.link import (
    Link,
    LinkTimings,
    MethodError,
    await_hello,
    offer_hello,
    write_frame,
)
from argonaut.protocol.messages import Hello, ProtocolError, Refused, Welcome, negotiate
from argonaut.protocol.methods import (
    METHODS,
    Capabilities,
    Empty,
    FileDownload,
    FileUpload,
    RunnerUpdate,
    RunnerVersion,
    ScriptStatusQuery,
    StartScript,
    TicketOnly,
)
from argonaut.runner import PACKAGE_BUNDLE, RUNNER_VERSION, RunnerBundle, load_bundle, save_bundle
from argonaut.runner.children import watch_children_with_pidfd
from argonaut.security.admission import Admission, AdmittingServer
from argonaut.security.certificates import NodeCertificate, load_or_create_certificate
from argonaut.security.tls import accepting_context, connecting_context, peer_thumbprint, trim_tls_buffers

log = logging.getLogger("argonaut.agent")

# TCP connect + TLS handshake to a server. A node whose places for unauthenticated connections are all
# taken (10,000 agents reconnecting after a restart) leaves new ones in its listen backlog: waiting there
# is being served in order, so giving up after 10 s only to back off and start again at the back of the
# line drew the reconnect out (bench/agents_scale.py). A server that is down refuses at once.
CONNECT_TIMEOUT_S = 30.0
HELLO_TIMEOUT_S = 10.0  # the hello exchange on a link just made


def capabilities(runner_version: str = RUNNER_VERSION) -> Capabilities:
    shells = tuple(name for name, exe in (("Bash", "bash"), ("Python", "python3")) if shutil.which(exe))
    return Capabilities(
        agent_version=__version__,
        runner_version=runner_version,
        os=platform.system(),
        architecture=platform.machine(),
        shells=shells,
        methods=tuple(METHODS),
    )


class Agent:
    def __init__(self, home: Path, config: AgentConfig, certificate: NodeCertificate) -> None:
        self.home = home
        self.config = config
        self.certificate = certificate
        self.files = FileService(home / "files")
        self.scripts = ScriptService(home / "work", home / "artifacts", _installed_runner(home))
        self._links: set[Link] = set()
        self._admission = Admission("listening port", config.max_unauthenticated, config.handshake_timeout_s)
        self._timings = LinkTimings(
            ping_interval_s=config.ping_interval_s or None, ping_timeout_s=config.ping_timeout_s
        )

    async def handle(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        spec = METHODS.get(method)
        if spec is None:
            raise MethodError("unknown-method", f"this agent does not offer {method}")
        try:
            parsed = spec[0].model_validate(params)
        except ValidationError as exc:
            raise MethodError("bad-params", str(exc.errors()[0].get("msg"))) from None
        result: BaseModel
        if isinstance(parsed, StartScript):
            result = await self.scripts.start(parsed)
        elif isinstance(parsed, ScriptStatusQuery):
            call = self.scripts.cancel if method == "script.cancel.v1" else self.scripts.status
            result = await call(parsed)
        elif isinstance(parsed, TicketOnly):
            await self.scripts.complete(parsed)
            result = Empty()
        elif isinstance(parsed, RunnerUpdate):
            result = self._update_runner(parsed)
        elif isinstance(parsed, FileUpload):
            result = self.files.upload(parsed)
        elif isinstance(parsed, FileDownload):
            result = self.files.download(parsed)
        else:
            result = capabilities(self.scripts.runner.version)
        return result.model_dump(mode="json")

    def _update_runner(self, update: RunnerUpdate) -> RunnerVersion:
        """Install the pushed runner beside the old one, then switch: a failed write changes nothing."""
        bundle = RunnerBundle(update.version, dict(update.files))
        staging = self.home / "runner" / f".incoming-{update.version}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            save_bundle(staging, bundle)
        except ValueError as exc:
            raise MethodError("bad-params", str(exc)) from None
        current = self.home / "runner" / "current"
        shutil.rmtree(current, ignore_errors=True)
        staging.rename(current)
        previous, self.scripts.runner = self.scripts.runner.version, bundle
        log.info("runner updated from %s to %s", previous, bundle.version)
        return RunnerVersion(version=bundle.version)

    # -- listening -----------------------------------------------------------------------------------

    async def serve_listening(self) -> AdmittingServer:
        context = accepting_context(self.certificate)

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with self._admission.held():
                link = await self._admit(reader, writer, context)
            if link is not None:
                await self._serve_link(link)

        # Without ssl=: the handshake starts in _admit, so unauthenticated connections can be counted.
        server = await self._admission.serve(accept, self.config.listen_address, self.config.listen_port)
        bound = server.sockets[0].getsockname()
        print(f"Listening on {bound[0]}:{bound[1]} for servers", flush=True)
        return server

    async def _admit(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, context: ssl.SSLContext
    ) -> Link | None:
        """TLS, then the server's certificate (before a byte is read), then its hello: the link, or None."""
        if not await self._admission.start_tls(writer, context):
            return None
        thumbprint = peer_thumbprint(writer.get_extra_info("ssl_object"))
        peer = writer.get_extra_info("peername")
        if thumbprint is None or not self.config.trusts(thumbprint):
            log.warning("refused a connection from %s: certificate %s is not trusted", peer, thumbprint)
            writer.transport.abort()
            return None
        try:
            hello = await await_hello(reader)
            version = negotiate(hello.versions)
            if version is None:
                write_frame(writer, Refused(reason=f"no common protocol version in {hello.versions}"))
                writer.close()
                return None
            write_frame(writer, Welcome(version=version))
            await asyncio.wait_for(writer.drain(), HELLO_TIMEOUT_S)
        except (ProtocolError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.warning(
                "dropped a connection from %s (certificate %s) before its hello: %s",
                peer,
                thumbprint,
                exc or type(exc).__name__,
            )
            writer.transport.abort()
            return None
        except BaseException:
            writer.transport.abort()
            raise
        name = f"server {thumbprint[:8]}"
        return Link(reader, writer, self.handle, name=name, peer=thumbprint, timings=self._timings)

    async def _serve_link(self, link: Link) -> None:
        self._links.add(link)
        link.start()
        try:
            await link.wait_closed()
        finally:
            self._links.discard(link)

    # -- polling -------------------------------------------------------------------------------------

    async def poll(self, target: PollingServer) -> None:
        """Keep one link to ``target`` open for as long as the agent runs."""
        failures = 0
        context = connecting_context(self.certificate)
        while True:
            try:
                reader, writer = await _connect(target.host, target.comms_port, context)
                thumbprint = peer_thumbprint(writer.get_extra_info("ssl_object"))
                try:
                    if not self._pinned(thumbprint, target.thumbprint):
                        raise ConnectionRefusedError(
                            f"the server at {target.host}:{target.comms_port} presented certificate "
                            f"{thumbprint}, expected {target.thumbprint}"
                        )
                    hello = Hello(
                        versions=(1,),
                        role="agent",
                        subscription=target.subscription_id,
                        agent_version=__version__,
                    )
                    await asyncio.wait_for(offer_hello(reader, writer, hello), HELLO_TIMEOUT_S)
                except BaseException:
                    writer.transport.abort()  # refused or unanswered: nothing to say goodbye to
                    raise
                failures = 0
                log.info("polling %s as %s", target.url, target.subscription_id)
                name = f"poll {target.url}"
                link = Link(reader, writer, self.handle, name=name, peer=thumbprint, timings=self._timings)
                await self._serve_link(link)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("polling %s failed: %s", target.url, exc)
            failures += 1
            await asyncio.sleep(reconnect_delay(failures))

    def _pinned(self, presented: str | None, expected: str) -> bool:
        """The server presented the pinned certificate: the one expected, or for an address any node of
        a cluster may answer on (ANY_NODE), one this agent trusts."""
        if presented is None:
            return False
        return self.config.trusts(presented) if expected == ANY_NODE else presented == expected

    async def announce(self, target: KnownServer) -> None:
        """Tell a server this listening agent has started, so it checks it now rather than at its interval."""
        context = connecting_context(self.certificate)
        for attempt in range(5):
            try:
                reader, writer = await _connect(target.host, target.comms_port, context)
                try:
                    if not self._pinned(
                        peer_thumbprint(writer.get_extra_info("ssl_object")), target.thumbprint
                    ):
                        raise ConnectionRefusedError(
                            f"the server at {target.url} presented another certificate"
                        )
                    hello = Hello(versions=(1,), role="agent", purpose="announce", agent_version=__version__)
                    await asyncio.wait_for(offer_hello(reader, writer, hello), HELLO_TIMEOUT_S)
                finally:
                    writer.close()
                log.info("told %s that this agent started", target.url)
                return
            except Exception as exc:
                log.info("could not tell %s that this agent started: %s", target.url, exc)
                await asyncio.sleep(random.uniform(0, BACKOFF_FIRST_S * 2**attempt))

    async def close(self) -> None:
        for link in list(self._links):
            await link.close()
        await self.scripts.stop()


async def _run(home: Path) -> int:
    trim_tls_buffers()
    watch_children_with_pidfd()  # scripts are children: no thread per script to wait for each
    config = agent_config.load(home)
    certificate = load_or_create_certificate(home, "Argonaut agent")
    agent = Agent(home, config, certificate)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    listener = await agent.serve_listening() if config.listen else None
    pollers = [asyncio.create_task(agent.poll(target)) for target in config.polling]
    if listener is not None:
        pollers += [asyncio.create_task(agent.announce(target)) for target in config.announce_to]
    if listener is None and not pollers:
        print(
            "error: this agent neither listens nor polls any server; see 'argonaut agent configure'",
            file=sys.stderr,
        )
        return 1
    print(f"Agent {certificate.thumbprint} running", flush=True)
    await stop.wait()
    if listener is not None:
        listener.close()
    for poller in pollers:
        poller.cancel()
    for poller in pollers:
        with contextlib.suppress(asyncio.CancelledError):
            await poller
    await agent.close()
    return 0


async def _connect(
    host: str, port: int, context: ssl.SSLContext
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS connection to a server, within a deadline: a server that accepts and then says nothing
    must not hold the agent (the handshake alone would wait a minute by default)."""
    return await asyncio.wait_for(
        asyncio.open_connection(
            host, port, ssl=context, server_hostname="argonaut", ssl_handshake_timeout=CONNECT_TIMEOUT_S
        ),
        CONNECT_TIMEOUT_S,
    )


def _installed_runner(home: Path) -> RunnerBundle:
    """The runner the server last pushed to this agent, else the one installed with the agent."""
    try:
        return load_bundle(home / "runner" / "current")
    except (OSError, ValueError):
        return PACKAGE_BUNDLE


def run_agent(home: Path) -> int:
    # The agent has no settings tree; it reads the server's environment name, so one unit file's
    # ARGONAUT_LOG_FORMAT=json gives a shipper the same objects from both.
    configure_logs("json" if os.environ.get("ARGONAUT_LOG_FORMAT", "").lower() == "json" else "text")
    try:
        return asyncio.run(_run(home))
    except agent_config.NoInstance as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
