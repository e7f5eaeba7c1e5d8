"""Creating deployments: a release to one environment, if its lifecycle allows it yet, as a ``Deploy``
task the engine runs.

The lifecycle is checked when the deployment is created, against the release's successful deployments
so far, so a refusal names the environment that must come first while the user is still looking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.lifecycles import EnvironmentRef, phases_from_json, refusal
from argonaut.domain.tasks import TaskType
from argonaut.service.errors import Invalid
from argonaut.service.run_checks import check_machines, check_prompts, check_skips
from argonaut.store import (
    environments_repo,
    lifecycles_repo,
    projects_repo,
    releases_repo,
    tasks_repo,
)
from argonaut.store.common import Refused
from argonaut.store.connection import Conn

DEPLOY_TASK = TaskType.DEPLOY.value


@dataclass(frozen=True, slots=True)
class NewDeployment:
    release_id: int
    environment_id: int
    specific_machine_ids: Sequence[int] = ()
    excluded_machine_ids: Sequence[int] = ()
    skip_actions: Sequence[str] = ()
    use_guided_failure: bool = False
    form_values: Mapping[str, str] = field(default_factory=dict)
    comments: str | None = None


async def create_deployment(
    conn: Conn, space_id: int, new: NewDeployment, by: str
) -> tuple[RowMapping, RowMapping]:
    """Check the deployment against the release's lifecycle and queue its task; answers the deployment
    and task rows."""
    release = await releases_repo.get_release(conn, space_id, new.release_id)
    if release is None:
        raise Invalid(f"The release '{format_id(Collection.RELEASES, new.release_id)}' does not exist")
    project = await projects_repo.get_project(conn, space_id, int(release["project_id"]))
    assert project is not None  # a release goes with its project
    environment = await environments_repo.get(conn, space_id, new.environment_id)
    if environment is None:
        raise Invalid(
            f"The environment '{format_id(Collection.ENVIRONMENTS, new.environment_id)}' does not exist"
        )
    await _check_lifecycle(conn, space_id, project, release, environment)
    await check_machines(conn, space_id, new.specific_machine_ids, new.excluded_machine_ids)
    await check_skips(conn, release, new.skip_actions, "release")
    await check_prompts(conn, space_id, release, [environment], new.form_values)
    environment_key = format_id(Collection.ENVIRONMENTS, int(environment["id"]))
    deployment_id = await releases_repo.create_deployment(
        conn,
        dict(
            space_id=space_id,
            project_id=int(project["id"]),
            release_id=int(release["id"]),
            environment_id=int(environment["id"]),
            channel_id=int(release["channel_id"]),
            name=f"Deploy to {environment['name']}",
            deployed_by=by,
            document={
                "SpecificMachineIds": [format_id(Collection.MACHINES, m) for m in new.specific_machine_ids],
                "ExcludedMachineIds": [format_id(Collection.MACHINES, m) for m in new.excluded_machine_ids],
                "SkipActions": list(new.skip_actions),
                "UseGuidedFailure": new.use_guided_failure,
                "FormValues": dict(new.form_values),
                "Comments": new.comments,
                "EnvironmentId": environment_key,
            },
        ),
    )
    task = await tasks_repo.create_task(
        conn,
        space_id,
        DEPLOY_TASK,
        f"Deploy {project['name']} release {release['version']} to {environment['name']}",
        {"DeploymentId": format_id(Collection.DEPLOYMENTS, deployment_id)},
    )
    await releases_repo.set_deployment_task(conn, deployment_id, int(task["id"]))
    deployment = await releases_repo.get_deployment(conn, space_id, deployment_id)
    assert deployment is not None
    return deployment, task


async def lifecycle_of(conn: Conn, space_id: int, project: RowMapping, channel_id: int) -> RowMapping:
    """The channel's lifecycle, else the project's."""
    channel = await projects_repo.get_channel(conn, space_id, channel_id)
    lifecycle_id = channel["lifecycle_id"] if channel is not None and channel["lifecycle_id"] else None
    lifecycle = await lifecycles_repo.get(conn, space_id, int(lifecycle_id or project["lifecycle_id"]))
    assert lifecycle is not None  # foreign keys keep it
    return lifecycle


async def environment_refs(conn: Conn, space_id: int) -> list[EnvironmentRef]:
    return [
        EnvironmentRef(format_id(Collection.ENVIRONMENTS, int(e["id"])), str(e["name"]), int(e["sort_order"]))
        for e in await environments_repo.all_in_space(conn, space_id)
    ]


async def promotable(conn: Conn, space_id: int, release: RowMapping) -> list[str]:
    """The environments this release may be deployed to now (``PromoteTo`` of the deployment template)."""
    from argonaut.domain.lifecycles import progression

    project = await projects_repo.get_project(conn, space_id, int(release["project_id"]))
    assert project is not None
    lifecycle = await lifecycle_of(conn, space_id, project, int(release["channel_id"]))
    succeeded = {
        format_id(Collection.ENVIRONMENTS, e)
        for e in await releases_repo.succeeded_environments(conn, release["id"])
    }
    phases = phases_from_json(lifecycle["document"].get("Phases") or [])
    return list(progression(phases, await environment_refs(conn, space_id), succeeded).allowed)


async def _check_lifecycle(
    conn: Conn, space_id: int, project: RowMapping, release: RowMapping, environment: RowMapping
) -> None:
    lifecycle = await lifecycle_of(conn, space_id, project, int(release["channel_id"]))
    succeeded = {
        format_id(Collection.ENVIRONMENTS, e)
        for e in await releases_repo.succeeded_environments(conn, int(release["id"]))
    }
    why = refusal(
        phases_from_json(lifecycle["document"].get("Phases") or []),
        await environment_refs(conn, space_id),
        succeeded,
        format_id(Collection.ENVIRONMENTS, int(environment["id"])),
        str(lifecycle["name"]),
    )
    if why is not None:
        raise Refused(why)
