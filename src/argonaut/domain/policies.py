"""Machine policies: the described system's defaults and the checks on what clients send.

A policy is stored as its whole document (everything but Id/Name/Description/IsDefault), because clients
round-trip the full shape and expect unknown sub-fields they sent to come back unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from argonaut.domain.timespan import InvalidTimeSpan, parse_timespan

_DEFAULT: dict[str, Any] = {
    "PollingRequestQueueTimeout": "00:02:00",
    "ConnectionRetrySleepInterval": "00:00:01",
    "ConnectionRetryCountLimit": 5,
    "ConnectionRetryTimeLimit": "00:05:00",
    "ConnectionConnectTimeout": "00:01:00",
    "MachineHealthCheckPolicy": {
        "HealthCheckType": "RunScript",
        "HealthCheckInterval": "01:00:00",
        "HealthCheckCron": None,
        "HealthCheckCronTimezone": "UTC",
        "HealthCheckTimeout": "00:05:00",
        "BashHealthCheckPolicy": {"RunType": "InheritFromDefault", "ScriptBody": None},
        "PowerShellHealthCheckPolicy": {"RunType": "InheritFromDefault", "ScriptBody": None},
        "MinimumFreeDiskSpaceWarningMegabytes": 500,
    },
    "MachineConnectivityPolicy": {"MachineConnectivityBehavior": "ExpectedToBeOnline"},
    "MachineCleanupPolicy": {
        "DeleteMachinesBehavior": "DoNotDelete",
        "DeleteMachinesElapsedTimeSpan": "1.00:00:00",
    },
    "MachineUpdatePolicy": {
        "CalamariUpdateBehavior": "UpdateOnDeployment",
        "TentacleUpdateBehavior": "NeverUpdate",
        "KubernetesAgentUpdateBehavior": "Update",
        "TentacleUpdateAccountId": None,
    },
}

_TIMESPANS = (
    ("PollingRequestQueueTimeout",),
    ("ConnectionRetrySleepInterval",),
    ("ConnectionRetryTimeLimit",),
    ("ConnectionConnectTimeout",),
    ("MachineHealthCheckPolicy", "HealthCheckInterval"),
    ("MachineHealthCheckPolicy", "HealthCheckTimeout"),
    ("MachineCleanupPolicy", "DeleteMachinesElapsedTimeSpan"),
)

_ENUMS = (
    (("MachineHealthCheckPolicy", "HealthCheckType"), ("RunScript", "OnlyConnectivity")),
    (
        ("MachineConnectivityPolicy", "MachineConnectivityBehavior"),
        ("ExpectedToBeOnline", "MayBeOfflineAndCanBeSkipped"),
    ),
    (("MachineCleanupPolicy", "DeleteMachinesBehavior"), ("DoNotDelete", "DeleteUnavailableMachines")),
    (
        ("MachineUpdatePolicy", "CalamariUpdateBehavior"),
        ("UpdateOnDeployment", "UpdateOnNewMachine", "UpdateAlways"),
    ),
    (("MachineUpdatePolicy", "TentacleUpdateBehavior"), ("NeverUpdate", "Update")),
)


def default_document() -> dict[str, Any]:
    return copy.deepcopy(_DEFAULT)


def merge_document(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay ``changes`` on ``base`` one level into sub-policies, so a partial PUT keeps the rest."""
    merged = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _lookup(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def validate_document(document: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    for path in _TIMESPANS:
        value = _lookup(document, path)
        if value is None:
            continue
        try:
            if not isinstance(value, str):
                raise InvalidTimeSpan(f"{value!r} is not a time span string")
            parse_timespan(value)
        except InvalidTimeSpan as exc:
            errors.append(f"{'.'.join(path)}: {exc}")
    for path, allowed in _ENUMS:
        value = _lookup(document, path)
        if value is not None and value not in allowed:
            errors.append(f"{'.'.join(path)} must be one of {', '.join(allowed)}")
    retries = document.get("ConnectionRetryCountLimit")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        errors.append("ConnectionRetryCountLimit must be a whole number of 0 or more")
    return errors
