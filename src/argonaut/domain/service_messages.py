"""Octopus service messages: ``##octopus[name key='base64' ...]`` lines that scripts print to stdout.

Scripts written for Octopus talk to the runner this way (set output variables, collect artifacts, fail
the step, switch the log level), so the format must stay byte-compatible with Calamari: attribute
values are base64 of UTF-8 text so that any value, including quotes, brackets and newlines, fits on
one line.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MARKER = "##octopus"

_NAME = r"[A-Za-z_][\w.\-]*"
_ATTRIBUTE = re.compile(rf"\s+({_NAME})\s*=\s*(?:'([^']*)'|\"([^\"]*)\")")
# The whole bracketed body must match, so a line that merely mentions ``##octopus[`` stays output.
_MESSAGE = re.compile(rf"##octopus\[\s*({_NAME})((?:\s+{_NAME}\s*=\s*(?:'[^']*'|\"[^\"]*\"))*)\s*\]")
_VALID_NAME = re.compile(rf"{_NAME}\Z")
_BASE64_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ServiceMessage:
    """One decoded message; attribute names keep their spelling, lookups ignore case like Calamari."""

    name: str
    attributes: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        """Calamari reads attributes case-insensitively, so scripts spelling ``Name=`` still work."""
        value = self.attributes.get(key)
        if value is not None:
            return value
        folded = key.casefold()
        for candidate, candidate_value in self.attributes.items():
            if candidate.casefold() == folded:
                return candidate_value
        return default


def parse_service_message(line: str) -> ServiceMessage | None:
    """Decode the message a line carries, or None when the line is ordinary output.

    A malformed message (bad syntax or invalid base64) also yields None: the caller then logs the line,
    which shows the author what went wrong instead of silently swallowing it.
    """
    if MARKER not in line:
        return None
    match = _MESSAGE.search(line)
    if match is None:
        return None
    attributes: dict[str, str] = {}
    for attribute in _ATTRIBUTE.finditer(match.group(2)):
        raw = attribute.group(2) if attribute.group(2) is not None else attribute.group(3)
        decoded = _decode(raw)
        if decoded is None:
            return None
        attributes[attribute.group(1)] = decoded
    return ServiceMessage(match.group(1), attributes)


def format_service_message(name: str, /, **attributes: str) -> str:
    """Encode a message line (without newline) that ``parse_service_message`` reads back unchanged.

    ``name`` is positional-only because ``name`` is also a common attribute (``setVariable name=...``).
    """
    if not _VALID_NAME.match(name):
        raise ValueError(f"'{name}' is not a valid service message name")
    parts = [f"##octopus[{name}"]
    for key, value in attributes.items():
        if not _VALID_NAME.match(key):
            raise ValueError(f"'{key}' is not a valid service message attribute name")
        parts.append(f" {key}='{base64.b64encode(value.encode('utf-8')).decode('ascii')}'")
    parts.append("]")
    return "".join(parts)


def _decode(raw: str) -> str | None:
    # Calamari (Convert.FromBase64String) tolerates embedded whitespace but nothing else.
    try:
        data = base64.b64decode(_BASE64_WHITESPACE.sub("", raw), validate=True)
    except (binascii.Error, ValueError):
        return None
    # Calamari decodes with replacement characters; a stray byte must not drop the whole message.
    return data.decode("utf-8", errors="replace")
