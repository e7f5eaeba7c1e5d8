"""Permissions, the described system's names, the built-in roles, and the one rule that grants them.

Routes ask for a permission in a space (or the system); only :func:`is_granted` decides, over the
:class:`Grants` a user's teams give them (``service/permissions.py`` reads them from the store). A grant
is one permission in one space (or system-wide), optionally restricted to projects, environments and
project groups. Administrators (members of the system team "Octopus Administrators") hold everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
    TEAM_VIEW = "TeamView"
    TEAM_CREATE = "TeamCreate"
    TEAM_EDIT = "TeamEdit"
    TEAM_DELETE = "TeamDelete"
    USER_ROLE_VIEW = "UserRoleView"
    USER_ROLE_EDIT = "UserRoleEdit"
    USER_VIEW = "UserView"  # other users' details (everyone sees their own)
    USER_EDIT = "UserEdit"  # create, change, delete users and manage anyone's API keys
    EVENT_VIEW = "EventView"  # the audit trail (``/api/events``)


ADMINISTER_SYSTEM = Permission.RUN_SCRIPT

# Permissions held system-wide (GrantedSystemPermissions); every other one is held in a space.
SYSTEM_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        Permission.SPACE_CREATE,
        Permission.SPACE_EDIT,
        Permission.SPACE_DELETE,
        Permission.RUN_SCRIPT,
        Permission.CONFIGURE_SERVER,
        Permission.USER_ROLE_EDIT,
        Permission.USER_VIEW,
        Permission.USER_EDIT,
    }
)
# Team views and edits are held both ways: system-wide for system teams, in a space for its teams.
SPACE_PERMISSIONS: frozenset[Permission] = frozenset(Permission) - SYSTEM_PERMISSIONS
_VIEWS = frozenset(p for p in SPACE_PERMISSIONS if p.value.endswith("View"))

ADMINISTRATORS_TEAM = "Octopus Administrators"
SPACE_MANAGERS_TEAM = "Space Managers"


@dataclass(frozen=True, slots=True)
class BuiltInRole:
    name: str
    description: str
    space_permissions: frozenset[Permission]
    system_permissions: frozenset[Permission] = frozenset()


def _role(
    name: str, description: str, space: Iterable[Permission], system: Iterable[Permission] = ()
) -> BuiltInRole:
    return BuiltInRole(name, description, frozenset(space), frozenset(system))


P = Permission
_PROJECT_VIEWS = _VIEWS - {P.TEAM_VIEW}
BUILT_IN_ROLES: tuple[BuiltInRole, ...] = (
    _role(
        "System Administrator",
        "System administrators can do everything at the system level.",
        SPACE_PERMISSIONS,
        SYSTEM_PERMISSIONS | {P.TEAM_VIEW, P.TEAM_CREATE, P.TEAM_EDIT, P.TEAM_DELETE, P.USER_ROLE_VIEW},
    ),
    _role(
        "System Manager",
        "System managers can do everything at the system level except administer the server.",
        (),
        (SYSTEM_PERMISSIONS - {P.RUN_SCRIPT}) | {P.TEAM_VIEW, P.TEAM_CREATE, P.TEAM_EDIT, P.TEAM_DELETE},
    ),
    _role(
        "Space Manager",
        "Space managers can do everything within the context of their space.",
        SPACE_PERMISSIONS,
    ),
    _role(
        "Project Viewer",
        "Project viewers have read-only access to a project and what it deploys to.",
        _PROJECT_VIEWS,
    ),
    _role(
        "Project Deployer",
        "Project deployers can view a project and deploy its releases and run its runbooks.",
        _PROJECT_VIEWS | {P.DEPLOYMENT_CREATE, P.RUNBOOK_RUN_CREATE, P.INTERRUPTION_SUBMIT, P.TASK_CANCEL},
    ),
    _role(
        "Project Contributor",
        "Project contributors can edit a project, its process, variables and runbooks, but not deploy it.",
        _PROJECT_VIEWS
        | {
            P.PROJECT_EDIT,
            P.PROCESS_EDIT,
            P.VARIABLE_EDIT,
            P.RUNBOOK_EDIT,
            P.RELEASE_CREATE,
            P.TRIGGER_CREATE,
            P.TRIGGER_EDIT,
            P.TRIGGER_DELETE,
        },
    ),
    _role(
        "Project Lead",
        "Project leads can edit, release, deploy and delete a project.",
        _PROJECT_VIEWS
        | {
            P.PROJECT_CREATE,
            P.PROJECT_EDIT,
            P.PROJECT_DELETE,
            P.PROCESS_EDIT,
            P.VARIABLE_EDIT,
            P.RUNBOOK_EDIT,
            P.RELEASE_CREATE,
            P.RELEASE_EDIT,
            P.RELEASE_DELETE,
            P.DEPLOYMENT_CREATE,
            P.DEPLOYMENT_DELETE,
            P.RUNBOOK_RUN_CREATE,
            P.RUNBOOK_RUN_DELETE,
            P.INTERRUPTION_SUBMIT,
            P.TASK_CANCEL,
            P.TRIGGER_CREATE,
            P.TRIGGER_EDIT,
            P.TRIGGER_DELETE,
        },
    ),
    _role(
        "Environment Viewer",
        "Environment viewers can see environments and the machines in them.",
        {P.ENVIRONMENT_VIEW, P.MACHINE_VIEW, P.MACHINE_POLICY_VIEW, P.TASK_VIEW, P.ACCOUNT_VIEW},
    ),
    _role(
        "Environment Manager",
        "Environment managers can manage environments, deployment targets and their policies.",
        {
            P.ENVIRONMENT_VIEW,
            P.ENVIRONMENT_CREATE,
            P.ENVIRONMENT_EDIT,
            P.ENVIRONMENT_DELETE,
            P.MACHINE_VIEW,
            P.MACHINE_CREATE,
            P.MACHINE_EDIT,
            P.MACHINE_DELETE,
            P.MACHINE_POLICY_VIEW,
            P.MACHINE_POLICY_EDIT,
            P.ACCOUNT_VIEW,
            P.ACCOUNT_EDIT,
            P.WORKER_VIEW,
            P.TASK_VIEW,
            P.TASK_CREATE,
            P.TASK_CANCEL,
            P.ARTIFACT_VIEW,
        },
    ),
    _role(
        "Worker Manager",  # ours: the described system folds workers into other roles
        "Worker managers can manage worker pools, workers and their policies.",
        {
            P.WORKER_VIEW,
            P.WORKER_EDIT,
            P.MACHINE_POLICY_VIEW,
            P.MACHINE_POLICY_EDIT,
            P.ACCOUNT_VIEW,
            P.TASK_VIEW,
            P.TASK_CREATE,
            P.TASK_CANCEL,
            P.ARTIFACT_VIEW,
        },
    ),
    _role(
        "Runbook Consumer",
        "Runbook consumers can view and run runbooks.",
        {
            P.PROJECT_VIEW,
            P.RUNBOOK_VIEW,
            P.RUNBOOK_RUN_VIEW,
            P.RUNBOOK_RUN_CREATE,
            P.TASK_VIEW,
            P.ENVIRONMENT_VIEW,
        },
    ),
    _role(
        "Runbook Producer",
        "Runbook producers can edit and run runbooks.",
        _PROJECT_VIEWS | {P.RUNBOOK_EDIT, P.RUNBOOK_RUN_CREATE, P.PROCESS_EDIT, P.VARIABLE_EDIT},
    ),
)
SYSTEM_ADMINISTRATOR = "System Administrator"
SPACE_MANAGER = "Space Manager"


@dataclass(frozen=True, slots=True)
class Grant:
    """One permission in one space (None: system-wide), optionally restricted; empty restrictions: all."""

    permission: Permission
    space_id: int | None
    project_ids: frozenset[str] = frozenset()
    environment_ids: frozenset[str] = frozenset()
    project_group_ids: frozenset[str] = frozenset()
    tenant_ids: frozenset[str] = frozenset()

    @property
    def restricted(self) -> bool:
        return bool(self.project_ids or self.environment_ids or self.project_group_ids)


@dataclass(frozen=True, slots=True)
class Grants:
    """What one user may do: the union of their teams' scoped roles."""

    is_admin: bool = False
    items: frozenset[Grant] = field(default_factory=frozenset)
    team_ids: frozenset[int] = frozenset()

    def spaces(self) -> frozenset[int]:
        """The spaces the user holds any permission in (they may see those spaces)."""
        return frozenset(g.space_id for g in self.items if g.space_id is not None)


