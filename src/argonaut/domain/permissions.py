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
    MACHINE_VIEW = "MachineView"
    MACHINE_CREATE = "MachineCreate"
    MACHINE_EDIT = "MachineEdit"
    MACHINE_DELETE = "MachineDelete"
    ENVIRONMENT_VIEW = "EnvironmentView"
    ENVIRONMENT_CREATE = "EnvironmentCreate"
    ENVIRONMENT_EDIT = "EnvironmentEdit"
    ENVIRONMENT_DELETE = "EnvironmentDelete"
    LIFECYCLE_VIEW = "LifecycleView"
    LIFECYCLE_CREATE = "LifecycleCreate"
    LIFECYCLE_EDIT = "LifecycleEdit"
    LIFECYCLE_DELETE = "LifecycleDelete"
    PROJECT_GROUP_VIEW = "ProjectGroupView"
    PROJECT_GROUP_CREATE = "ProjectGroupCreate"
    PROJECT_GROUP_EDIT = "ProjectGroupEdit"
    PROJECT_GROUP_DELETE = "ProjectGroupDelete"
    PROJECT_VIEW = "ProjectView"
    PROJECT_CREATE = "ProjectCreate"
    PROJECT_EDIT = "ProjectEdit"
    PROJECT_DELETE = "ProjectDelete"
    PROCESS_VIEW = "ProcessView"
    PROCESS_EDIT = "ProcessEdit"
    VARIABLE_VIEW = "VariableView"
    VARIABLE_EDIT = "VariableEdit"
    RELEASE_VIEW = "ReleaseView"
    RELEASE_CREATE = "ReleaseCreate"
    RELEASE_EDIT = "ReleaseEdit"
    RELEASE_DELETE = "ReleaseDelete"
    DEPLOYMENT_VIEW = "DeploymentView"
    DEPLOYMENT_CREATE = "DeploymentCreate"
    DEPLOYMENT_DELETE = "DeploymentDelete"
    RUNBOOK_VIEW = "RunbookView"
    RUNBOOK_EDIT = "RunbookEdit"
    RUNBOOK_RUN_VIEW = "RunbookRunView"
    RUNBOOK_RUN_CREATE = "RunbookRunCreate"
    RUNBOOK_RUN_DELETE = "RunbookRunDelete"
    INTERRUPTION_VIEW = "InterruptionView"
    INTERRUPTION_SUBMIT = "InterruptionSubmit"
    TRIGGER_VIEW = "TriggerView"
    TRIGGER_CREATE = "TriggerCreate"
    TRIGGER_EDIT = "TriggerEdit"
    TRIGGER_DELETE = "TriggerDelete"
    ACTION_TEMPLATE_VIEW = "ActionTemplateView"
    ACTION_TEMPLATE_CREATE = "ActionTemplateCreate"
    ACTION_TEMPLATE_EDIT = "ActionTemplateEdit"
    ACTION_TEMPLATE_DELETE = "ActionTemplateDelete"
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
