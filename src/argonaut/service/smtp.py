"""The SMTP settings the ``Octopus.Email`` step sends with: one document for the whole cluster.

Stored as JSON text in ``cluster_settings`` under ``smtp``, so every node sends with the same settings.
The password is encrypted with the master key before it is stored and is never answered again: reads
say only whether there is one. As for other secrets, a write's ``NewValue`` replaces it, leaving it out
keeps it, and ``HasValue: false`` (or an empty ``NewValue``) removes it. The other fields are the
whole document, as a PUT of the described system's resource is: a field left out takes its default.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from argonaut.domain.email import (
    DEFAULT_PORT,
    DEFAULT_TIMEOUT_MS,
    SmtpSettings,
    TlsMode,
    parse_tls_mode,
    smtp_problems,
    tls_mode,
)
from argonaut.security.master_key import SecretBox
from argonaut.service.errors import Invalid
from argonaut.store import Store, nodes_repo
from argonaut.store.connection import Conn

SETTING = "smtp"


@dataclass(frozen=True, slots=True)
class SmtpChange:
    """What a client sends; None is a field it left out."""

    host: str | None = None
    port: int | None = None
    send_from: str | None = None
    login: str | None = None
    enable_ssl: bool | None = None
    tls_mode: str | None = None
    timeout_ms: int | None = None
    new_password: str | None = None  # replaces the stored one ("" removes it)
    password_kept: bool = True  # False: the client said HasValue false, so there is none


@dataclass(frozen=True, slots=True)
class StoredSmtp:
    """The stored document; ``password`` is the ciphertext, or None."""

    host: str = ""
    port: int = DEFAULT_PORT
    send_from: str = ""
    login: str = ""
    tls: TlsMode = TlsMode.NONE
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    password: str | None = None

    @property
    def is_configured(self) -> bool:
        return bool(self.host)

    def to_json(self) -> str:
        return json.dumps(
            {
                "Host": self.host,
                "Port": self.port,
                "From": self.send_from,
                "Login": self.login,
                "Tls": self.tls.value,
                "TimeoutMs": self.timeout_ms,
                "Password": self.password,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> StoredSmtp:
        data: dict[str, Any] = json.loads(text)
        return cls(
            str(data.get("Host") or ""),
            int(data.get("Port") or DEFAULT_PORT),
            str(data.get("From") or ""),
            str(data.get("Login") or ""),
            parse_tls_mode(str(data.get("Tls") or "")) or TlsMode.NONE,
            int(data.get("TimeoutMs") or DEFAULT_TIMEOUT_MS),
            data.get("Password"),
        )


async def read_smtp(conn: Conn) -> StoredSmtp:
    """The stored settings, or the defaults (not configured) when none were ever saved."""
    text = await nodes_repo.setting(conn, SETTING)
    return StoredSmtp.from_json(text) if text else StoredSmtp()


async def save_smtp(conn: Conn, secrets: SecretBox, change: SmtpChange) -> StoredSmtp:
    """Check and store a client's settings; raises ``Invalid`` naming every problem."""
    current = await read_smtp(conn)
    port = DEFAULT_PORT if change.port is None else change.port
    chosen = None
    problems = []
    if change.tls_mode is not None and change.tls_mode.strip():
        chosen = parse_tls_mode(change.tls_mode)
        if chosen is None:
            names = ", ".join(m.value for m in TlsMode)
            problems.append(f"TlsMode must be one of {names}, not '{change.tls_mode}'")
    stored = StoredSmtp(
        (change.host or "").strip(),
        port,
        (change.send_from or "").strip(),
        (change.login or "").strip(),
        tls_mode(change.enable_ssl, chosen, port),
        DEFAULT_TIMEOUT_MS if change.timeout_ms is None else change.timeout_ms,
        _password(current.password, change, secrets),
    )
    problems += smtp_problems(stored.host, stored.port, stored.send_from, stored.timeout_ms)
    if problems:
        raise Invalid("The SMTP configuration is not valid.", problems)
    await nodes_repo.put_setting(conn, SETTING, stored.to_json())
    return stored


def _password(current: str | None, change: SmtpChange, secrets: SecretBox) -> str | None:
    if change.new_password is not None:
        return secrets.encrypt(change.new_password) if change.new_password else None
    return current if change.password_kept else None


async def smtp_for_sending(conn: Conn, secrets: SecretBox) -> SmtpSettings | None:
    """The settings with the password decrypted, for the email step; None when SMTP is not configured."""
    stored = await read_smtp(conn)
    if not stored.is_configured:
        return None
    return SmtpSettings(
        host=stored.host,
        port=stored.port,
        send_from=stored.send_from,
        tls=stored.tls,
        timeout_ms=stored.timeout_ms,
        login=stored.login or None,
        password=secrets.decrypt(stored.password) if stored.password else None,
    )


def loader(store: Store, secrets: SecretBox) -> Callable[[], Awaitable[SmtpSettings | None]]:
    """The email step's ``load_settings``: read at every send, so a PUT on any node applies at once."""

    async def load() -> SmtpSettings | None:
        async with store.single() as conn:
            return await smtp_for_sending(conn, secrets)

    return load