def grants_of_role(
    space_permissions: Iterable[str],
    system_permissions: Iterable[str],
    space_id: int | None,
    project_ids: Iterable[str] = (),
    environment_ids: Iterable[str] = (),
    project_group_ids: Iterable[str] = (),
    tenant_ids: Iterable[str] = (),
) -> list[Grant]:
    """A role a team holds in ``space_id``: its space permissions there (in every space when the role is
    held system-wide) and its system permissions system-wide."""
    known = {p.value: p for p in Permission}
    restrict = (
        frozenset(project_ids),
        frozenset(environment_ids),
        frozenset(project_group_ids),
        frozenset(tenant_ids),
    )
    out = [Grant(known[name], space_id, *restrict) for name in space_permissions if name in known]
    out += [Grant(known[name], None) for name in system_permissions if name in known]
    return out


def _matches(
    grant: Grant, project_id: str | None, environment_id: str | None, project_group_id: str | None
) -> bool:
    # A route that does not know the project (a list, a create) is answered by any grant in the space;
    # where it knows it, a restricted grant must name it (or its group).
    if project_id is not None and (grant.project_ids or grant.project_group_ids):
        in_projects = project_id in grant.project_ids
        in_groups = project_group_id is not None and project_group_id in grant.project_group_ids
        if not (in_projects or in_groups):
            return False
    return not (
        environment_id is not None and grant.environment_ids and environment_id not in grant.environment_ids
    )


