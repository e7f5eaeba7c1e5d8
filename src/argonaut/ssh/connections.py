"""SSH connections to workers: host keys verified before any credential is sent, connections reused.

The server trusts a machine's host key only by the fingerprint recorded for the worker. asyncssh asks
:meth:`_Client.validate_host_public_key` during key exchange, before authentication, so a machine that
presents another key never sees a password. Each login keeps one connection, shared by all of its
steps (SSH multiplexes channels); a per-host semaphore bounds the channels open at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass

import asyncssh

from argonaut.ssh.keys import BadKey, load_private_key

CONNECT_TIMEOUT_S = 15.0
CHANNELS_PER_HOST = 8
PREFERRED_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)


class SshError(Exception):
    """Why a machine could not be used, in words safe to log: never a secret."""

    def __init__(self, message: str, reachable: bool = True) -> None:
        super().__init__(message)
        self.reachable = reachable  # False: nothing answered (Unavailable); True: it answered but refused


@dataclass(frozen=True, slots=True)
class Login:
    host: str
    port: int
    username: str
    fingerprint: str | None
    password: str | None = None
    private_key: bytes | None = None
    passphrase: str | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def fingerprint_of(key: asyncssh.SSHKey) -> str:
    """OpenSSH's SHA-256 fingerprint, as `ssh-keygen -lf` prints it: SHA256:<base64, unpadded>."""
    return str(key.get_fingerprint("sha256"))


def fingerprint_matches(expected: str, key: asyncssh.SSHKey) -> bool:
    """Accept the SHA-256 form, or the older MD5 colon-hex form the described system shows."""
    wanted = expected.strip()
    if wanted.upper().startswith("SHA256:"):
        return wanted[7:].rstrip("=") == fingerprint_of(key)[7:]
    md5 = hashlib.md5(key.public_data, usedforsecurity=False).hexdigest()
    colon = ":".join(md5[i : i + 2] for i in range(0, len(md5), 2))
    bare = wanted.lower().removeprefix("md5:").replace("-", ":")
    return bare in (colon, md5) or wanted == base64.b64encode(key.public_data).decode()


class _Client(asyncssh.SSHClient):
    def __init__(self, expected: str | None) -> None:
        self.expected = expected
        self.presented: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.presented = fingerprint_of(key)
        return self.expected is not None and fingerprint_matches(self.expected, key)


async def discover_fingerprint(host: str, port: int, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    """The host key fingerprint a machine presents; nothing is authenticated, no credential sent."""
    client = _Client(None)
    try:
        connection = await asyncssh.connect(
            host,
            port,
            username="argonaut-discovery",
            known_hosts=([], [], []),
            client_factory=lambda: client,
            connect_timeout=timeout_s,
            config=[],
            agent_path=None,
        )
        connection.close()
    except asyncssh.HostKeyNotVerifiable:
        pass
    except (OSError, asyncssh.Error, TimeoutError, ValueError, UnicodeError) as exc:
        raise SshError(
            f"cannot reach {host}:{port} over SSH: {exc or type(exc).__name__}", reachable=False
        ) from None
    if client.presented is None:
        raise SshError(f"{host}:{port} presented no host key")
    return client.presented


class SshConnections:
    def __init__(self) -> None:
        self._open: dict[tuple[str, int, str, str | None], asyncssh.SSHClientConnection] = {}
        self._locks: dict[tuple[str, int, str, str | None], asyncio.Lock] = {}
        self._channels: dict[str, asyncio.Semaphore] = {}

    def channel_slot(self, login: Login) -> asyncio.Semaphore:
        return self._channels.setdefault(login.where, asyncio.Semaphore(CHANNELS_PER_HOST))

    async def connection(self, login: Login) -> asyncssh.SSHClientConnection:
        key = (login.host, login.port, login.username, login.fingerprint)
        async with self._locks.setdefault(key, asyncio.Lock()):
            current = self._open.get(key)
            if (
                current is not None
                and current.get_extra_info("socket") is not None
                and not current.is_closed()
            ):
                return current
            self._open[key] = connection = await self._connect(login)
            return connection

    def forget(self, login: Login) -> None:
        connection = self._open.pop((login.host, login.port, login.username, login.fingerprint), None)
        if connection is not None:
            connection.close()

    async def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()

    async def _connect(self, login: Login) -> asyncssh.SSHClientConnection:
        if not login.fingerprint:
            raise SshError(
                f"no host key fingerprint is recorded for {login.where}: discover it "
                "(GET /api/{spaceId}/workers/discover?host=…&port=…&type=Ssh) and confirm it on the worker"
            )
        keys = []
        if login.private_key is not None:
            try:
                keys.append(load_private_key(login.private_key, login.passphrase))
            except BadKey as exc:
                raise SshError(f"cannot log in to {login.where}: {exc}") from None
        client = _Client(login.fingerprint)
        try:
            return await asyncssh.connect(
                login.host,
                login.port,
                username=login.username,
                password=login.password,
                client_keys=keys or None,
                known_hosts=([], [], []),
                client_factory=lambda: client,
                connect_timeout=CONNECT_TIMEOUT_S,
                config=[],
                agent_path=None,
                keepalive_interval=30,
                # AES-GCM first: asyncssh's ChaCha20-Poly1305 builds three cipher objects per packet and
                # was a quarter of the server's CPU on SSH steps (bench/ssh.py).
                encryption_algs=PREFERRED_CIPHERS,
            )
        except asyncssh.HostKeyNotVerifiable:
            raise SshError(
                f"the host key of {login.where} does not match: expected {login.fingerprint}, "
                f"presented {client.presented}; if the machine was rebuilt, discover and confirm the new key"
            ) from None
        except asyncssh.PermissionDenied:
            raise SshError(
                f"{login.where} refused the login of '{login.username}': check the account"
            ) from None
        except (OSError, TimeoutError) as exc:
            raise SshError(
                f"cannot reach {login.where} over SSH: {exc or type(exc).__name__}", reachable=False
            ) from None
        except asyncssh.Error as exc:
            raise SshError(f"SSH to {login.where} failed: {exc.reason}") from None
