"""Nothing unauthenticated costs much, and no link stays dead unnoticed: real server and agent processes.

On the server's comms port and on an agent's listening port, a peer that has not been admitted may
send one hello-sized frame; anything bigger or malformed is one warning line and a closed connection
(never a traceback), and the port keeps serving. Connections still in their TLS handshake or hello
are capped. A connection that goes silent without closing (frozen through ``tcp_proxy``) is found by
pings, or by a call's timeout, and the work carries on over a new link.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_agents import new_subscription, polling_to, server_thumbprint

from argonaut.agent import config as agent_config
from argonaut.protocol.framing import frame_bytes
from argonaut.protocol.messages import Frame, Hello, Refused, Welcome, encode_frame, parse_frame
from argonaut.security.certificates import NodeCertificate, load_or_create_certificate
from argonaut.security.tls import connecting_context
from conftest import AgentProcess, eventually, follow, run_script, script_task, unique, wait_for_health
from tcp_proxy import cuttable_proxy

BOUND_S = 15.0  # generous: how long something that should happen at once may take on a busy machine


def tls(port: int, certificate: NodeCertificate) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=BOUND_S)
    return connecting_context(certificate).wrap_socket(raw, server_hostname="argonaut")


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the peer closes (or resets) the connection; False if it is still open after BOUND_S."""
    sock.settimeout(BOUND_S)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False
    return True


def exchange_hello(sock: ssl.SSLSocket, hello: Hello) -> Frame:
    sock.sendall(frame_bytes(encode_frame(hello)))
    sock.settimeout(BOUND_S)
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
        chunk = sock.recv(65536)
        assert chunk, "the peer closed instead of answering the hello"
        data += chunk
    return parse_frame(data[4:])


def tune_agent(agent: AgentProcess, **values: Any) -> None:
    """Set agent.json fields that no verb writes (ping timings, admission limits)."""
    config = agent_config.load(agent.home)
    for name, value in values.items():
        setattr(config, name, value)
    agent_config.save(agent.home, config)


@dataclass
class Port:
    """A port that admits TLS links: the server's comms port or an agent's listening port."""

    port: int
    output: list[str]  # the process's log lines, as they come
    good_hello: Hello
    good_answer: type[Welcome] | type[Refused]


@pytest.fixture(params=["server comms port", "agent listening port"])
def make_port(
    request: pytest.FixtureRequest, server_factory: Any, agent_factory: Any, tmp_path: Path
) -> Iterator[tuple[Callable[..., Port], NodeCertificate]]:
    """Starts the process behind one kind of port, with the given limits; and a certificate it accepts
    for a TLS handshake (the agent trusts it; the comms port takes any before the hello)."""
    stranger = load_or_create_certificate(tmp_path, "a stranger")

    def make(max_unauthenticated: int | None = None) -> Port:
        if request.param == "server comms port":
            env = {"ARGONAUT_COMMS_HANDSHAKE_TIMEOUT_S": "60"}
            if max_unauthenticated:
                env["ARGONAUT_COMMS_MAX_UNAUTHENTICATED"] = str(max_unauthenticated)
            srv = server_factory(env=env)
            hello = Hello(versions=(1,), role="agent", subscription="poll://nobodyregisteredthis/")
            return Port(srv.comms_port, srv.output, hello, Refused)
        agent = agent_factory(trust=[stranger.thumbprint], start=False)
        tune_agent(agent, handshake_timeout_s=60.0, max_unauthenticated=max_unauthenticated or 16)
        agent.start()
        return Port(agent.listen_port, agent.output, Hello(versions=(1,), role="server"), Welcome)

    yield make, stranger


BAD_HELLOS = [
    # Over the hello limit but under the link limit: it must not be buffered before admission.
    (struct.pack(">I", 1 << 20) + b"x" * (1 << 20), "announced a frame of 1048576 bytes"),
    # Over every limit: once an unhandled exception with a traceback.
    (struct.pack(">I", 0xFFFFFFFF), "announced a frame of 4294967295 bytes"),
    (struct.pack(">I", 9) + b"not json!", "bad frame"),
]


