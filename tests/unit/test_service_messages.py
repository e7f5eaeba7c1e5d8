"""Service-message parsing must accept exactly what Calamari's helpers print and reject the rest."""

from __future__ import annotations

import base64

import pytest

from argonaut.domain.service_messages import ServiceMessage, format_service_message, parse_service_message


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


PARSED = [
    ("attribute-less switch", "##octopus[stdout-verbose]", "stdout-verbose", {}),
    (
        "setVariable as the Bash helper prints it",
        f"##octopus[setVariable name='{b64('Foo')}' value='{b64('bar baz')}' sensitive='{b64('True')}']",
        "setVariable",
        {"name": "Foo", "value": "bar baz", "sensitive": "True"},
    ),
    (
        "double quotes and extra spaces",
        f'##octopus[ createArtifact  path = "{b64("/tmp/a.txt")}"   name="{b64("a.txt")}" ]',
        "createArtifact",
        {"path": "/tmp/a.txt", "name": "a.txt"},
    ),
    (
        "empty value",
        "##octopus[setVariable name='Rm9v' value='']",
        "setVariable",
        {"name": "Foo", "value": ""},
    ),
    (
        "text before the marker",
        f"prefix ##octopus[resultMessage message='{b64('it broke')}']",
        "resultMessage",
        {"message": "it broke"},
    ),
    (
        "unicode, quotes and newlines survive base64",
        "##octopus[mask value='" + b64("pä$$ wörd\nit's ]") + "']",
        "mask",
        {"value": "pä$$ wörd\nit's ]"},
    ),
    ("trailing carriage return", "##octopus[stdout-default]\r", "stdout-default", {}),
]


@pytest.mark.parametrize(("case", "line", "name", "attributes"), PARSED, ids=[row[0] for row in PARSED])
def test_parses(case: str, line: str, name: str, attributes: dict[str, str]) -> None:
    assert parse_service_message(line) == ServiceMessage(name, attributes)


NOT_MESSAGES = [
    ("ordinary output", "hello world"),
    ("empty line", ""),
    ("marker without brackets", "##octopus is great"),
    ("unterminated", "##octopus[setVariable name='Rm9v'"),
    ("invalid base64", "##octopus[setVariable name='not base64!']"),
    ("unquoted attribute", "##octopus[setVariable name=Rm9v]"),
    ("garbage in the body", "##octopus[setVariable ??? name='Rm9v']"),
    ("no name", "##octopus[]"),
    ("single hash", "#octopus[stdout-verbose]"),
]


@pytest.mark.parametrize(("case", "line"), NOT_MESSAGES, ids=[row[0] for row in NOT_MESSAGES])
def test_ordinary_lines_are_not_messages(case: str, line: str) -> None:
    assert parse_service_message(line) is None


ROUND_TRIPS = [
    ("stdout-warning", {}),
    ("setVariable", {"name": "Octopus.Action[Step 1].Output.Url", "value": "https://x/?a=1&b='2'"}),
    ("mask", {"value": "ünïcödé ✓ 日本"}),
    ("resultMessage", {"message": "line one\nline two ] [ '"}),
    ("createArtifact", {"path": "/a/b c.txt", "name": "b c.txt", "length": "12"}),
    ("setVariable", {"name": "Empty", "value": ""}),
]


@pytest.mark.parametrize(("name", "attributes"), ROUND_TRIPS)
def test_format_round_trips(name: str, attributes: dict[str, str]) -> None:
    line = format_service_message(name, **attributes)
    assert "\n" not in line
    assert parse_service_message(line) == ServiceMessage(name, attributes)


FORMATTED = [
    ("stdout-verbose", {}, "##octopus[stdout-verbose]"),
    ("setVariable", {"name": "Foo", "value": "bar"}, "##octopus[setVariable name='Rm9v' value='YmFy']"),
]


@pytest.mark.parametrize(("name", "attributes", "expected"), FORMATTED)
def test_format_matches_calamari_layout(name: str, attributes: dict[str, str], expected: str) -> None:
    assert format_service_message(name, **attributes) == expected


INVALID_NAMES = [
    ("bad message name", "set variable", {}),
    ("bracket in name", "a]b", {}),
    ("bad attribute name", "setVariable", {"bad name": "x"}),
]


@pytest.mark.parametrize(("case", "name", "attributes"), INVALID_NAMES, ids=[row[0] for row in INVALID_NAMES])
def test_format_rejects_names_that_would_not_parse(case: str, name: str, attributes: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        format_service_message(name, **attributes)


LOOKUPS = [
    ("exact", {"name": "Foo"}, "name", "Foo"),
    ("different case, as Calamari allows", {"Name": "Foo"}, "name", "Foo"),
    ("missing", {"name": "Foo"}, "value", None),
]


@pytest.mark.parametrize(("case", "attributes", "key", "expected"), LOOKUPS, ids=[row[0] for row in LOOKUPS])
def test_attribute_lookup_ignores_case(
    case: str, attributes: dict[str, str], key: str, expected: str | None
) -> None:
    assert ServiceMessage("setVariable", attributes).get(key) == expected
