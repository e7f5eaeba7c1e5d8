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
    MACHINES = "Machines"
    ENVIRONMENTS = "Environments"
    LIFECYCLES = "Lifecycles"
    PROJECT_GROUPS = "ProjectGroups"
    PROJECTS = "Projects"
    CHANNELS = "Channels"
    RELEASES = "Releases"
    DEPLOYMENTS = "Deployments"
    RUNBOOKS = "Runbooks"
    RUNBOOK_SNAPSHOTS = "RunbookSnapshots"
    RUNBOOK_RUNS = "RunbookRuns"
    INTERRUPTIONS = "Interruptions"
    PROJECT_TRIGGERS = "ProjectTriggers"
    ACTION_TEMPLATES = "ActionTemplates"
    TEAMS = "Teams"
    USER_ROLES = "UserRoles"
    SCOPED_USER_ROLES = "ScopedUserRoles"
    EVENTS = "Events"


# The store keeps ids in integer columns, 32-bit on PostgreSQL: a larger number names nothing there, and
# must not reach a query (PostgreSQL refuses the parameter and the request failed with a 500).
MAX_ID = 2**31 - 1
_ID = re.compile(r"^([A-Za-z]+)-([1-9][0-9]{0,9})$")


def format_id(collection: Collection, number: int) -> str:
    return f"{collection.value}-{number}"


def parse_id(collection: Collection, text: str) -> int | None:
    """The number inside ``text`` when it names a resource of ``collection``, else None.

    The collection prefix matches case-insensitively, as the described system's clients are lax about it.
    A number past ``MAX_ID`` is no id of ours.
    """
    match = _ID.match(text.strip())
    if match is None or match.group(1).lower() != collection.value.lower():
        return None
    number = int(match.group(2))
    return number if number <= MAX_ID else None
