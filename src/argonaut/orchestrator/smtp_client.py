"""Sending one message over SMTP: the seam between the email step and aiosmtplib.

Every way sending can fail becomes :class:`EmailFailed` here, with a sentence that names the server's
answer (code and text) or what went wrong on the way to it, most specific first, so the step's failure
tells an operator what to fix. The login's password is never part of that sentence.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from email.message import EmailMessage

import aiosmtplib

from argonaut.domain.email import SmtpSettings, TlsMode, envelope_address


class EmailFailed(Exception):
    """The message was not (or not wholly) accepted; the text says why."""


async def send_email(settings: SmtpSettings, message: EmailMessage, recipients: Sequence[str]) -> str:
    """Send ``message`` to ``recipients`` (the envelope: To, CC and Bcc); answers the server's final
    reply. Raises :class:`EmailFailed` when the server refuses it or cannot be reached."""
    where = f"{settings.host}:{settings.port}"
    try:
        refused, reply = await aiosmtplib.send(
            message,
            sender=envelope_address(settings.send_from),
            recipients=list(recipients),
            hostname=settings.host,
            port=settings.port,
            username=settings.login,
            password=(settings.password or "") if settings.login else None,
            use_tls=settings.tls is TlsMode.IMPLICIT,
            start_tls=settings.tls is TlsMode.STARTTLS,
            timeout=settings.timeout_ms / 1000,
        )
    except aiosmtplib.SMTPException as exc:
        raise EmailFailed(describe(exc, where, settings.timeout_ms)) from exc
    except ssl.SSLError as exc:
        raise EmailFailed(f"TLS with the SMTP server {where} failed: {exc}") from exc
    except OSError as exc:
        raise EmailFailed(f"Could not reach the SMTP server {where}: {exc}") from exc
    if refused:
        names = "; ".join(f"{address}: {_reply(r.code, r.message)}" for address, r in refused.items())
        raise EmailFailed(f"The SMTP server {where} refused some recipients ({names}); the rest were sent it")
    return reply


def describe(exc: aiosmtplib.SMTPException, where: str, timeout_ms: int) -> str:
    """One sentence for an aiosmtplib error, naming the server's answer where there is one."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        names = "; ".join(f"{r.recipient}: {_reply(r.code, r.message)}" for r in exc.recipients)
        return f"The SMTP server {where} refused every recipient ({names})"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return f"The SMTP server {where} refused the login: {_reply(exc.code, exc.message)}"
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return f"The SMTP server {where} refused the sender {exc.sender}: {_reply(exc.code, exc.message)}"
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return f"The SMTP server {where} did not answer within {timeout_ms} ms ({exc.message})"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"The SMTP server {where} answered {_reply(exc.code, exc.message)}"
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return f"Could not talk to the SMTP server {where}: {exc.message}"
    return f"Sending through the SMTP server {where} failed: {exc.message}"


def _reply(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}"
