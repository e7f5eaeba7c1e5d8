"""Validation of machine endpoints (workers and deployment targets), per communication style.

An endpoint arrives from clients in the described system's shape; here it is checked and normalised
(upper-case thumbprint, lower-case host, trailing slash) so two spellings of one agent compare equal.
Workers and targets take the same agent and SSH endpoints; only a target may be a Cloud Region (``None``),
which runs nothing itself: its steps run on a worker of its ``DefaultWorkerPoolId`` pool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from argonaut.domain.workers import CommunicationStyle

THUMBPRINT = re.compile(r"^[0-9A-F]{40}$")
SUBSCRIPTION = re.compile(r"^poll://[a-z0-9]{1,64}/$")
POOL_ID = re.compile(r"^WorkerPools-[1-9][0-9]{0,9}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class EndpointCheck:
    endpoint: dict[str, Any] = field(default_factory=dict)
    errors: tuple[str, ...] = ()


def normalise_thumbprint(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.replace(":", "").replace(" ", "").upper()
    return text if THUMBPRINT.match(text) else None


def check_endpoint(raw: Mapping[str, Any], noun: str = "worker", cloud_region: bool = False) -> EndpointCheck:
    """Validate an endpoint whose keys are already in canonical PascalCase; ``noun`` names the machine
    in messages, and ``cloud_region`` admits the ``None`` style (deployment targets only)."""
    style_text = raw.get("CommunicationStyle")
    try:
        style = CommunicationStyle(str(style_text))
    except ValueError:
        allowed = [s.value for s in CommunicationStyle if cloud_region or s is not CommunicationStyle.NONE]
        return EndpointCheck(errors=(f"Endpoint.CommunicationStyle must be one of {', '.join(allowed)}",))
    if style is CommunicationStyle.NONE:
        if cloud_region:
            return _check_cloud_region(raw)
        return EndpointCheck(errors=(f"Endpoint.CommunicationStyle 'None' cannot be used for a {noun}",))
    if style is CommunicationStyle.SSH:
        return _check_ssh(raw, noun)
    return _check_tentacle(style, raw, noun)


def _check_cloud_region(raw: Mapping[str, Any]) -> EndpointCheck:
    """``DefaultWorkerPoolId`` null means the space's default pool, as in the described system."""
    pool = raw.get("DefaultWorkerPoolId")
    if pool is not None and (not isinstance(pool, str) or not POOL_ID.match(pool.strip())):
        return EndpointCheck(
            errors=("Endpoint.DefaultWorkerPoolId must be a worker pool id like WorkerPools-1, or null",)
        )
    canonical = f"WorkerPools-{pool.strip().split('-', 1)[1]}" if isinstance(pool, str) else None
    return EndpointCheck(
        endpoint={"CommunicationStyle": CommunicationStyle.NONE.value, "DefaultWorkerPoolId": canonical}
    )


def _check_tentacle(style: CommunicationStyle, raw: Mapping[str, Any], noun: str) -> EndpointCheck:
    errors: list[str] = []
    thumbprint = normalise_thumbprint(raw.get("Thumbprint"))
    if thumbprint is None:
        errors.append("Endpoint.Thumbprint must be the agent certificate's SHA-1 thumbprint: 40 hex digits")
    uri = raw.get("Uri")
    normalised_uri = None
    if not isinstance(uri, str) or not uri:
        errors.append("Endpoint.Uri is required")
    elif style is CommunicationStyle.TENTACLE_ACTIVE:
        normalised_uri = uri.strip().lower()
        if not normalised_uri.endswith("/"):
            normalised_uri += "/"
        if not SUBSCRIPTION.match(normalised_uri):
            errors.append(
                f"Endpoint.Uri of a polling {noun} must be a subscription id like poll://abcdefghijklmnopqrst/"
            )
    else:
        normalised_uri = _normalise_https(uri)
        if normalised_uri is None:
            errors.append(f"Endpoint.Uri of a listening {noun} must look like https://host:10933/")
    if errors:
        return EndpointCheck(errors=tuple(errors))
    endpoint: dict[str, Any] = {
        "CommunicationStyle": style.value,
        "Uri": normalised_uri,
        "Thumbprint": thumbprint,
    }
    if style is CommunicationStyle.TENTACLE_PASSIVE:
        endpoint["ProxyId"] = raw.get("ProxyId")
    return EndpointCheck(endpoint=endpoint)


def _normalise_https(uri: str) -> str | None:
    try:
        parts = urlsplit(uri.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{port or 10933}/"


def _check_ssh(raw: Mapping[str, Any], noun: str) -> EndpointCheck:
    errors: list[str] = []
    host = raw.get("Host")
    port = raw.get("Port", 22)
    if not isinstance(host, str) or not host.strip():
        errors.append(f"Endpoint.Host is required for an SSH {noun}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        errors.append("Endpoint.Port must be a TCP port between 1 and 65535")
    account = raw.get("AccountId")
    if not isinstance(account, str) or not account:
        errors.append(f"Endpoint.AccountId is required for an SSH {noun}")
    fingerprint = raw.get("Fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        errors.append("Endpoint.Fingerprint must be a string")
    if errors:
        return EndpointCheck(errors=tuple(errors))
    assert isinstance(host, str) and isinstance(port, int)
    endpoint = {
        "CommunicationStyle": CommunicationStyle.SSH.value,
        "Host": host.strip().lower(),
        "Port": port,
        "Fingerprint": fingerprint,
        "AccountId": account,
        "DotNetCorePlatform": raw.get("DotNetCorePlatform") or "linux-x64",
        "Uri": f"ssh://{host.strip().lower()}:{port}/",
    }
    return EndpointCheck(endpoint=endpoint)
