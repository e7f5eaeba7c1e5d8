"""Worker pools. Exactly one default pool per space: making another default moves the flag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select
from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.workers import HealthStatus, WorkerCandidate
from argonaut.store.common import Refused, slugify
from argonaut.store.connection import Conn
from argonaut.store.database import LEASING, take_turns
from argonaut.store.hot import hot
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import worker_leases, worker_pool_members, worker_pools, workers

_pools = SpaceScoped(
    worker_pools, "worker pool", order_by=(worker_pools.c.sort_order, worker_pools.c.name_key)
)
get = _pools.get
find_by_name = _pools.find_by_name
default_pool = _pools.default
list_pools = _pools.page


async def create_pool(
    conn: Conn,
    space_id: int,
    name: str,
    description: str | None,
    is_default: bool,
    by: str,
    sort_order: int | None = None,
) -> int:
    await _pools.ensure_name_free(conn, space_id, name)
    if is_default:
        await _pools.clear_default(conn, space_id)
    if sort_order is None:
        current = await conn.execute(
            select(func.max(worker_pools.c.sort_order)).where(worker_pools.c.space_id == space_id)
        )
        sort_order = (current.scalar() or 0) + 1
    return await _pools.insert(
        conn,
        new_row(
            space_id,
            name,
            by,
            slug=slugify(name),
            description=description,
            is_default=is_default,
            sort_order=sort_order,
            pool_type="StaticWorkerPool",
        ),
    )


async def get_many(conn: Conn, space_id: int, pool_ids: Sequence[int]) -> Sequence[RowMapping]:
    if len(pool_ids) == 1:  # a script on one worker: its pool (hot, through the space-scoped lookup)
        found = await get(conn, space_id, pool_ids[0])
        return [found] if found is not None else []
    query = select(worker_pools).where(worker_pools.c.space_id == space_id, worker_pools.c.id.in_(pool_ids))
    return (await conn.execute(query)).mappings().all()


async def update_pool(conn: Conn, space_id: int, pool_id: int, values: dict[str, Any], by: str) -> None:
    await _pools.save(conn, space_id, pool_id, values, by)


async def worker_count(conn: Conn, pool_id: int) -> int:
    query = (
        select(func.count()).select_from(worker_pool_members).where(worker_pool_members.c.pool_id == pool_id)
    )
    return int((await conn.execute(query)).scalar_one())


async def delete_pool(conn: Conn, space_id: int, pool_id: int) -> None:
    row = await get(conn, space_id, pool_id)
    if row is None:
        return
    if row["is_default"]:
        raise Refused(f"The default worker pool '{row['name']}' cannot be deleted")
    count = await worker_count(conn, pool_id)
    if count:
        raise Refused(
            f"The worker pool '{row['name']}' still has {count} worker{'s' if count != 1 else ''}: "
            "move or delete them first"
        )
    await conn.execute(delete(worker_pools).where(worker_pools.c.id == pool_id))


@dataclass(frozen=True, slots=True)
class PoolMember:
    id: int
    name: str
    health_status: str
    is_disabled: bool
    endpoint: dict[str, Any]
    machine_policy_id: int
    active_leases: int
    exclusively_leased: bool

    def candidate(self) -> WorkerCandidate:
        """This member as worker choice sees it (ad-hoc scripts, deployments and previews alike)."""
        return WorkerCandidate(
            id=format_id(Collection.WORKERS, self.id),
            name=self.name,
            health=HealthStatus(self.health_status),
            is_disabled=self.is_disabled,
            active_leases=self.active_leases,
            exclusively_leased=self.exclusively_leased,
        )


@dataclass(frozen=True, slots=True)
class PoolWithMembers:
    id: int
    name: str
    is_default: bool
    members: tuple[PoolMember, ...]


def _candidates_statement(default_only: bool | None) -> Any:
    leases = (
        select(
            worker_leases.c.worker_id,
            func.count().label("active"),
            func.max(case((worker_leases.c.exclusive.is_(True), 1), else_=0)).label("exclusive"),
        )
        .group_by(worker_leases.c.worker_id)
        .subquery()
    )
    query = (
        select(
            worker_pools.c.id,
            worker_pools.c.name,
            worker_pools.c.is_default,
            workers.c.id.label("worker_id"),
            workers.c.name.label("worker_name"),
            workers.c.health_status,
            workers.c.is_disabled,
            workers.c.endpoint,
            workers.c.machine_policy_id,
            func.coalesce(leases.c.active, 0).label("active"),
            func.coalesce(leases.c.exclusive, 0).label("exclusive"),
        )
        .select_from(
            worker_pools.outerjoin(worker_pool_members, worker_pool_members.c.pool_id == worker_pools.c.id)
            .outerjoin(workers, workers.c.id == worker_pool_members.c.worker_id)
            .outerjoin(leases, leases.c.worker_id == workers.c.id)
        )
        .where(worker_pools.c.space_id == bindparam("space_id"))
        .order_by(worker_pools.c.sort_order, worker_pools.c.id, workers.c.id)
    )
    if default_only is None:
        return query
    if default_only:
        return query.where(worker_pools.c.is_default.is_(True))
    return query.where(worker_pools.c.id.in_(bindparam("pool_ids", expanding=True)))


# Built once: planning a step runs this on every task (see tasks_repo for why statements are prebuilt).
# The default pool's is hot (store/hot.py); a list of pool ids is expanded per call, so SQLAlchemy runs it.
_CANDIDATES = {True: hot(_candidates_statement(True)), False: _candidates_statement(False)}
_ALL_POOLS = hot(_candidates_statement(None))


async def pools_with_members(
    conn: Conn, space_id: int, pool_ids: Sequence[int] | None
) -> list[PoolWithMembers]:
    """The pools (None: the default pool), their workers and each worker's active leases, in one query.

    It is read to choose which worker to lease, in the transaction that takes the lease: so it first
    waits for the space's leasing turn, or two steps could both choose the same idle worker.
    """
    await take_turns(conn, LEASING, space_id)
    if pool_ids is None:
        result = await conn.execute(_CANDIDATES[True], {"space_id": space_id})
    else:
        result = await conn.execute(_CANDIDATES[False], {"space_id": space_id, "pool_ids": list(pool_ids)})
    return _grouped(result)


async def all_pools_with_members(conn: Conn, space_id: int) -> list[PoolWithMembers]:
    """Every pool of the space with its workers: a deployment chooses its workers for all steps at once."""
    return _grouped(await conn.execute(_ALL_POOLS, {"space_id": space_id}))


def _grouped(result: Any) -> list[PoolWithMembers]:
    pools: dict[int, tuple[str, bool, list[PoolMember]]] = {}
    for row in result:
        name, is_default, members = pools.setdefault(row.id, (row.name, bool(row.is_default), []))
        if row.worker_id is not None:
            members.append(
                PoolMember(
                    row.worker_id,
                    row.worker_name,
                    row.health_status,
                    bool(row.is_disabled),
                    row.endpoint,
                    int(row.machine_policy_id),
                    int(row.active),
                    bool(row.exclusive),
                )
            )
    return [PoolWithMembers(pid, name, is_default, tuple(m)) for pid, (name, is_default, m) in pools.items()]
