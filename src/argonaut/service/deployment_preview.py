"""What a deployment of a release to an environment would run, and where, before anyone deploys it.

The answer comes from the same pure planner the engine runs when the deployment starts
(:func:`argonaut.domain.placement.plan_deployment`), fed the release's frozen process, the environment's
targets with their health as it is now, and the space's pools with their workers: so the preview and the
deployment cannot disagree about the rules, only about machines whose health changes in between.

Choices worth knowing:

* The preview reads; it never checks a machine's health. A target or worker nobody has checked yet is
  shown where the planner would place the step, and the engine checks it when the deployment starts.
* Problems the engine would refuse the deployment for (an unhealthy target, an empty pool) are answered,
  not raised: the person deciding whether to deploy is the one who needs to read them.
* The shape is the described system's ``DeploymentPreviewResource`` (``StepsToExecute`` with each
  action's ``Machines``), with our own ``Placements`` and ``Problems`` beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.placement import DeploymentContext, Placement, PlannedAction, plan_deployment
from argonaut.domain.prompted_values import prompt_form
from argonaut.domain.variables import ScopeContext, all_values
from argonaut.domain.workers import BuiltInWorker, WorkerCandidate
from argonaut.orchestrator.deployment_context import pool_info, target_info
from argonaut.security.master_key import SecretBox
from argonaut.service.errors import NotFound
from argonaut.service.processes import steps_for_run
from argonaut.service.variables import variables_for_run
from argonaut.store import environments_repo, machines_repo, pools_repo
from argonaut.store.connection import Conn


async def preview_deployment(
    conn: Conn,
    space_id: int,
    release: RowMapping,
    environment_number: int,
    secrets: SecretBox,
    built_in_enabled: bool,
) -> dict[str, Any]:
    """The ``DeploymentPreviewResource`` of ``release`` deployed to the environment now."""
    environment = await environments_repo.get(conn, space_id, environment_number)
    if environment is None:
        raise NotFound(format_id(Collection.ENVIRONMENTS, environment_number))
    environment_id = format_id(Collection.ENVIRONMENTS, environment_number)
    steps = await steps_for_run(conn, secrets, str(release["process_snapshot_id"]))
    variables = await variables_for_run(conn, secrets, str(release["variables_snapshot_id"]))
    pool_values, _ = all_values(
        [v for v in variables if v.type == "WorkerPool"], ScopeContext(environment_id=environment_id)
    )
    targets = [
        target_info(r) for r in await machines_repo.targets_in_environment(conn, space_id, environment_number)
    ]
    pools = {p.id: p for p in map(pool_info, await pools_repo.all_pools_with_members(conn, space_id))}
    default_pool = next((p.id for p in pools.values() if p.is_default), "")
    context = DeploymentContext(
        environment_id=environment_id,
        channel_id=format_id(Collection.CHANNELS, int(release["channel_id"])),
        specific_machine_ids=frozenset(),
        excluded_machine_ids=frozenset(),
        skip_action_ids=frozenset(),
        default_pool_id=default_pool,
        built_in_enabled=built_in_enabled,
        pool_variable_values=pool_values,
    )
    plan = plan_deployment(steps, targets, pools, context)
    return {
        "EnvironmentId": environment_id,
        "ReleaseId": format_id(Collection.RELEASES, int(release["id"])),
        "StepsToExecute": [
            _step(planned.step.target_roles, action) for planned in plan.steps for action in planned.actions
        ],
        "Problems": plan.problems,
        "Form": prompt_form(variables, environment_id),
        "UseGuidedFailureModeByDefault": bool(environment["use_guided_failure"]),
    }


def _step(roles: Sequence[str], planned: PlannedAction) -> dict[str, Any]:
    action = planned.action
    machines = {p.target_id: p.target_name for p in planned.placements if p.target_id is not None}
    return {
        "ActionId": action.id,
        "ActionName": action.name,
        "ActionNumber": planned.number,
        "ActionType": action.action_type,
        "Roles": list(roles),
        "Machines": [{"Id": k, "Name": v} for k, v in machines.items()],
        "CanBeSkipped": not action.is_required,
        "IsDisabled": action.is_disabled,
        "HasNoApplicableMachines": bool(roles) and not machines and planned.skipped is not None,
        "IsSkipped": planned.skipped is not None,
        "SkipReason": planned.skipped,
        "MaxParallelism": planned.max_parallelism,
        "Placements": [_placement(p) for p in planned.placements],
        "Problems": list(planned.problems),
    }


def _placement(placement: Placement) -> dict[str, Any]:
    worker = placement.worker
    return {
        "Kind": placement.kind.value,
        "TargetId": placement.target_id,
        "TargetName": placement.target_name,
        "WorkerPoolId": placement.pool_id,
        "WorkerId": worker.id if isinstance(worker, WorkerCandidate) else None,
        "WorkerName": worker.name if isinstance(worker, WorkerCandidate) else None,
        "IsBuiltInWorker": isinstance(worker, BuiltInWorker),
        "Label": placement.label,
    }