def is_granted(
    grants: Grants,
    permission: Permission,
    space_id: int | None,
    project_id: str | None = None,
    environment_id: str | None = None,
    project_group_id: str | None = None,
) -> bool:
    """Whether ``grants`` allow ``permission`` in ``space_id`` (None: system-wide) for the project and
    environment the route acts on, when it knows them."""
    if grants.is_admin:
        return True
    if permission == Permission.SPACE_VIEW and space_id is None:
        return bool(grants.items)  # system routes every member may read: the spaces list, the root
    return any(
        g.permission == permission
        and (g.space_id is None or g.space_id == space_id)  # system-wide grants hold in every space
        and _matches(g, project_id, environment_id, project_group_id)
        for g in grants.items
    )


@dataclass(frozen=True, slots=True)
class Reach:
    """Where one permission reaches in one space, for filtering lists: ``None`` is everywhere.

    Projects and environments are the union over the grants of the permission, each dimension on its own
    (a route that gets one resource asks :func:`is_granted`, which pairs them per grant)."""

    project_ids: frozenset[str] | None = None
    project_group_ids: frozenset[str] = frozenset()
    environment_ids: frozenset[str] | None = None


EVERYWHERE = Reach()


def reach(grants: Grants, permission: Permission, space_id: int | None) -> Reach:
    """The projects (and project groups) and environments ``permission`` reaches in ``space_id``."""
    if grants.is_admin:
        return EVERYWHERE
    held = [
        g
        for g in grants.items
        if g.permission == permission and (g.space_id is None or g.space_id == space_id)
    ]
    if not held:
        return Reach(frozenset(), frozenset(), frozenset())
    every_project = any(not (g.project_ids or g.project_group_ids) for g in held)
    every_environment = any(not g.environment_ids for g in held)
    if every_project and every_environment:
        return EVERYWHERE
    none: frozenset[str] = frozenset()
    return Reach(
        None if every_project else none.union(*(g.project_ids for g in held)),
        none if every_project else none.union(*(g.project_group_ids for g in held)),
        None if every_environment else none.union(*(g.environment_ids for g in held)),
    )


def can_see_space(grants: Grants, space_id: int) -> bool:
    """A user with no permission at all in a space may not learn it exists: its routes answer 404."""
    return (
        grants.is_admin
        or space_id in grants.spaces()
        or any(g.space_id is None and g.permission in SPACE_PERMISSIONS for g in grants.items)
    )
