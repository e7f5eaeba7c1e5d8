"""Each task type's arguments as one typed value, from the API that validates them to the executor.

The API builds these from a request (after checking ids exist), the store keeps ``to_json()`` — the
canonical shape the described system's clients read back as a task's ``Arguments`` — and the executor
reads them back with ``from_json``. So a field is spelled, defaulted and typed in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from argonaut.domain.ids import Collection, format_id, parse_id

Syntax = Literal["Bash", "Python"]
TargetType = Literal["WorkerPools", "Workers", "OctopusServer"]
Isolation = Literal["NoIsolation", "FullIsolation"]

DEFAULT_MAX_PARALLELISM = 10  # the described system's Octopus.Action.MaxParallelism default


@dataclass(frozen=True, slots=True)
class AdHocScriptArguments:
    script_body: str
    syntax: Syntax = "Bash"
    target_type: TargetType = "WorkerPools"
    worker_pool_ids: tuple[int, ...] = ()  # empty with WorkerPools: the space's default pool
    machine_ids: tuple[int, ...] = ()
    max_parallelism: int | None = None
    isolation: Isolation = "NoIsolation"

    @property
    def parallelism(self) -> int:
        return self.max_parallelism or DEFAULT_MAX_PARALLELISM

    @property
    def exclusive(self) -> bool:
        """FullIsolation: the step takes its worker to itself."""
        return self.isolation == "FullIsolation"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ScriptBody": self.script_body,
            "Syntax": self.syntax,
            "TargetType": self.target_type,
        }
        if self.max_parallelism is not None:
            out["MaxParallelism"] = self.max_parallelism
        if self.exclusive:
            out["Isolation"] = self.isolation
        if self.target_type == "WorkerPools":
            out["WorkerPoolIds"] = [format_id(Collection.WORKER_POOLS, n) for n in self.worker_pool_ids]
        elif self.target_type == "Workers":
            out["MachineIds"] = [format_id(Collection.WORKERS, n) for n in self.machine_ids]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AdHocScriptArguments:
        syntax: Syntax = "Python" if str(data.get("Syntax", "Bash")).lower() == "python" else "Bash"
        target = str(data.get("TargetType") or "WorkerPools")
        target_type: TargetType = (
            "Workers"
            if target == "Workers"
            else "OctopusServer"
            if target == "OctopusServer"
            else "WorkerPools"
        )
        parallelism = data.get("MaxParallelism")
        return cls(
            script_body=str(data.get("ScriptBody", "")),
            syntax=syntax,
            target_type=target_type,
            worker_pool_ids=_numbers(Collection.WORKER_POOLS, data.get("WorkerPoolIds")),
            machine_ids=_numbers(Collection.WORKERS, data.get("MachineIds")),
            max_parallelism=max(1, int(parallelism)) if isinstance(parallelism, int) else None,
            isolation="FullIsolation" if data.get("Isolation") == "FullIsolation" else "NoIsolation",
        )


Restriction = Literal["Workers", "DeploymentTargets"]


@dataclass(frozen=True, slots=True)
class WorkerSelection:
    """What a ``Health`` or ``UpdateCalamari`` task looks at, as the described system's arguments say it:
    named machines (``MachineIds`` holds ``Workers-n`` and ``Machines-n`` alike), a pool's workers, an
    environment's targets, or, naming none of these, every machine of the space (``RestrictedTo`` keeps
    it to workers or to deployment targets)."""

    machine_ids: tuple[int, ...] = ()  # workers
    worker_pool_id: int | None = None
    timeout: str | None = None  # a TimeSpan overriding the policy's HealthCheckTimeout (Health only)
    target_ids: tuple[int, ...] = ()  # deployment targets
    environment_id: int | None = None
    restricted_to: Restriction | None = None

    @property
    def names_machines(self) -> bool:
        """Whether it names machines, a pool or an environment (else: the whole space)."""
        return (
            bool(self.machine_ids or self.target_ids)
            or self.worker_pool_id is not None
            or (self.environment_id is not None)
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"RestrictedTo": self.restricted_to}
        if self.timeout is not None:
            out["Timeout"] = self.timeout
        if self.worker_pool_id is not None:
            out["WorkerpoolId"] = format_id(Collection.WORKER_POOLS, self.worker_pool_id)
        if self.environment_id is not None:
            out["EnvironmentId"] = format_id(Collection.ENVIRONMENTS, self.environment_id)
        if self.machine_ids or self.target_ids:
            out["MachineIds"] = [
                *(format_id(Collection.WORKERS, n) for n in self.machine_ids),
                *(format_id(Collection.MACHINES, n) for n in self.target_ids),
            ]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkerSelection:
        pool = (
            parse_id(Collection.WORKER_POOLS, str(data["WorkerpoolId"])) if data.get("WorkerpoolId") else None
        )
        environment = (
            parse_id(Collection.ENVIRONMENTS, str(data["EnvironmentId"]))
            if data.get("EnvironmentId")
            else None
        )
        restricted = str(data.get("RestrictedTo") or "").lower()
        timeout = data.get("Timeout")
        return cls(
            machine_ids=_numbers(Collection.WORKERS, data.get("MachineIds")),
            worker_pool_id=pool,
            timeout=str(timeout) if timeout else None,
            target_ids=_numbers(Collection.MACHINES, data.get("MachineIds")),
            environment_id=environment,
            restricted_to="Workers"
            if restricted == "workers"
            else "DeploymentTargets"
            if restricted == "deploymenttargets"
            else None,
        )


def _numbers(collection: Collection, texts: Any) -> tuple[int, ...]:
    if not isinstance(texts, list):
        return ()
    return tuple(n for t in texts if (n := parse_id(collection, str(t))) is not None)
