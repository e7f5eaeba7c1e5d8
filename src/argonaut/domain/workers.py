"""Which worker runs a step: the described system's rules, as pure functions.

A step resolves to a pool. The built-in worker stands in only when that pool is the space's default pool
and holds no worker at all; an unhealthy pool never falls back to it (a silent fallback would run user
code on the server that the operator meant to keep clean). Among candidates, the healthy, enabled worker
with the fewest active leases wins, ties broken by id so choices are repeatable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class HealthStatus(StrEnum):
    HEALTHY = "Healthy"
    HAS_WARNINGS = "HasWarnings"
    UNHEALTHY = "Unhealthy"
    UNAVAILABLE = "Unavailable"
    UNKNOWN = "Unknown"

    @property
    def can_run_scripts(self) -> bool:
        return self in (HealthStatus.HEALTHY, HealthStatus.HAS_WARNINGS)


class CommunicationStyle(StrEnum):
    NONE = "None"
    TENTACLE_PASSIVE = "TentaclePassive"
    TENTACLE_ACTIVE = "TentacleActive"
    SSH = "Ssh"


@dataclass(frozen=True, slots=True)
class WorkerCandidate:
    id: str
    name: str
    health: HealthStatus
    is_disabled: bool
    active_leases: int = 0
    max_leases: int = 10
    exclusively_leased: bool = False


@dataclass(frozen=True, slots=True)
class BuiltInWorker:
    """The decision to run on the node's own built-in worker."""


@dataclass(frozen=True, slots=True)
class NoWorker:
    reason: str
    busy: bool = False  # healthy workers exist but are all taken: worth waiting for, not a failure
    unchecked: tuple[str, ...] = ()  # enabled workers never checked: worth checking before failing


Choice = WorkerCandidate | BuiltInWorker | NoWorker


def uses_built_in_worker(pool_is_default: bool, pool_worker_count: int) -> bool:
    return pool_is_default and pool_worker_count == 0


def choose_worker(
    pool_name: str,
    pool_is_default: bool,
    workers: Iterable[WorkerCandidate],
    built_in_enabled: bool,
    exclusive: bool = False,
) -> Choice:
    """Pick where a step runs in ``pool_name``; the reason in :class:`NoWorker` names the pool."""
    members = list(workers)
    if uses_built_in_worker(pool_is_default, len(members)):
        if built_in_enabled:
            return BuiltInWorker()
        return NoWorker(
            f"no healthy worker available in pool '{pool_name}' (the built-in worker is disabled)"
        )
    usable = [
        w
        for w in members
        if w.health.can_run_scripts
        and not w.is_disabled
        and not w.exclusively_leased
        and w.active_leases < w.max_leases
        and not (exclusive and w.active_leases > 0)
    ]
    if not usable:
        healthy = [w for w in members if w.health.can_run_scripts and not w.is_disabled]
        if healthy:
            return NoWorker(f"every healthy worker in pool '{pool_name}' is busy", busy=True)
        unchecked = tuple(w.id for w in members if w.health is HealthStatus.UNKNOWN and not w.is_disabled)
        return NoWorker(no_healthy_worker(pool_name, members), unchecked=unchecked)
    return min(usable, key=lambda w: (w.active_leases, _id_order(w.id)))


def no_healthy_worker(pool_name: str, members: Iterable[WorkerCandidate]) -> str:
    """Why nothing in the pool can run a step, naming each worker and what to do about it."""
    states = [f"'{w.name}' is {'disabled' if w.is_disabled else w.health.value}" for w in members]
    return (
        f"no healthy worker available in pool '{pool_name}': {', '.join(states)}. "
        f'Check their health with `argonaut worker check-health --pool "{pool_name}"` '
        "(or a Health task through the API), and see each worker's status summary"
    )


def _id_order(worker_id: str) -> tuple[int, str]:
    _, _, number = worker_id.rpartition("-")
    return (int(number) if number.isdigit() else 0, worker_id)
