"""Validation of ``POST /tasks`` bodies, per task type, into the canonical arguments the queue stores."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from argonaut.api.errors import bad_request
from argonaut.api.inputs import ApiInput
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.task_arguments import AdHocScriptArguments, Restriction, WorkerSelection
from argonaut.domain.tasks import TaskType
from argonaut.domain.timespan import InvalidTimeSpan, parse_timespan
from argonaut.store import environments_repo, machines_repo, pools_repo, workers_repo
from argonaut.store.connection import Conn

MAX_SCRIPT_BYTES = 1_000_000
_SYNTAXES = {"bash": "Bash", "python": "Python"}
_TARGET_TYPES = {"workerpools": "WorkerPools", "workers": "Workers", "octopusserver": "OctopusServer"}


class TaskCreate(ApiInput):
    Name: str = Field(min_length=1, max_length=50)
    Description: str | None = Field(None, max_length=1000)
    Arguments: dict[str, Any] = Field(default_factory=dict)
    SpaceId: str | None = None


class AdHocArguments(ApiInput):
    ScriptBody: str = Field(min_length=1, max_length=MAX_SCRIPT_BYTES)
    Syntax: str = "Bash"
    TargetType: str = "WorkerPools"
    WorkerPoolIds: list[str] = Field(default_factory=list, max_length=1000)
    MachineIds: list[str] = Field(default_factory=list, max_length=1000)
    MaxParallelism: int | None = Field(None, ge=1, le=1000)
    Isolation: Literal["NoIsolation", "FullIsolation"] = "NoIsolation"


def _ids(collection: Collection, texts: list[str], field: str) -> list[int]:
    numbers = []
    for text in texts:
        number = parse_id(collection, str(text))
        if number is None:
            raise bad_request(f"{field}: '{text}' is not an id like {collection.value}-1")
        numbers.append(number)
    return numbers


async def adhoc_arguments(conn: Conn, space_id: int, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        args = AdHocArguments.model_validate(raw)
    except ValidationError as exc:
        errors = [f"Arguments.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise bad_request("The script task's arguments are not valid", errors) from None
    syntax = _SYNTAXES.get(args.Syntax.lower())
    if syntax is None:
        raise bad_request(
            f"Arguments.Syntax '{args.Syntax}' is not supported: use Bash or Python "
            "(PowerShell needs pwsh on a worker, which this server does not offer yet)"
        )
    target_type = _TARGET_TYPES.get(args.TargetType.lower())
    if target_type is None:
        raise bad_request(
            f"Arguments.TargetType '{args.TargetType}' is not supported: "
            "use WorkerPools, Workers or OctopusServer"
        )
    pool_numbers: list[int] = []
    worker_numbers: list[int] = []
    if target_type == "WorkerPools":
        pool_numbers = _ids(Collection.WORKER_POOLS, args.WorkerPoolIds, "Arguments.WorkerPoolIds")
        found = (
            {row["id"] for row in await pools_repo.get_many(conn, space_id, pool_numbers)}
            if pool_numbers
            else set()
        )
        missing = [format_id(Collection.WORKER_POOLS, n) for n in pool_numbers if n not in found]
        if missing:
            raise bad_request(f"Arguments.WorkerPoolIds: {', '.join(missing)} do not exist in this space")
    elif target_type == "Workers":
        worker_numbers = _ids(Collection.WORKERS, args.MachineIds, "Arguments.MachineIds")
        if not worker_numbers:
            raise bad_request("Arguments.MachineIds must name at least one worker when TargetType is Workers")
        for number in worker_numbers:
            if await workers_repo.get(conn, space_id, number) is None:
                raise bad_request(
                    f"Arguments.MachineIds: {format_id(Collection.WORKERS, number)} "
                    "does not exist in this space"
                )
    return AdHocScriptArguments(
        script_body=args.ScriptBody,
        syntax="Python" if syntax == "Python" else "Bash",
        target_type="Workers"
        if target_type == "Workers"
        else "OctopusServer"
        if target_type == "OctopusServer"
        else "WorkerPools",
        worker_pool_ids=tuple(pool_numbers),
        machine_ids=tuple(worker_numbers),
        max_parallelism=args.MaxParallelism,
        isolation=args.Isolation,
    ).to_json()


class HealthArguments(ApiInput):
    WorkerpoolId: str | None = None
    EnvironmentId: str | None = None
    MachineIds: list[str] = Field(default_factory=list, max_length=10_000)
    RestrictedTo: str | None = None
    Timeout: str | None = Field(None, max_length=30)


_RESTRICTIONS: dict[str, Restriction] = {"workers": "Workers", "deploymenttargets": "DeploymentTargets"}


async def health_arguments(conn: Conn, space_id: int, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        args = HealthArguments.model_validate(raw)
    except ValidationError as exc:
        errors = [f"Arguments.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise bad_request("The health check's arguments are not valid", errors) from None
    restricted = _RESTRICTIONS.get(args.RestrictedTo.lower()) if args.RestrictedTo else None
    if args.RestrictedTo and restricted is None:
        raise bad_request("Arguments.RestrictedTo must be Workers, DeploymentTargets or null")
    if args.Timeout is not None:
        try:
            parse_timespan(args.Timeout)
        except InvalidTimeSpan as exc:
            raise bad_request(f"Arguments.Timeout: {exc}") from None
    pool = None
    if args.WorkerpoolId:
        [pool] = _ids(Collection.WORKER_POOLS, [args.WorkerpoolId], "Arguments.WorkerpoolId")
        if not await pools_repo.get_many(conn, space_id, [pool]):
            raise bad_request(f"Arguments.WorkerpoolId: {args.WorkerpoolId} does not exist in this space")
    environment = None
    if args.EnvironmentId:
        [environment] = _ids(Collection.ENVIRONMENTS, [args.EnvironmentId], "Arguments.EnvironmentId")
        if await environments_repo.get(conn, space_id, environment) is None:
            raise bad_request(f"Arguments.EnvironmentId: {args.EnvironmentId} does not exist in this space")
    workers, targets = await _machine_ids(conn, space_id, args.MachineIds)
    selection = WorkerSelection(
        tuple(workers),
        pool,
        args.Timeout,
        tuple(targets),
        environment,
        restricted,
    )
    return selection.to_json()


async def _machine_ids(conn: Conn, space_id: int, texts: list[str]) -> tuple[list[int], list[int]]:
    """``MachineIds`` of a health check: workers (``Workers-n``) and deployment targets (``Machines-n``)."""
    workers: list[int] = []
    targets: list[int] = []
    for text in texts:
        if (number := parse_id(Collection.WORKERS, text)) is not None:
            if await workers_repo.get(conn, space_id, number) is None:
                raise bad_request(
                    f"Arguments.MachineIds: {format_id(Collection.WORKERS, number)} does not exist"
                )
            workers.append(number)
        elif (number := parse_id(Collection.MACHINES, text)) is not None:
            if await machines_repo.get(conn, space_id, number) is None:
                raise bad_request(
                    f"Arguments.MachineIds: {format_id(Collection.MACHINES, number)} does not exist"
                )
            targets.append(number)
        else:
            raise bad_request(f"Arguments.MachineIds: '{text}' is not a worker or deployment target id")
    return workers, targets


async def runner_update_arguments(conn: Conn, space_id: int, raw: dict[str, Any]) -> dict[str, Any]:
    """Same shape as a health check's: MachineIds, a pool, an environment, or every machine of the space."""
    canonical = await health_arguments(conn, space_id, raw)
    canonical.pop("Timeout", None)
    return canonical


_ARGUMENTS = {
    TaskType.AD_HOC_SCRIPT: adhoc_arguments,
    TaskType.HEALTH: health_arguments,
    TaskType.UPDATE_CALAMARI: runner_update_arguments,
}
DESCRIPTIONS = {
    TaskType.AD_HOC_SCRIPT: "Run script",
    TaskType.HEALTH: "Check health",
    TaskType.UPDATE_CALAMARI: "Update the runner on workers",
}


async def task_arguments(
    conn: Conn, space_id: int, task_type: TaskType, raw: dict[str, Any]
) -> dict[str, Any]:
    return await _ARGUMENTS[task_type](conn, space_id, raw)


def check_task_name(name: str) -> TaskType:
    for known in _ARGUMENTS:
        if known.value.lower() == name.lower():
            return known
    supported = ", ".join(t.value for t in _ARGUMENTS)
    raise bad_request(f"'{name}' is not a task type this server can queue; supported: {supported}")
