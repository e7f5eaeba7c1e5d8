"""``/runbookRuns``, ``POST /runbooks/{id}/run`` and the by-names command ``runbook-runs/create/v1``:
each run is a ``RunbookRun`` task queued in the transaction that makes the run (``service/runbook_runs.py``,
``service/runbooks.py``). The queue is woken once that transaction has committed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from argonaut.api import resources_runbooks as shapes
from argonaut.api.audit import record_with_change
from argonaut.api.auth import (
    Caller,
    Scope,
    authorize,
    require_in_project,
    require_visible,
    visible,
    visible_project,
)
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
from argonaut.api.errors import bad_request
from argonaut.api.inputs_runbooks import RunbookRunCommand, RunbookRunCreate, RunbookRunParameters
from argonaut.domain.ids import Collection
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.service import runbook_runs, runbook_snapshots
from argonaut.service import runbooks as runbook_service
from argonaut.service.runbooks_by_names import run_runbook_by_names
from argonaut.store import runbooks_repo


def _no_tenants(*given: str | list[str] | None) -> None:
    if any(given):
        raise bad_request("Tenants are not supported: this server has no tenants, so leave TenantId(s) empty")


_RUNS = SpaceResources(
    Collection.RUNBOOK_RUNS,
    runbooks_repo.get_run,
    shapes.run,
    seen_with=Permission.RUNBOOK_RUN_VIEW,
    by_environment=True,
)


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["RunbookRuns"])
    view = authorize(Permission.RUNBOOK_RUN_VIEW, scope)
    create = authorize(Permission.RUNBOOK_RUN_CREATE, scope)
    remove = authorize(Permission.RUNBOOK_RUN_DELETE, scope)

    @router.post("/runbookRuns", status_code=201, summary="Run a runbook snapshot in an environment")
    async def create_run(
        body: RunbookRunCreate, request: Request, caller: Caller = Depends(create)
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        _no_tenants(body.TenantId)
        options = runbook_runs.RunOptions(
            specific_machine_ids=body_ids(Collection.MACHINES, body.SpecificMachineIds, "SpecificMachineIds"),
            excluded_machine_ids=body_ids(Collection.MACHINES, body.ExcludedMachineIds, "ExcludedMachineIds"),
            skip_actions=body.SkipActions,
            form_values=body.FormValues,
            use_guided_failure=body.UseGuidedFailure,
            comments=body.Comments,
        )
        runbook_id = body_id(Collection.RUNBOOKS, body.RunbookId, "RunbookId") if body.RunbookId else None
        async with caller.services.store.transaction() as conn:
            run, _ = await runbook_runs.run_snapshot(
                conn,
                caller.space_id,
                runbook_id,
                body_id(Collection.RUNBOOK_SNAPSHOTS, body.RunbookSnapshotId, "RunbookSnapshotId"),
                body_id(Collection.ENVIRONMENTS, body.EnvironmentId, "EnvironmentId"),
                options,
                caller.username,
            )
            await require_in_project(
                caller,
                conn,
                Permission.RUNBOOK_RUN_CREATE,
                int(run["project_id"]),
                int(run["environment_id"]),
            )
            resource = shapes.run(run)
            await record_with_change(conn, request.scope, resource)  # its audit event, in this transaction
        caller.services.queue.wake()
        return resource

    @router.post(
        "/runbooks/{id}/run",
        status_code=201,
        summary="Run a runbook in one or more environments: the published snapshot by default, a named one, "
        "or the draft (UseDefaultSnapshot false and no RunbookSnapshotNameOrId)",
    )
    async def run_runbook(
        id: str,  # noqa: A002
        body: RunbookRunParameters,
        caller: Caller = Depends(create),
    ) -> list[dict[str, Any]]:
        assert caller.space_id is not None
        _no_tenants(body.TenantId, body.TenantIds)
        texts = ([body.EnvironmentId] if body.EnvironmentId else []) + body.EnvironmentIds
        environment_ids = body_ids(Collection.ENVIRONMENTS, texts, "EnvironmentIds")
        async with caller.services.store.transaction() as conn:
            runbook = await runbook_service.find_runbook(conn, caller.space_id, id)
            await require_visible(caller, conn, Permission.RUNBOOK_VIEW, id, int(runbook["project_id"]))
            snapshot_id = None
            if body.RunbookSnapshotNameOrId:
                snapshot = await runbook_snapshots.snapshot_of(
                    conn, caller.space_id, runbook, body.RunbookSnapshotNameOrId
                )
                snapshot_id = int(snapshot["id"])
            created = await runbook_service.run_runbook(
                conn,
                caller.space_id,
                int(runbook["id"]),
                environment_ids,
                caller.username,
                snapshot_id,
                draft=snapshot_id is None and not body.UseDefaultSnapshot,
                specific_machine_ids=body_ids(
                    Collection.MACHINES, body.SpecificMachineIds, "SpecificMachineIds"
                ),
                excluded_machine_ids=body_ids(
                    Collection.MACHINES, body.ExcludedMachineIds, "ExcludedMachineIds"
                ),
                skip_actions=body.SkipActions,
                form_values=body.FormValues,
                use_guided_failure=bool(body.UseGuidedFailure),
            )
            for run, _ in created:
                await require_in_project(
                    caller,
                    conn,
                    Permission.RUNBOOK_RUN_CREATE,
                    int(run["project_id"]),
                    int(run["environment_id"]),
                )
        caller.services.queue.wake()
        return [shapes.run(run) for run, _ in created]

    @router.get("/runbookRuns", summary="List runbook runs, newest first")
    async def list_runs(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
        projects: list[str] | None = Query(None),
        runbooks: list[str] | None = Query(None),
        environments: list[str] | None = Query(None),
        taskState: list[str] | None = Query(None),  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        project_ids = parse_ids(Collection.PROJECTS, projects, "projects")
        environment_ids = parse_ids(Collection.ENVIRONMENTS, environments, "environments")
        async with caller.services.store.transaction() as conn:
            seen = await visible(caller, conn, Permission.RUNBOOK_RUN_VIEW)
            total, rows = await runbooks_repo.list_runs(
                conn,
                caller.space_id,
                skip,
                take,
                ids=parse_ids(Collection.RUNBOOK_RUNS, ids),
                project_ids=seen.projects(project_ids),
                runbook_ids=parse_ids(Collection.RUNBOOKS, runbooks, "runbooks"),
                environment_ids=seen.environments(environment_ids),
                task_states=split_list(taskState),
            )
        path = f"{space_path(caller.space_id)}/runbookRuns"
        return envelope("RunbookRun", [shapes.run(r) for r in rows], Page(skip, take, total), path)

    @router.get("/projects/{projectId}/runbookRuns", summary="A project's runbook runs, newest first")
    async def project_runs(
        projectId: str,  # noqa: N803
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        runbooks: list[str] | None = Query(None),
        environments: list[str] | None = Query(None),
        taskState: list[str] | None = Query(None),  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        environment_ids = parse_ids(Collection.ENVIRONMENTS, environments, "environments")
        async with caller.services.store.transaction() as conn:
            project = await visible_project(caller, conn, projectId, Permission.RUNBOOK_RUN_VIEW)
            seen = await visible(caller, conn, Permission.RUNBOOK_RUN_VIEW)
            total, rows = await runbooks_repo.list_runs(
                conn,
                caller.space_id,
                skip,
                take,
                project_ids=[int(project["id"])],
                runbook_ids=parse_ids(Collection.RUNBOOKS, runbooks, "runbooks"),
                environment_ids=seen.environments(environment_ids),
                task_states=split_list(taskState),
            )
        path = f"{space_path(caller.space_id)}/projects/{projectId}/runbookRuns"
        return envelope("RunbookRun", [shapes.run(r) for r in rows], Page(skip, take, total), path)

    @router.get("/runbookRuns/{id}", summary="Get a runbook run")
    async def get_run(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await _RUNS.load(caller, id)

    @router.delete("/runbookRuns/{id}", summary="Delete a runbook run (its task stays)")
    async def delete_run(id: str, caller: Caller = Depends(remove)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            row = await _RUNS.row(conn, caller, id)
            await require_in_project(
                caller,
                conn,
                Permission.RUNBOOK_RUN_DELETE,
                int(row["project_id"]),
                int(row["environment_id"]),
            )
            await runbook_runs.delete_run(conn, caller.space_id, row)
        return shapes.run(row)

    @router.post("/runbook-runs/create/v1", summary="Run a runbook by project, runbook and environment names")
    async def create_run_command(body: RunbookRunCommand, caller: Caller = Depends(create)) -> dict[str, Any]:
        assert caller.space_id is not None
        async with caller.services.store.transaction() as conn:
            created = await run_runbook_by_names(
                conn,
                caller.space_id,
                body.ProjectName,
                body.RunbookName,
                body.EnvironmentNames,
                body.Snapshot,
                body.SpecificMachineNames,
                body.ExcludedMachineNames,
                body.SkipStepNames,
                body.Variables,
                bool(body.UseGuidedFailure),
                caller.username,
            )
            for run, _ in created:  # checked on what the names found; a refusal rolls the runs back
                await require_in_project(
                    caller,
                    conn,
                    Permission.RUNBOOK_RUN_CREATE,
                    int(run["project_id"]),
                    int(run["environment_id"]),
                )
        caller.services.queue.wake()
        return {"RunbookRunServerTasks": server_tasks(created, "RunbookRunId", Collection.RUNBOOK_RUNS)}

    return router
