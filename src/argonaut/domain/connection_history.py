"""A machine's connection history: the health changes its checks found, as the described system keeps
them (audit events in the categories ``MachineHealthy``, ``MachineHasWarnings``, ``MachineUnhealthy``,
``MachineUnavailable``, regarding the machine), and its ``MachineConnectionStatus`` resource.

Why events and not a table of their own: a change of health is something that happened to a machine,
like any other audited change; the audit log shows it beside who disabled or edited the machine, its
retention already bounds it, and ``/api/events?regarding=Workers-1`` finds it with no new store. Only
changes are recorded (a check that finds what the last one found adds nothing), so a machine checked
every minute for a year still has a short history. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

HEALTH_CATEGORIES: dict[str, str] = {
    "Healthy": "MachineHealthy",
    "HasWarnings": "MachineHasWarnings",
    "Unhealthy": "MachineUnhealthy",
    "Unavailable": "MachineUnavailable",
}
CATEGORIES: tuple[str, ...] = tuple(HEALTH_CATEGORIES.values())
_STATUS_OF = {category: status for status, category in HEALTH_CATEGORIES.items()}
_WORDS = {"HasWarnings": "has warnings"}  # the others read "is healthy", "is unavailable", …


def health_change(name: str, old: str, new: str, summary: str) -> tuple[str, str] | None:
    """(category, message) for a check that moved a machine from ``old`` to ``new``; None when nothing
    changed or the new status is not one the history records (Unknown)."""
    if old == new or new not in HEALTH_CATEGORIES:
        return None
    word = _WORDS.get(new, f"is {new.lower()}")
    return HEALTH_CATEGORIES[new], f"{name} {word} (was {old}): {summary}"


def connection_status(
    machine: Mapping[str, Any], details: Mapping[str, Any], history: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """``MachineConnectionStatus``: the machine's last check and its health changes, newest first.

    ``machine`` is the worker or target resource; ``history`` the change events (``category``,
    ``message``, ``occurred`` as ISO text)."""
    logs = [
        {
            "Category": event["category"],
            "Status": _STATUS_OF.get(str(event["category"]), "Unknown"),
            "OccurredAt": event["occurred"],
            "MessageText": event["message"],
        }
        for event in history
    ]
    return {
        "Id": machine["Id"],
        "MachineId": machine["Id"],
        "LastChecked": details.get("LastChecked"),
        "Status": machine["HealthStatus"],
        "StatusSummary": machine["StatusSummary"],
        "CurrentTentacleVersion": details.get("AgentVersion"),
        "CurrentRunnerVersion": details.get("RunnerVersion"),
        "HasLatestRunner": machine["HasLatestCalamari"],
        "Logs": logs,
        "Links": {"Self": machine["Links"]["Connection"]},
    }
