"""What routes need from the running node, built once by the server's composition root."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from argonaut.api.task_logs import LogSizes
from argonaut.config import ServerSettings
from argonaut.domain.permissions import Grants
from argonaut.orchestrator.events import TaskEvents
from argonaut.orchestrator.prompt_checks import PromptChecks
from argonaut.orchestrator.queue import TaskQueue
from argonaut.security.master_key import SecretBox
from argonaut.store import Store
from argonaut.store.signals import Signals


@dataclass
class Services:
    settings: ServerSettings
    store: Store
    queue: TaskQueue
    events: TaskEvents
    server_thumbprint: str
    server_certificate_pem: str
    secrets: SecretBox
    checks: PromptChecks  # health checks that should run now: new or changed workers, arriving agents
    signals: Signals  # tells every node of the cluster (PostgreSQL) that something changed
    # The port the node's comms listener is bound to (``--comms-port 0`` picks one), published in the
    # root document so that ``register-worker`` stores the real one; None until it is open.
    comms_port: int | None = None
    # API-key hash -> (user id, username, is_admin); keys never change owner. Revoking a key or changing
    # its user's sign-in sends ``caches``, which clears this on every node.
    key_cache: dict[str, tuple[int, str, bool]] = field(default_factory=dict)
    # API-key hash -> when the key expires (epoch seconds), for cached keys that do; an expired one is
    # looked up again (and refused).
    key_expiry: dict[str, float] = field(default_factory=dict)
    # Route space segment (lower-cased; None = the default space) -> (space id, name). Cleared on every
    # space change, which is rare, so most requests resolve their space without touching the store.
    space_cache: dict[str | None, tuple[int, str]] = field(default_factory=dict)
    # User id -> grants, forgotten whenever users, teams, roles or spaces change (see access_cache.py).
    grants_cache: dict[int, Grants] = field(default_factory=dict)
    # PhysicalLogSize per task, counted incrementally (see task_logs.LogSizes).
    log_sizes: LogSizes = field(default_factory=LogSizes)
    # Log readers read and render one page per turn, so together they never delay others by more than a
    # page's work, however many there are (see task_logs).
    log_turns: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def artifacts_dir(self) -> Path:
        return self.settings.artifacts_dir

    def forget_cached(self, _detail: str = "") -> None:
        """Spaces or keys changed (on any node): resolve them from the store again."""
        self.space_cache.clear()
        self.key_cache.clear()
        self.grants_cache.clear()
        self.key_expiry.clear()


CACHES = "caches"  # the signal that cached spaces and keys are stale


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
