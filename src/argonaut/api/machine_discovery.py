"""``GET /{workers|machines}/discover``: what a machine presents before it is registered, for a person to
confirm in the add-worker and add-target wizards: an SSH host's key fingerprint (``type=Ssh``) or a
listening agent's certificate thumbprint (``type=TentaclePassive``). The server connects only to the
host and port given, and trusts nothing it sees: registering the machine is a separate request.
"""

from __future__ import annotations

import re
import ssl
from functools import cache
from pathlib import Path
from typing import Any

from argonaut.api.errors import bad_request
from argonaut.api.services import Services
from argonaut.comms.discovery import DiscoveryFailed, listening_thumbprint
from argonaut.security.certificates import load_or_create_certificate
from argonaut.security.tls import connecting_context
from argonaut.ssh.connections import SshError, discover_fingerprint

_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.?)+$|^[0-9A-Fa-f:.]+$")
_STYLES = {"ssh": "Ssh", "tentaclepassive": "TentaclePassive"}
DEFAULT_PORTS = {"Ssh": 22, "TentaclePassive": 10933}


@cache
def _client_context(home: Path) -> ssl.SSLContext:
    """The node's own certificate as a TLS client (a listening agent demands one), built once."""
    return connecting_context(load_or_create_certificate(home, "Argonaut server"))


def style_of(text: str) -> str:
    style = _STYLES.get(text.strip().lower())
    if style is None:
        raise bad_request(f"type '{text}' cannot be discovered: use Ssh or TentaclePassive")
    return style


async def discover(services: Services, host: str, port: int | None, type_text: str) -> dict[str, Any]:
    """A machine resource (no Id) whose Endpoint holds what the machine presented; 400 when nothing
    answered."""
    style = style_of(type_text)
    if not _HOST.match(host):
        raise bad_request(f"Host: '{host}' is not a host name or IP address")
    port = port or DEFAULT_PORTS[style]
    name = host.lower()
    if style == "Ssh":
        try:
            fingerprint = await discover_fingerprint(host, port)
        except SshError as exc:
            raise bad_request(str(exc)) from None
        endpoint: dict[str, Any] = {
            "CommunicationStyle": "Ssh",
            "Host": name,
            "Port": port,
            "Fingerprint": fingerprint,
            "AccountId": None,
            "DotNetCorePlatform": "linux-x64",
            "Uri": f"ssh://{name}:{port}/",
        }
    else:
        try:
            thumbprint = await listening_thumbprint(host, port, _client_context(services.settings.home))
        except DiscoveryFailed as exc:
            raise bad_request(str(exc)) from None
        host_part = f"[{name}]" if ":" in name else name
        endpoint = {
            "CommunicationStyle": "TentaclePassive",
            "Uri": f"https://{host_part}:{port}/",
            "Thumbprint": thumbprint,
        }
    return {
        "Id": None,
        "Name": host,
        "Endpoint": endpoint,
        "IsDisabled": False,
        "HealthStatus": "Unknown",
        "Links": {},
    }