def test_an_oversized_or_garbage_hello_is_one_warning_line(
    make_port: tuple[Callable[..., Port], NodeCertificate],
) -> None:
    make, stranger = make_port
    port = make()
    for payload, _ in BAD_HELLOS:
        with tls(port.port, stranger) as sock:
            try:
                sock.sendall(payload)
            except OSError:
                pass  # closed while we were still sending: that is the point
            assert closed_by_peer(sock), "the connection stayed open after a bad hello"

    def warnings() -> list[str]:
        return [line for line in port.output if "before its hello" in line]

    eventually("a warning per bad hello", lambda: len(warnings()) >= len(BAD_HELLOS), BOUND_S)
    with tls(port.port, stranger) as sock:  # still serving
        assert isinstance(exchange_hello(sock, port.good_hello), port.good_answer)
    lines = warnings()
    assert len(lines) == len(BAD_HELLOS), lines
    for line, (_, reason) in zip(lines, BAD_HELLOS, strict=True):
        assert "WARNING" in line and reason in line, line
    assert not any("Traceback" in line for line in port.output), "\n".join(port.output)


def test_connections_beyond_the_cap_wait_for_room(
    make_port: tuple[Callable[..., Port], NodeCertificate],
) -> None:
    make, stranger = make_port
    port = make(max_unauthenticated=3)
    idle = ExitStack()
    with idle:
        for _ in range(3):  # connected, saying nothing: each holds a place in its TLS handshake
            idle.enter_context(socket.create_connection(("127.0.0.1", port.port), timeout=BOUND_S))
        waiting = connecting_context(stranger).wrap_socket(
            socket.create_connection(("127.0.0.1", port.port), timeout=BOUND_S),
            server_hostname="argonaut",
            do_handshake_on_connect=False,
        )
        waiting.settimeout(2.0)
        with pytest.raises(TimeoutError):  # not accepted: no one answers its ClientHello
            waiting.do_handshake()
        eventually(
            "a warning about the cap",
            lambda: any("connections wait in the listen backlog" in x for x in port.output),
            BOUND_S,
        )
    # The idle ones went away: the connection that waited is accepted and served, nothing lost.
    with waiting:
        waiting.settimeout(BOUND_S)
        waiting.do_handshake()
        assert isinstance(exchange_hello(waiting, port.good_hello), port.good_answer)
    assert not any("Traceback" in line for line in port.output), "\n".join(port.output)


def test_idle_connections_do_not_hold_up_handshakes(server_factory: Any, tmp_path: Path) -> None:
    """Two handshakes at a time, both taken by peers that say nothing: an agent that speaks up is
    served within its turn's bound, not after the idle ones' 60 s handshake deadline."""
    stranger = load_or_create_certificate(tmp_path, "a stranger")
    srv = server_factory(
        env={"ARGONAUT_COMMS_HANDSHAKE_TIMEOUT_S": "60", "ARGONAUT_COMMS_HANDSHAKES_AT_ONCE": "2"}
    )
    hello = Hello(versions=(1,), role="agent", subscription="poll://nobodyregisteredthis/")
    with ExitStack() as idle:
        for _ in range(2):
            idle.enter_context(socket.create_connection(("127.0.0.1", srv.comms_port), timeout=BOUND_S))
        with tls(srv.comms_port, stranger) as sock:  # BOUND_S, well under the idle ones' 60 s
            assert isinstance(exchange_hello(sock, hello), Refused)


