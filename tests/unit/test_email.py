"""The email step's pure rules: which TLS a configuration means, addresses, priorities, the message an
action's properties describe, and what SMTP settings are refused."""

from __future__ import annotations

import pytest

from argonaut.domain.email import (
    EmailContent,
    TlsMode,
    email_content,
    is_email_address,
    priority_headers,
    smtp_problems,
    split_addresses,
    tls_mode,
)

PLAIN, TLS, START = TlsMode.NONE, TlsMode.IMPLICIT, TlsMode.STARTTLS


@pytest.mark.parametrize(
    ("enable_ssl", "chosen", "port", "expected"),
    [
        (None, None, 25, PLAIN),
        (False, None, 465, PLAIN),
        (False, START, 587, PLAIN),  # a client that knows only EnableSsl switched TLS off
        (True, None, 465, TLS),
        (True, None, 587, START),
        (True, None, 25, START),
        (True, PLAIN, 465, TLS),  # EnableSsl true with TlsMode None: decided by the port
        (True, TLS, 2525, TLS),
        (True, START, 465, START),
        (None, TLS, 2525, TLS),
        (None, START, 25, START),
    ],
)
def test_tls_mode(enable_ssl: bool | None, chosen: TlsMode | None, port: int, expected: TlsMode) -> None:
    assert tls_mode(enable_ssl, chosen, port) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ops@example.com", True),
        ("Ops Team <ops@example.com>", True),
        ("ops@localhost", True),
        ("ops", False),
        ("", False),
        ("ops@example.com\r\nBcc: x@example.com", False),
        ("a b@example.com", False),
    ],
)
def test_is_email_address(text: str, expected: bool) -> None:
    assert is_email_address(text) is expected


def test_split_addresses_takes_commas_semicolons_and_lines() -> None:
    assert split_addresses(" a@x.io; b@x.io ,c@x.io\n;; ") == ["a@x.io", "b@x.io", "c@x.io"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("High", {"X-Priority": "1", "Importance": "high"}),
        ("low", {"X-Priority": "5", "Importance": "low"}),
        ("", {"X-Priority": "3", "Importance": "normal"}),
        ("Urgent", None),
    ],
)
def test_priority_headers(text: str, expected: dict[str, str] | None) -> None:
    assert priority_headers(text) == expected


def test_email_content_substitutes_every_property_and_flattens_the_subject() -> None:
    properties = {
        "Octopus.Action.Email.To": "#{Team}",
        "Octopus.Action.Email.Bcc": "audit@x.io",
        "Octopus.Action.Email.Subject": "Deployed #{Project}\nBcc: evil@x.io",
        "Octopus.Action.Email.Body": "<b>#{Project}</b>",
        "Octopus.Action.Email.IsHtml": "True",
        "Octopus.Action.Email.Priority": "#{Level}",
    }
    content = email_content(properties, {"Team": "a@x.io;b@x.io", "Project": "Web", "Level": "Loud"})
    assert isinstance(content, EmailContent)
    assert (content.to, content.cc, content.bcc) == (("a@x.io", "b@x.io"), (), ("audit@x.io",))
    assert content.subject == "Deployed Web Bcc: evil@x.io"  # one line: no header of its own
    assert (content.body, content.is_html) == ("<b>Web</b>", True)
    assert content.priority["X-Priority"] == "3" and "not Low, Normal or High" in content.warnings[0]
    assert content.recipients == ["a@x.io", "b@x.io", "audit@x.io"]


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({}, "no recipients"),
        ({"Octopus.Action.Email.To": "ops"}, "'ops' is not an email address"),
        ({"Octopus.Action.Email.To": "a@x.io", "Octopus.Action.Email.CC": "x@"}, "CC: 'x@'"),
    ],
)
def test_email_content_refuses(properties: dict[str, str], problem: str) -> None:
    found = email_content(properties, {})
    assert isinstance(found, str) and problem in found


@pytest.mark.parametrize(
    ("host", "port", "send_from", "timeout_ms", "problems"),
    [
        ("smtp.example.com", 587, "a@x.io", 12000, []),
        ("", 25, "", 12000, []),  # not configured is allowed: it switches email off
        ("smtp.example.com", 25, "", 12000, ["SendEmailFrom is required"]),
        ("smtp.example.com", 0, "a@x.io", 12000, ["SmtpPort must be between 1 and 65535"]),
        ("smtp\x00.example.com", 25, "a@x.io", 12000, ["SmtpHost must be a host name"]),
        ("smtp example", 0, "nobody", 0, ["SmtpPort", "Timeout", "SmtpHost", "SendEmailFrom"]),
    ],
)
def test_smtp_problems(host: str, port: int, send_from: str, timeout_ms: int, problems: list[str]) -> None:
    found = smtp_problems(host, port, send_from, timeout_ms)
    assert len(found) == len(problems) and all(p in f for p, f in zip(problems, found, strict=True)), found
