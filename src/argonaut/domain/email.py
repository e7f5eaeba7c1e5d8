"""Email without I/O: the SMTP settings the server sends with, and the rules of the ``Octopus.Email`` step.

The server sends the mail itself (no worker, no user code), so what goes into a message's headers is
checked here: addresses and subjects that hold a line break are refused or flattened, since a header
with one would let a variable's value add headers (a ``Bcc:`` the step's author never wrote).

TLS (our choice where the described system is silent). ``EnableSsl`` is the described system's one
switch; clients made for it pair it with port 587 (STARTTLS) as often as with 465 (TLS from the first
byte). So ``EnableSsl: true`` means TLS from the first byte on port 465 and a required STARTTLS on any
other port, as mail clients' "automatic" choice does; ``TlsMode`` (ours: ``None``, ``Implicit``,
``StartTls``) says which one outright. ``EnableSsl: false`` is a plain connection, never upgraded, so a
relay advertising STARTTLS with a certificate nobody trusts does not break mail that worked without.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from enum import StrEnum

from argonaut.domain.substitution import substitute

DEFAULT_PORT = 25
IMPLICIT_TLS_PORT = 465
DEFAULT_TIMEOUT_MS = 12_000
MAX_TIMEOUT_MS = 600_000  # a step waiting longer on one SMTP answer is stuck, not slow
NOT_CONFIGURED = "SMTP is not configured: set it at /api/smtpconfiguration"

EMAIL = "Octopus.Email"
TO = "Octopus.Action.Email.To"
TO_TEAMS = "Octopus.Action.Email.ToTeamIds"
CC = "Octopus.Action.Email.CC"
BCC = "Octopus.Action.Email.Bcc"
SUBJECT = "Octopus.Action.Email.Subject"
BODY = "Octopus.Action.Email.Body"
IS_HTML = "Octopus.Action.Email.IsHtml"
PRIORITY = "Octopus.Action.Email.Priority"

_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
_SEPARATORS = re.compile(r"[,;\r\n]")
_PRIORITIES = {"low": ("5", "low"), "normal": ("3", "normal"), "high": ("1", "high")}


class TlsMode(StrEnum):
    NONE = "None"  # plain SMTP
    IMPLICIT = "Implicit"  # TLS from the first byte (SMTPS)
    STARTTLS = "StartTls"  # plain connect, then STARTTLS, which must succeed


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """What the email step sends with; ``password`` is the plain text, never logged or shown."""

    host: str
    port: int
    send_from: str
    tls: TlsMode
    timeout_ms: int
    login: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_tls_mode(text: str) -> TlsMode | None:
    """``TlsMode`` as a client wrote it (any case); None when it names no mode."""
    return {m.value.casefold(): m for m in TlsMode}.get(text.strip().casefold())


def tls_mode(enable_ssl: bool | None, chosen: TlsMode | None, port: int) -> TlsMode:
    """The mode a configuration asks for (see the module docstring). ``EnableSsl: false`` wins over a
    ``TlsMode`` sent beside it, because a client knowing only ``EnableSsl`` echoes back the ``TlsMode``
    it read while switching TLS off; ``EnableSsl: true`` with ``TlsMode: None`` is decided by the port."""
    if enable_ssl is False:
        return TlsMode.NONE
    if chosen is not None and (enable_ssl is None or chosen is not TlsMode.NONE):
        return chosen
    if enable_ssl:
        return TlsMode.IMPLICIT if port == IMPLICIT_TLS_PORT else TlsMode.STARTTLS
    return TlsMode.NONE


def is_email_address(text: str) -> bool:
    """An address, with or without a display name (``Ops <ops@example.com>``); no line breaks."""
    if "\r" in text or "\n" in text:
        return False
    _, address = parseaddr(text)
    return bool(address) and _ADDRESS.fullmatch(address) is not None


def split_addresses(text: str) -> list[str]:
    """Recipients as the described system lists them: separated by commas or semicolons."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def envelope_address(text: str) -> str:
    """The bare address of ``Name <a@b>``, what SMTP's ``RCPT TO`` takes."""
    return parseaddr(text)[1]


def bad_addresses(addresses: Iterable[str]) -> list[str]:
    return [a for a in addresses if not is_email_address(a)]


def priority_headers(text: str) -> dict[str, str] | None:
    """``Low``/``Normal``/``High`` (any case; empty is Normal) as headers mail clients read; None for
    anything else."""
    found = _PRIORITIES.get(text.strip().casefold() or "normal")
    if found is None:
        return None
    return {"X-Priority": found[0], "Importance": found[1]}


def one_line(text: str) -> str:
    """A header value on one line: line breaks in a substituted subject become spaces."""
    return " ".join(text.splitlines()).strip()


def smtp_problems(host: str, port: int, send_from: str, timeout_ms: int) -> list[str]:
    """What is wrong with SMTP settings; empty when they can be stored. No host means not configured,
    which is allowed (it is how SMTP is switched off); a host needs an address to send from."""
    problems = []
    if not 1 <= port <= 65535:
        problems.append(f"SmtpPort must be between 1 and 65535, not {port}")
    if not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
        problems.append(f"Timeout must be between 1 and {MAX_TIMEOUT_MS} milliseconds, not {timeout_ms}")
    if any(c.isspace() or not c.isprintable() for c in host) or "/" in host:
        problems.append(f"SmtpHost must be a host name or address, not '{host}'")
    if send_from and not is_email_address(send_from):
        problems.append(f"SendEmailFrom must be an email address, not '{send_from}'")
    elif host and not send_from:
        problems.append("SendEmailFrom is required when SmtpHost is set: the address mail is sent from")
    return problems


@dataclass(frozen=True, slots=True)
class EmailContent:
    """An email step's message after substitution, ready to be sent."""

    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    body: str
    is_html: bool
    priority: dict[str, str]
    warnings: tuple[str, ...] = ()  # said in the task log; the email is still sent

    @property
    def recipients(self) -> list[str]:
        """The envelope: every To, CC and Bcc address once, bare."""
        return list(dict.fromkeys(envelope_address(a) for a in (*self.to, *self.cc, *self.bcc)))


def email_content(properties: Mapping[str, str], variables: Mapping[str, str]) -> EmailContent | str:
    """The message an email step's properties describe, with ``#{…}`` substituted in every one of them;
    or why it cannot be sent."""

    def value(name: str) -> str:
        return substitute(properties.get(name, ""), variables)

    lists = {name: split_addresses(value(name)) for name in (TO, CC, BCC)}
    if not any(lists.values()):
        return f"The email has no recipients: set {TO}"
    for name, addresses in lists.items():
        bad = bad_addresses(addresses)
        if bad:
            return f"{name}: '{bad[0]}' is not an email address"
    warnings = []
    if value(TO_TEAMS).strip():
        warnings.append(f"{TO_TEAMS} is not honoured yet (there are no teams); sending to To, CC and Bcc")
    priority = priority_headers(value(PRIORITY))
    if priority is None:
        warnings.append(f"{PRIORITY} '{value(PRIORITY)}' is not Low, Normal or High; sending as Normal")
        priority = priority_headers("Normal") or {}
    return EmailContent(
        to=tuple(lists[TO]),
        cc=tuple(lists[CC]),
        bcc=tuple(lists[BCC]),
        subject=one_line(value(SUBJECT)),
        body=value(BODY),
        is_html=value(IS_HTML).strip().casefold() == "true",
        priority=priority,
        warnings=tuple(warnings),
    )
