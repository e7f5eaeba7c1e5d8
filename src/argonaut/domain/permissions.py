"""Permissions, the described system's names, and the one rule that grants them.

Routes ask for a permission in a space; only :func:`is_granted` decides. Today a user is either an
administrator (every permission everywhere) or holds explicit grants; teams and roles will fill grants in
without touching a route.
"""

from __future__ import annotations

from collections.abc import Collection as Coll
from enum import StrEnum


class Permission(StrEnum):
    SPACE_VIEW = "SpaceView"
    SPACE_CREATE = "SpaceCreate"
    SPACE_EDIT = "SpaceEdit"
    SPACE_DELETE = "SpaceDelete"
    WORKER_VIEW = "WorkerView"
    WORKER_EDIT = "WorkerEdit"
    MACHINE_POLICY_VIEW = "MachinePolicyView"
    MACHINE_POLICY_EDIT = "MachinePolicyEdit"
    TASK_VIEW = "TaskView"
    TASK_CREATE = "TaskCreate"
    TASK_CANCEL = "TaskCancel"
    ARTIFACT_VIEW = "ArtifactView"
    ACCOUNT_VIEW = "AccountView"
    ACCOUNT_EDIT = "AccountEdit"
    RUN_SCRIPT = "AdministerSystem"  # the script console needs system-level rights in the described system
    CONFIGURE_SERVER = "ConfigureServer"


SYSTEM = None  # the space of system-wide permissions


def is_granted(
    is_admin: bool,
    grants: Coll[tuple[Permission, int | None]],
    permission: Permission,
    space_id: int | None,
) -> bool:
    if is_admin:
        return True
    return (permission, space_id) in grants or (permission, SYSTEM) in grants
