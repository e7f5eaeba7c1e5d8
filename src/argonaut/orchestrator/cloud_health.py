"""How a Cloud Region target (``CommunicationStyle: None``) is reached for a health check.

Such a target is no machine: its steps run on a worker of its ``DefaultWorkerPoolId`` pool (null: the
space's default pool, and an empty default pool means the built-in worker). So its health is whether that
pool can run its steps now: a worker of the pool is checked, live, and the machine policy's check script
then runs there. The pool's workers keep their own health records; this check only borrows them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.health import HealthReport
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.scripts import BuiltInTarget, Target, WorkerTarget
from argonaut.domain.workers import HealthStatus, uses_built_in_worker
from argonaut.orchestrator.dispatcher import Dispatcher
from argonaut.store import Store, pools_repo, workers_repo

MAX_WORKERS_TRIED = 3  # a pool of offline workers must not hold a check for one timeout per worker


@dataclass(frozen=True, slots=True)
class Reached:
    report: HealthReport
    via: Target | None  # where the policy's check script runs; None when nothing could be reached


class CloudRegionHealth:
    def __init__(
        self, store: Store, dispatcher: Dispatcher, runner_version: str, built_in_enabled: bool
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._runner_version = runner_version
        self._built_in_enabled = built_in_enabled

    async def reach(self, row: Mapping[str, Any], timeout_s: float) -> Reached:
        space_id = int(row["space_id"])
        named = (row["endpoint"] or {}).get("DefaultWorkerPoolId")
        async with self._store.transaction() as conn:
            if named:
                number = parse_id(Collection.WORKER_POOLS, str(named))
                pool = await pools_repo.get(conn, space_id, number) if number is not None else None
            else:
                pool = await pools_repo.default_pool(conn, space_id)
            members: Sequence[RowMapping] = ()
            if pool is not None:
                filt = workers_repo.WorkerFilter(pool_ids=[int(pool["id"])])
                _, members = await workers_repo.list_workers(conn, space_id, filt, 0, 100_000)
        if pool is None:
            return Reached(
                HealthReport(
                    HealthStatus.UNHEALTHY,
                    f"Its default worker pool {named or '(the space default)'} no longer exists: "
                    "choose another DefaultWorkerPoolId",
                ),
                None,
            )
        where = f"worker pool '{pool['name']}'"
        if uses_built_in_worker(bool(pool["is_default"]), len(members)):
            if not self._built_in_enabled:
                why = f"{where} has no workers and the built-in worker is disabled on this server node"
                return Reached(HealthReport(HealthStatus.UNAVAILABLE, f"Its steps cannot run: {why}"), None)
            summary = f"Its steps run on the built-in worker ({where} has no workers)"
            return Reached(HealthReport(HealthStatus.HEALTHY, summary, self._runner_version), BuiltInTarget())
        return await self._through_workers(members, where, timeout_s)

    async def _through_workers(self, members: Sequence[RowMapping], where: str, timeout_s: float) -> Reached:
        """The first worker of the pool that answers, trying those last seen healthy first."""
        enabled = [m for m in members if not m["is_disabled"]]
        if not enabled:
            return Reached(
                HealthReport(
                    HealthStatus.UNAVAILABLE, f"Its steps cannot run: {where} has no enabled worker"
                ),
                None,
            )
        order = {HealthStatus.HEALTHY: 0, HealthStatus.HAS_WARNINGS: 1, HealthStatus.UNKNOWN: 2}
        enabled.sort(key=lambda m: (order.get(HealthStatus(m["health_status"]), 3), int(m["id"])))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        tried: list[str] = []
        for member in enabled[:MAX_WORKERS_TRIED]:
            target = WorkerTarget(int(member["id"]), str(member["name"]), member["endpoint"])
            remaining_s = deadline - loop.time()
            if remaining_s <= 0:
                break
            try:
                report = await self._dispatcher.check_health(target, remaining_s)
            except Exception as exc:  # one broken worker must not end the target's check
                report = HealthReport(HealthStatus.UNHEALTHY, str(exc))
            if report.status.can_run_scripts:
                summary = f"Its steps run on worker '{member['name']}' of {where}, which answered"
                return Reached(HealthReport(HealthStatus.HEALTHY, summary, report.runner_version), target)
            tried.append(f"'{member['name']}' is {report.status.value} ({report.summary})")
        untried = len(enabled) - len(tried)
        more = f" ({untried} more not tried)" if untried else ""
        summary = (
            f"No worker of {where} can run its steps: {'; '.join(tried) or 'none answered in time'}{more}"
        )
        return Reached(HealthReport(HealthStatus.UNAVAILABLE, summary), None)
