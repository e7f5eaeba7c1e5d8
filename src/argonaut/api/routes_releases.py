"""``/releases`` and ``/deployments``: freeze a project into a release, deploy it to an environment.

Also the described system's command routes its CI integrations call by names
(``releases/create/v1``, ``deployments/create/untenanted/v1``); they resolve names here and then take
the same service calls as the id routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from argonaut.api import resources_releases as shapes
from argonaut.api.audit import record_with_change
from argonaut.api.auth import Caller, Scope, authorize, require_in_project, require_visible, visible
from argonaut.api.collections import (
    IdsQuery,
    SkipQuery,
    body_id,
    body_ids,
    envelope,
    parse_ids,
    space_path,
    split_list,
    take_query,
)
from argonaut.api.crud import SpaceResources, server_tasks
from argonaut.api.errors import not_found
from argonaut.api.inputs import ApiInput
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.service import deployments as deploy_service
from argonaut.service import releases as release_service
from argonaut.service.by_names import create_deployments_by_names, create_release_by_names
from argonaut.service.deployment_preview import preview_deployment
from argonaut.store import environments_repo, releases_repo


class ReleaseCreate(ApiInput):
    ProjectId: str
    Version: str = Field(max_length=349)
    ChannelId: str | None = None
    ReleaseNotes: str | None = Field(None, max_length=100_000)


class DeploymentCreate(ApiInput):
    ReleaseId: str
    EnvironmentId: str
    SpecificMachineIds: list[str] = Field(default_factory=list, max_length=10_000)
    ExcludedMachineIds: list[str] = Field(default_factory=list, max_length=10_000)
    SkipActions: list[str] = Field(default_factory=list, max_length=1000)
    UseGuidedFailure: bool = False
    FormValues: dict[str, str] = Field(default_factory=dict)
    Comments: str | None = Field(None, max_length=10_000)


class CreateReleaseCommand(ApiInput):
    ProjectName: str = Field(min_length=1, max_length=200)
    ReleaseVersion: str | None = Field(None, max_length=349)
    ChannelName: str | None = Field(None, max_length=200)
    ReleaseNotes: str | None = Field(None, max_length=100_000)
    IgnoreIfAlreadyExists: bool = False


class CreateDeploymentCommand(ApiInput):
    ProjectName: str = Field(min_length=1, max_length=200)
    ReleaseVersion: str = Field(min_length=1, max_length=349)
    EnvironmentNames: list[str] = Field(min_length=1, max_length=100)
    SpecificMachineNames: list[str] = Field(default_factory=list, max_length=10_000)
    ExcludedMachineNames: list[str] = Field(default_factory=list, max_length=10_000)
    SkipStepNames: list[str] = Field(default_factory=list, max_length=1000)
    UseGuidedFailure: bool | None = None
    Variables: dict[str, str] = Field(default_factory=dict)


_RELEASES = SpaceResources(
    Collection.RELEASES, releases_repo.get_release, shapes.release, seen_with=Permission.RELEASE_VIEW
)
_DEPLOYMENTS = SpaceResources(
    Collection.DEPLOYMENTS,
    releases_repo.get_deployment,
    shapes.deployment,
    seen_with=Permission.DEPLOYMENT_VIEW,
    by_environment=True,
)


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["Releases"])
    view = authorize(Permission.RELEASE_VIEW, scope)
    create = authorize(Permission.RELEASE_CREATE, scope)
    delete_perm = authorize(Permission.RELEASE_DELETE, scope)
    deployments_view = authorize(Permission.DEPLOYMENT_VIEW, scope)
    deploy = authorize(Permission.DEPLOYMENT_CREATE, scope)
    deployment_delete = authorize(Permission.DEPLOYMENT_DELETE, scope)

    @router.post("/releases", status_code=201, summary="Create a release: freezes the process and variables")
    async def create_release(body: ReleaseCreate, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        new = release_service.NewRelease(
            project_id=body_id(Collection.PROJECTS, body.ProjectId, "ProjectId"),
            version=body.Version,
            channel_id=body_id(Collection.CHANNELS, body.ChannelId, "ChannelId") if body.ChannelId else None,
            release_notes=body.ReleaseNotes,
        )
        async with caller.services.store.transaction() as conn:
            await require_visible(caller, conn, Permission.PROJECT_VIEW, body.ProjectId, new.project_id)
            await require_in_project(caller, conn, Permission.RELEASE_CREATE, new.project_id)
            row = await release_service.create_release(conn, caller.space_id, new, caller.username)
        return shapes.release(row)

    @router.get("/releases", summary="List releases, newest first")
    async def list_releases(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        numbers = parse_ids(Collection.RELEASES, ids)
        async with caller.services.store.transaction() as conn:
            seen = await visible(caller, conn, Permission.RELEASE_VIEW)
            total, rows = await releases_repo.list_releases(
                conn, caller.space_id, skip, take, numbers, project_ids=seen.projects(None)
            )
        path = f"{space_path(caller.space_id)}/releases"
        return envelope("Release", [shapes.release(r) for r in rows], Page(skip, take, total), path)

    @router.get("/releases/{id}", summary="Get a release")
    async def get_release(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return shapes.release(await _RELEASES.fetch(caller, id))

    @router.delete("/releases/{id}", summary="Delete a release and its deployments")
    async def delete_release(id: str, caller: Caller = Depends(delete_perm)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await _RELEASES.row(conn, caller, id)
            await require_in_project(caller, conn, Permission.RELEASE_DELETE, int(row["project_id"]))
            await releases_repo.delete_release(conn, caller.space_id, int(row["id"]))
        return shapes.release(row)

    @router.get("/projects/{projectId}/releases", summary="A project's releases, newest first")
    async def project_releases(
        projectId: str,  # noqa: N803
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        number = parse_id(Collection.PROJECTS, projectId)
        if number is None:
            raise not_found(projectId)
        async with caller.services.store.transaction() as conn:
            await require_visible(caller, conn, Permission.RELEASE_VIEW, projectId, number)
            total, rows = await releases_repo.list_releases(
                conn, caller.space_id, skip, take, project_id=number
            )
        path = f"{space_path(caller.space_id)}/projects/{projectId}/releases"
        return envelope("Release", [shapes.release(r) for r in rows], Page(skip, take, total), path)

    @router.get("/projects/{projectId}/releases/{version}", summary="A project's release by version")
    async def project_release(projectId: str, version: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: N803
        number = parse_id(Collection.PROJECTS, projectId)
        row = None
        if number is not None:
            async with caller.services.store.transaction() as conn:
                row = await releases_repo.find_release(conn, number, version)
                if row is not None:
                    await require_visible(caller, conn, Permission.RELEASE_VIEW, version, number)
        if row is None or row["space_id"] != caller.space_id:
            raise not_found(version)
        return shapes.release(row)

    @router.get("/releases/{id}/deployments", summary="A release's deployments, newest first")
    async def release_deployments(
        id: str,  # noqa: A002
        caller: Caller = Depends(deployments_view),
        skip: int = SkipQuery,
        take: int = take_query(30),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            release = await _RELEASES.row(conn, caller, id)
            seen = await visible(caller, conn, Permission.DEPLOYMENT_VIEW)
            total, rows = await releases_repo.list_deployments(
                conn,
                caller.space_id,
                skip,
                take,
                release_id=int(release["id"]),
                project_ids=seen.projects(None),
                environment_ids=seen.environments(None),
            )
        path = f"{space_path(caller.space_id)}/releases/{id}/deployments"
        items = [shapes.deployment(r) for r in rows]
        return envelope("Deployment", items, Page(skip, take, total), path)

    @router.get("/releases/{id}/deployments/template", summary="Where this release may be deployed now")
    async def deployment_template(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        release = await _RELEASES.fetch(caller, id)
        async with caller.services.store.transaction() as conn:
            allowed = await deploy_service.promotable(conn, caller.space_id, release)
            rows = {
                format_id(Collection.ENVIRONMENTS, int(e["id"])): e
                for e in await environments_repo.all_in_space(conn, caller.space_id)
            }
        return {
            "IsDeploymentProcessModified": False,
            "IsVariableSetModified": False,
            "IsLibraryVariableSetModified": False,
            "PromoteTo": [{"Id": e, "Name": rows[e]["name"]} for e in allowed if e in rows],
            "TenantPromotions": [],
        }

    @router.get(
        "/releases/{id}/deployments/preview/{environmentId}",
        summary="What a deployment to the environment would run where, planned as the engine plans it",
    )
    async def deployment_preview(
        id: str,  # noqa: A002
        environmentId: str,  # noqa: N803
        caller: Caller = Depends(deployments_view),
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        environment = parse_id(Collection.ENVIRONMENTS, environmentId)
        if environment is None:
            raise not_found(environmentId)
        release = await _RELEASES.fetch(caller, id)
        async with caller.services.store.transaction() as conn:
            # A deployment there must be one the caller could see: its project and its environment.
            await require_visible(
                caller,
                conn,
                Permission.DEPLOYMENT_VIEW,
                environmentId,
                int(release["project_id"]),
                environment,
            )
            return await preview_deployment(
                conn,
                caller.space_id,
                release,
                environment,
                caller.services.secrets,
                caller.services.settings.built_in_worker,
            )

    @router.post("/deployments", status_code=201, summary="Deploy a release to an environment")
    async def create_deployment(
        body: DeploymentCreate, request: Request, caller: Caller = Depends(deploy)
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        new = deploy_service.NewDeployment(
            release_id=body_id(Collection.RELEASES, body.ReleaseId, "ReleaseId"),
            environment_id=body_id(Collection.ENVIRONMENTS, body.EnvironmentId, "EnvironmentId"),
            specific_machine_ids=body_ids(Collection.MACHINES, body.SpecificMachineIds, "SpecificMachineIds"),
            excluded_machine_ids=body_ids(Collection.MACHINES, body.ExcludedMachineIds, "ExcludedMachineIds"),
            skip_actions=body.SkipActions,
            use_guided_failure=body.UseGuidedFailure,
            form_values=body.FormValues,
            comments=body.Comments,
        )
        async with caller.services.store.transaction() as conn:
            # Rights first (a restricted deployer learns nothing of the lifecycle of where they may not go),
            # and again on what was created.
            release = await releases_repo.get_release(conn, caller.space_id, new.release_id)
            if release is not None:
                await require_visible(
                    caller, conn, Permission.RELEASE_VIEW, body.ReleaseId, int(release["project_id"])
                )
                await require_in_project(
                    caller, conn, Permission.DEPLOYMENT_CREATE, int(release["project_id"]), new.environment_id
                )
            row, _ = await deploy_service.create_deployment(conn, caller.space_id, new, caller.username)
            await require_in_project(
                caller, conn, Permission.DEPLOYMENT_CREATE, int(row["project_id"]), int(row["environment_id"])
            )
            resource = shapes.deployment(row)
            await record_with_change(conn, request.scope, resource)  # its audit event, in this transaction
        caller.services.queue.wake()
        return resource

    @router.get("/deployments", summary="List deployments, newest first")
    async def list_deployments(
        caller: Caller = Depends(deployments_view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
        projects: list[str] | None = Query(None),
        environments: list[str] | None = Query(None),
        taskState: list[str] | None = Query(None),  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        project_ids = parse_ids(Collection.PROJECTS, projects, "projects")
        environment_ids = parse_ids(Collection.ENVIRONMENTS, environments, "environments")
        async with caller.services.store.transaction() as conn:
            seen = await visible(caller, conn, Permission.DEPLOYMENT_VIEW)
            total, rows = await releases_repo.list_deployments(
                conn,
                caller.space_id,
                skip,
                take,
                ids=parse_ids(Collection.DEPLOYMENTS, ids),
                project_ids=seen.projects(project_ids),
                environment_ids=seen.environments(environment_ids),
                task_states=split_list(taskState),
            )
        items = [shapes.deployment(r) for r in rows]
        return envelope(
            "Deployment", items, Page(skip, take, total), f"{space_path(caller.space_id)}/deployments"
        )

    @router.get("/deployments/{id}", summary="Get a deployment")
    async def get_deployment(id: str, caller: Caller = Depends(deployments_view)) -> dict[str, Any]:  # noqa: A002
        return shapes.deployment(await _DEPLOYMENTS.fetch(caller, id))

    @router.delete("/deployments/{id}", summary="Delete a deployment (its task stays)")
    async def delete_deployment(id: str, caller: Caller = Depends(deployment_delete)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        row = await _DEPLOYMENTS.fetch(caller, id)
        shape = shapes.deployment(row)
        async with caller.services.store.transaction() as conn:
            await require_in_project(
                caller, conn, Permission.DEPLOYMENT_DELETE, int(row["project_id"]), int(row["environment_id"])
            )
            await releases_repo.delete_deployment(conn, caller.space_id, int(row["id"]))
        return shape

    @router.post("/releases/create/v1", summary="Create a release by project and channel names")
    async def create_release_command(
        body: CreateReleaseCommand, caller: Caller = Depends(create)
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await create_release_by_names(
                conn,
                caller.space_id,
                body.ProjectName,
                body.ReleaseVersion,
                body.ChannelName,
                body.ReleaseNotes,
                body.IgnoreIfAlreadyExists,
                caller.username,
            )
            # Checked on what the names found; a refusal rolls the release back.
            project = int(row["project_id"])
            await require_visible(caller, conn, Permission.PROJECT_VIEW, body.ProjectName, project)
            await require_in_project(caller, conn, Permission.RELEASE_CREATE, project)
        return {"ReleaseId": format_id(Collection.RELEASES, int(row["id"])), "ReleaseVersion": row["version"]}

    @router.post(
        "/deployments/create/untenanted/v1", summary="Deploy a release by project and environment names"
    )
    async def create_deployment_command(
        body: CreateDeploymentCommand, caller: Caller = Depends(deploy)
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            created = await create_deployments_by_names(
                conn,
                caller.space_id,
                body.ProjectName,
                body.ReleaseVersion,
                body.EnvironmentNames,
                body.SpecificMachineNames,
                body.ExcludedMachineNames,
                body.SkipStepNames,
                bool(body.UseGuidedFailure),
                body.Variables,
                caller.username,
            )
            for deployment, _ in created:
                await require_in_project(
                    caller,
                    conn,
                    Permission.DEPLOYMENT_CREATE,
                    int(deployment["project_id"]),
                    int(deployment["environment_id"]),
                )
        caller.services.queue.wake()
        return {"DeploymentServerTasks": server_tasks(created, "DeploymentId", Collection.DEPLOYMENTS)}

    return router