@pytest.mark.parametrize(
    ("how", "env", "found_by"),
    [
        (
            "pings",
            {"ARGONAUT_COMMS_PING_INTERVAL_S": "0.5", "ARGONAUT_COMMS_PING_TIMEOUT_S": "1"},
            "no answer to a ping",
        ),
        (
            "call timeout",
            {"ARGONAUT_COMMS_PING_INTERVAL_S": "0", "ARGONAUT_COMMS_CALL_TIMEOUT_S": "3"},
            "did not answer script.status.v1 within 13s",  # the long poll's 10 s wait, plus 3
        ),
    ],
)
def test_a_half_open_link_to_a_listening_agent_is_found(
    how: str, env: dict[str, str], found_by: str, server_factory: Any, agent_factory: Any
) -> None:
    srv = server_factory(env=env)
    c = srv.client
    agent = agent_factory(trust=[server_thumbprint(c)])
    with cuttable_proxy(agent.listen_port) as proxy:
        pool = c.post("/api/workerpools", json={"Name": unique("Frozen")}).json()["Id"]
        endpoint = {
            "CommunicationStyle": "TentaclePassive",
            "Uri": f"https://127.0.0.1:{proxy.port}/",
            "Thumbprint": agent.thumbprint,
        }
        worker = c.post(
            "/api/workers", json={"Name": unique("frozen"), "WorkerPoolIds": [pool], "Endpoint": endpoint}
        ).json()["Id"]
        health = c.post("/api/tasks", json={"Name": "Health", "Arguments": {"MachineIds": [worker]}})
        follow(c, health.json()["Id"])
        assert c.get(f"/api/workers/{worker}").json()["HealthStatus"] == "Healthy"
        marker = agent.home / "runs"
        body = f"echo run >> {marker}\nfor i in $(seq 1 40); do echo line $i; sleep 0.1; done"
        created = c.post("/api/tasks", json=script_task(body, WorkerPoolIds=[pool])).json()
        with c.stream("GET", f"/api/tasks/{created['Id']}/stream") as stream:
            for line in stream.iter_lines():
                if '"line 5"' in line:
                    proxy.freeze()  # half-open: nothing passes, nothing closes
                    break
        final = follow(c, created["Id"], timeout_s=120)
    raw = c.get(f"/api/tasks/{created['Id']}/raw").text
    assert final["State"] == "Success", raw
    lines = [line.split("|", 1)[1].strip() for line in raw.splitlines() if "|   line " in line]
    assert lines == [f"line {i}" for i in range(1, 41)]  # none lost, none repeated
    assert marker.read_text() == "run\n"  # started once
    assert any(found_by in line for line in srv.output), "\n".join(srv.output)


def test_a_polling_agent_finds_a_half_open_link_and_polls_again(
    server_factory: Any, agent_factory: Any
) -> None:
    srv = server_factory()  # the server pings every 30 s: here the agent must notice first
    c = srv.client
    subscription = new_subscription("frozen")
    agent = agent_factory(listen=False, start=False)
    pool = c.post("/api/workerpools", json={"Name": unique("FrozenPoll")}).json()["Id"]
    endpoint = {"CommunicationStyle": "TentacleActive", "Uri": subscription, "Thumbprint": agent.thumbprint}
    worker = c.post(
        "/api/workers", json={"Name": unique("poller"), "WorkerPoolIds": [pool], "Endpoint": endpoint}
    ).json()["Id"]
    with cuttable_proxy(srv.comms_port) as proxy:
        polling = polling_to(srv, subscription, comms_port=proxy.port)
        agent = agent_factory(listen=False, home=agent.home, polling=[polling], start=False)
        tune_agent(agent, ping_interval_s=0.5, ping_timeout_s=1.0)
        agent.start()
        wait_for_health(c, worker, "Healthy")
        assert run_script(c, "echo before", WorkerPoolIds=[pool])["State"] == "Success"

        def polls() -> int:
            return sum(1 for line in agent.output if f"as {subscription}" in line)

        assert polls() == 1
        proxy.freeze()

        def noticed() -> bool:
            return any("no answer to a ping" in x for x in agent.output)

        eventually("the agent noticing", noticed, BOUND_S)
        eventually("the agent polling again", lambda: polls() == 2, BOUND_S)
        task = run_script(c, "echo after", WorkerPoolIds=[pool])
        assert task["State"] == "Success", c.get(f"/api/tasks/{task['Id']}/raw").text
