"""The one rule that grants a permission, and the built-in roles' shapes."""

from __future__ import annotations

import pytest

from argonaut.domain.permissions import (
    BUILT_IN_ROLES,
    EVERYWHERE,
    SPACE_PERMISSIONS,
    SYSTEM_PERMISSIONS,
    Grant,
    Grants,
    Permission,
    Reach,
    can_see_space,
    grants_of_role,
    is_granted,
    reach,
)

P = Permission
VIEWER_IN_2 = Grants(items=frozenset({Grant(P.PROJECT_VIEW, 2), Grant(P.TASK_VIEW, 2)}))
DEPLOYER_ENV_5 = Grants(
    items=frozenset(
        {
            Grant(P.DEPLOYMENT_CREATE, 2, environment_ids=frozenset({"Environments-5"})),
            Grant(P.PROJECT_VIEW, 2),
        }
    )
)
LEAD_OF_PROJECT_3 = Grants(
    items=frozenset(
        {
            Grant(P.VARIABLE_EDIT, 2, project_ids=frozenset({"Projects-3"})),
            Grant(P.RUNBOOK_RUN_CREATE, 2, project_group_ids=frozenset({"ProjectGroups-1"})),
        }
    )
)
SYSTEM_TEAM = Grants(items=frozenset({Grant(P.ENVIRONMENT_VIEW, None), Grant(P.SPACE_CREATE, None)}))


@pytest.mark.parametrize(
    ("grants", "permission", "space", "project", "environment", "group", "expected"),
    [
        (Grants(is_admin=True), P.CONFIGURE_SERVER, None, None, None, None, True),
        (Grants(is_admin=True), P.PROJECT_EDIT, 7, "Projects-1", "Environments-1", None, True),
        (Grants(), P.PROJECT_VIEW, 1, None, None, None, False),
        (VIEWER_IN_2, P.PROJECT_VIEW, 2, None, None, None, True),
        (VIEWER_IN_2, P.PROJECT_VIEW, 1, None, None, None, False),  # another space
        (VIEWER_IN_2, P.PROJECT_EDIT, 2, None, None, None, False),  # a viewer cannot change
        (VIEWER_IN_2, P.PROJECT_VIEW, None, None, None, None, False),  # a space grant is not system-wide
        (VIEWER_IN_2, P.SPACE_VIEW, None, None, None, None, True),  # any member reads the system routes
        (Grants(), P.SPACE_VIEW, None, None, None, None, False),
        (DEPLOYER_ENV_5, P.DEPLOYMENT_CREATE, 2, "Projects-1", "Environments-5", None, True),
        (DEPLOYER_ENV_5, P.DEPLOYMENT_CREATE, 2, "Projects-1", "Environments-6", None, False),
        (DEPLOYER_ENV_5, P.DEPLOYMENT_CREATE, 2, None, None, None, True),  # the route does not know yet
        (LEAD_OF_PROJECT_3, P.VARIABLE_EDIT, 2, "Projects-3", None, None, True),
        (LEAD_OF_PROJECT_3, P.VARIABLE_EDIT, 2, "Projects-4", None, None, False),
        (LEAD_OF_PROJECT_3, P.RUNBOOK_RUN_CREATE, 2, "Projects-4", "Environments-1", "ProjectGroups-1", True),
        (
            LEAD_OF_PROJECT_3,
            P.RUNBOOK_RUN_CREATE,
            2,
            "Projects-4",
            "Environments-1",
            "ProjectGroups-2",
            False,
        ),
        (
            SYSTEM_TEAM,
            P.ENVIRONMENT_VIEW,
            9,
            None,
            None,
            None,
            True,
        ),  # a system-wide role holds in every space
        (SYSTEM_TEAM, P.SPACE_CREATE, None, None, None, None, True),
        (SYSTEM_TEAM, P.SPACE_DELETE, None, None, None, None, False),
    ],
)
def test_is_granted(
    grants: Grants,
    permission: Permission,
    space: int | None,
    project: str | None,
    environment: str | None,
    group: str | None,
    expected: bool,
) -> None:
    assert is_granted(grants, permission, space, project, environment, group) is expected


def test_who_sees_a_space() -> None:
    assert can_see_space(VIEWER_IN_2, 2)
    assert not can_see_space(VIEWER_IN_2, 1)
    assert can_see_space(Grants(is_admin=True), 1)
    assert can_see_space(SYSTEM_TEAM, 1)  # EnvironmentView held system-wide
    assert not can_see_space(Grants(items=frozenset({Grant(P.SPACE_CREATE, None)})), 1)


def test_grants_of_a_role_union_and_unknown_names() -> None:
    grants = grants_of_role(["ProjectView", "NoSuchPermission"], ["SpaceCreate"], 3, ["Projects-1"])
    assert Grant(P.PROJECT_VIEW, 3, frozenset({"Projects-1"})) in grants
    assert Grant(P.SPACE_CREATE, None) in grants
    assert len(grants) == 2


def test_built_in_roles() -> None:
    names = {r.name for r in BUILT_IN_ROLES}
    assert {
        "System Administrator",
        "Space Manager",
        "Project Deployer",
        "Project Viewer",
        "Environment Manager",
        "Worker Manager",
    } <= names
    assert len(names) == len(BUILT_IN_ROLES)
    for role in BUILT_IN_ROLES:
        assert role.space_permissions <= SPACE_PERMISSIONS
    by_name = {r.name: r for r in BUILT_IN_ROLES}
    assert by_name["Space Manager"].space_permissions == SPACE_PERMISSIONS
    assert SYSTEM_PERMISSIONS <= by_name["System Administrator"].system_permissions
    viewer = by_name["Project Viewer"].space_permissions
    assert all(p.value.endswith("View") for p in viewer)
    assert P.DEPLOYMENT_CREATE in by_name["Project Deployer"].space_permissions
    assert P.WORKER_EDIT in by_name["Worker Manager"].space_permissions


def test_reach_of_a_permission_for_lists() -> None:
    admin = Grants(is_admin=True)
    assert reach(admin, P.PROJECT_VIEW, 2) is EVERYWHERE
    assert reach(VIEWER_IN_2, P.PROJECT_VIEW, 2) is EVERYWHERE  # unrestricted: nothing to filter
    assert reach(VIEWER_IN_2, P.ENVIRONMENT_VIEW, 2) == Reach(frozenset(), frozenset(), frozenset())
    assert reach(DEPLOYER_ENV_5, P.DEPLOYMENT_CREATE, 2) == Reach(
        None, frozenset(), frozenset({"Environments-5"})
    )
    two = Grants(
        items=frozenset(
            {
                Grant(P.PROJECT_VIEW, 2, project_ids=frozenset({"Projects-1"})),
                Grant(P.PROJECT_VIEW, 2, project_group_ids=frozenset({"ProjectGroups-4"})),
                Grant(P.PROJECT_VIEW, 3),  # another space's grant does not widen this one
            }
        )
    )
    assert reach(two, P.PROJECT_VIEW, 2) == Reach(
        frozenset({"Projects-1"}), frozenset({"ProjectGroups-4"}), None
    )
    widened = Grants(items=two.items | {Grant(P.PROJECT_VIEW, None)})  # held system-wide: everywhere
    assert reach(widened, P.PROJECT_VIEW, 2) is EVERYWHERE
