"""What a node checks before it serves anything, so that a refusal is one clear line, not a traceback.

A node must share the cluster's master key: with another key it would write secrets no other node can
read, and fail to read theirs. The first node to start records a check value made with its key; every
later start proves its key against it. Its HTTP and comms ports must be free.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from sqlalchemy.exc import IntegrityError

from argonaut.config import ServerSettings
from argonaut.security.master_key import SecretBox, WrongMasterKey, node_master_key
from argonaut.server.home import prepare_home
from argonaut.store import Store, nodes_repo

KEY_CHECK = "master_key_check"


class StartupRefused(Exception):
    """Why this node will not start, in words for its operator."""


async def preflight(settings: ServerSettings) -> SecretBox:
    """Open the store (bringing its schema up to date) and prove this node's master key; answers the
    box that encrypts with it."""
    given = settings.master_key.get_secret_value() if settings.master_key else None
    _ports_free(settings)
    prepare_home(settings)  # its modes set before the key is written in it
    try:
        box = SecretBox(node_master_key(settings.home / "master.key", given))
    except (WrongMasterKey, ValueError) as exc:
        raise StartupRefused(str(exc)) from None
    store = Store(settings.database_url)
    try:
        await store.open()
        await _prove_key(store, box)
    finally:
        await store.close()
    return box


def _ports_free(settings: ServerSettings) -> None:
    """Both ports can be bound: else a clear refusal, where binding them later, inside the app's
    startup, ended the node with a long traceback (a second node started on this machine, say)."""
    for port, what, option in (
        (settings.listen_port, "HTTP port", "--listen"),
        (settings.comms_port, "comms port", "--comms-port"),
    ):
        try:
            infos = socket.getaddrinfo(settings.listen_host, port, type=socket.SOCK_STREAM) if port else []
        except OSError:
            continue  # an address that does not resolve is the bind's to report
        for family, kind, proto, _, address in infos:
            problem = _bind_problem(family, kind, proto, address)
            if problem is None:
                continue
            where = f"the {what} {address[0]}:{port}"
            if problem.errno == errno.EADDRINUSE:
                raise StartupRefused(
                    f"{where} is in use (another node on this machine?): stop that, or give this node "
                    f"another with {option}"
                )
            raise StartupRefused(f"cannot use {where}: {problem.strerror}")


def _bind_problem(family: int, kind: int, proto: int, address: Any) -> OSError | None:
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the real listeners do
        try:
            probe.bind(address)
        except OSError as exc:
            return exc
    return None


async def _prove_key(store: Store, box: SecretBox) -> None:
    for _ in range(2):
        async with store.transaction() as conn:
            recorded = await nodes_repo.setting(conn, KEY_CHECK)
        if recorded is not None:
            if not box.matches(recorded):
                raise StartupRefused(
                    "this node's master key is not the one the cluster's secrets are encrypted with. Give "
                    "every node the same key: copy master.key from another node's home folder, or set "
                    "ARGONAUT_MASTER_KEY to the same value on every node"
                )
            return
        try:
            async with store.transaction() as conn:
                await nodes_repo.set_setting(conn, KEY_CHECK, box.check_value())
            return
        except IntegrityError:  # another node recorded its check first: prove ours against it
            continue
