"""Resource ids in the described system's shape: ``<Collection>-<n>`` (``Spaces-1``, ``ServerTasks-7``).

Clients compare and template these strings, so the shape is part of the public contract; the number is
what the store keeps.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Collection(StrEnum):
    SPACES = "Spaces"
    WORKER_POOLS = "WorkerPools"
    WORKERS = "Workers"
    MACHINE_POLICIES = "MachinePolicies"
    SERVER_TASKS = "ServerTasks"
    USERS = "Users"
    API_KEYS = "APIKeys"
    ARTIFACTS = "Artifacts"
    ACCOUNTS = "Accounts"
    SERVER_NODES = "OctopusServerNodes"


_ID = re.compile(r"^([A-Za-z]+)-([1-9][0-9]{0,17})$")


def format_id(collection: Collection, number: int) -> str:
    return f"{collection.value}-{number}"


def parse_id(collection: Collection, text: str) -> int | None:
    """The number inside ``text`` when it names a resource of ``collection``, else None.

    The collection prefix matches case-insensitively, as the described system's clients are lax about it.
    """
    match = _ID.match(text.strip())
    if match is None or match.group(1).lower() != collection.value.lower():
        return None
    return int(match.group(2))
