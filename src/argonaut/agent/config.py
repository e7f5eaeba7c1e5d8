"""An agent instance's configuration: one JSON file in the agent's home folder, plus its certificate.

The file is the agent's whole memory of whom it trusts and how it talks: written only by the
``argonaut agent`` verbs, read by ``argonaut agent run``. Writes replace the file atomically, so a crash
mid-write never leaves an agent that trusts nobody (or everybody).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAME = "agent.json"
DEFAULT_LISTEN_PORT = 10933
DEFAULT_SERVER_COMMS_PORT = 10943


@dataclass
class TrustedServer:
    """A server whose certificate thumbprint the agent accepts."""

    thumbprint: str


ANY_NODE = "*"  # a comms address behind which any node of a cluster may answer


@dataclass
class PollingServer:
    """A server this agent polls: it connects out to ``host:comms_port`` and asks for work."""

    url: str  # the server's HTTP address, as given to register-worker (identifies the server)
    host: str
    comms_port: int
    subscription_id: str  # poll://<20 lower-case letters>/
    thumbprint: str  # the server certificate thumbprint to pin; ANY_NODE: any server this agent trusts


@dataclass
class KnownServer:
    """A server this listening agent is registered with: told at start so it checks the agent at once."""

    url: str
    host: str
    comms_port: int
    thumbprint: str


@dataclass
class AgentConfig:
    listen: bool = True
    listen_address: str = "127.0.0.1"
    listen_port: int = DEFAULT_LISTEN_PORT
    trusted: list[TrustedServer] = field(default_factory=list)
    polling: list[PollingServer] = field(default_factory=list)
    announce_to: list[KnownServer] = field(default_factory=list)
    # Link upkeep, written by no verb (edit agent.json to change): pings find a dead connection to a
    # server (a polling agent then reconnects); the cap bounds connections to the listening port that
    # have not yet shown a trusted certificate.
    ping_interval_s: float = 30.0
    ping_timeout_s: float = 30.0
    max_unauthenticated: int = 16
    handshake_timeout_s: float = 10.0

    def trusts(self, thumbprint: str) -> bool:
        return any(t.thumbprint == thumbprint.upper() for t in self.trusted)

    def trust(self, thumbprint: str) -> None:
        if not self.trusts(thumbprint):
            self.trusted.append(TrustedServer(thumbprint.upper()))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentConfig:
        return cls(
            listen=bool(data.get("listen", True)),
            listen_address=str(data.get("listen_address", "127.0.0.1")),
            listen_port=int(data.get("listen_port", DEFAULT_LISTEN_PORT)),
            trusted=[TrustedServer(str(t["thumbprint"]).upper()) for t in data.get("trusted", [])],
            polling=[PollingServer(**p) for p in data.get("polling", [])],
            announce_to=[KnownServer(**k) for k in data.get("announce_to", [])],
            ping_interval_s=float(data.get("ping_interval_s", 30.0)),
            ping_timeout_s=float(data.get("ping_timeout_s", 30.0)),
            max_unauthenticated=int(data.get("max_unauthenticated", 16)),
            handshake_timeout_s=float(data.get("handshake_timeout_s", 10.0)),
        )


class NoInstance(Exception):
    """The home folder holds no agent instance yet."""


def config_path(home: Path) -> Path:
    return home / CONFIG_NAME


def load(home: Path) -> AgentConfig:
    path = config_path(home)
    if not path.exists():
        raise NoInstance(
            f"No agent instance in {home}: run 'argonaut agent create-instance --home {home}' first"
        )
    return AgentConfig.from_json(json.loads(path.read_text()))


def save(home: Path, config: AgentConfig) -> None:
    home.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=home, prefix=".agent-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(config.to_json(), handle, indent=2)
    os.replace(temporary, config_path(home))
