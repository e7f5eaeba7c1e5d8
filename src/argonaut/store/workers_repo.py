"""Workers and their pool memberships."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, Update, bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.store.common import paged, slugify
from argonaut.store.connection import Conn
from argonaut.store.hot import hot
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import worker_pool_members, workers
from argonaut.store.timeutil import utcnow

NEW_MACHINE_SUMMARY = "This machine was recently added. Please perform a health check."
CHANGED_ENDPOINT_SUMMARY = "This machine's endpoint changed; it is being checked again."


@dataclass(frozen=True, slots=True)
class WorkerFilter:
    ids: Sequence[int] | None = None
    partial_name: str | None = None
    name: str | None = None
    pool_ids: Sequence[int] | None = None
    health_statuses: Sequence[str] | None = None
    comm_styles: Sequence[str] | None = None
    is_disabled: bool | None = None
    thumbprint: str | None = None


class MachineFields(Protocol):
    """The filters both kinds of machine have (``WorkerFilter``, ``machines_repo.MachineFilter``)."""

    @property
    def ids(self) -> Sequence[int] | None: ...
    @property
    def partial_name(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def health_statuses(self) -> Sequence[str] | None: ...
    @property
    def comm_styles(self) -> Sequence[str] | None: ...
    @property
    def is_disabled(self) -> bool | None: ...
    @property
    def thumbprint(self) -> str | None: ...


def machines_filtered(kind: SpaceScoped, space_id: int, f: MachineFields) -> Select[Any]:
    """The space's machines of ``kind`` by name, with the filters both kinds have applied."""
    query = kind.listed(space_id, f.ids, f.partial_name, f.name)
    if f.health_statuses is not None:
        query = query.where(workers.c.health_status.in_(f.health_statuses))
    if f.comm_styles is not None:
        query = query.where(workers.c.communication_style.in_(f.comm_styles))
    if f.is_disabled is not None:
        query = query.where(workers.c.is_disabled.is_(f.is_disabled))
    if f.thumbprint:
        query = query.where(workers.c.thumbprint == f.thumbprint.upper())
    return query


WORKER = "Worker"
TARGET = "Target"  # deployment targets share the table (see tables.workers)

_workers = SpaceScoped(workers, "worker", workers.c.kind == WORKER)
get = _workers.get
find_by_name = _workers.find_by_name


def _filtered(space_id: int, f: WorkerFilter) -> Select[Any]:
    query = machines_filtered(_workers, space_id, f)
    if f.pool_ids is not None:
        members = select(worker_pool_members.c.worker_id).where(worker_pool_members.c.pool_id.in_(f.pool_ids))
        query = query.where(workers.c.id.in_(members))
    return query


async def list_workers(
    conn: Conn, space_id: int, f: WorkerFilter, skip: int, take: int
) -> tuple[int, Sequence[RowMapping]]:
    return await paged(conn, _filtered(space_id, f), skip, take)


_POOLS_OF_ONE = hot(
    select(worker_pool_members)
    .where(worker_pool_members.c.worker_id == bindparam("worker_id"))
    .order_by(worker_pool_members.c.pool_id)
)


async def pool_ids_of(conn: Conn, worker_ids: Sequence[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {wid: [] for wid in worker_ids}
    if not worker_ids:
        return result
    if len(worker_ids) == 1:  # a script on one worker: the common case, built once and hot
        rows = await conn.execute(_POOLS_OF_ONE, {"worker_id": worker_ids[0]})
    else:
        query = (
            select(worker_pool_members)
            .where(worker_pool_members.c.worker_id.in_(worker_ids))
            .order_by(worker_pool_members.c.pool_id)
        )
        rows = await conn.execute(query)
    for row in rows.mappings():
        result[row["worker_id"]].append(row["pool_id"])
    return result


def new_machine(space_id: int, kind: str, values: dict[str, Any], by: str) -> dict[str, Any]:
    """The row of a new machine of either kind (worker or deployment target), not yet checked."""
    endpoint = values["endpoint"]
    return new_row(
        space_id,
        values["name"],
        by,
        kind=kind,
        slug=slugify(values["name"]),
        communication_style=endpoint["CommunicationStyle"],
        endpoint=endpoint,
        thumbprint=endpoint.get("Thumbprint"),
        uri=endpoint.get("Uri"),
        machine_policy_id=values["machine_policy_id"],
        is_disabled=values.get("is_disabled", False),
        health_status="Unknown",
        status_summary=NEW_MACHINE_SUMMARY,
        has_latest_calamari=False,
        details={},
    )


async def create_worker(
    conn: Conn, space_id: int, values: dict[str, Any], pool_ids: Sequence[int], by: str
) -> int:
    await _workers.ensure_name_free(conn, space_id, values["name"])
    worker_id = await _workers.insert(conn, new_machine(space_id, WORKER, values, by))
    await set_pools(conn, worker_id, pool_ids)
    return worker_id


async def set_pools(conn: Conn, worker_id: int, pool_ids: Sequence[int]) -> None:
    await conn.execute(delete(worker_pool_members).where(worker_pool_members.c.worker_id == worker_id))
    unique = sorted(set(pool_ids))
    if unique:
        await conn.execute(
            insert(worker_pool_members), [{"worker_id": worker_id, "pool_id": p} for p in unique]
        )


async def update_worker(
    conn: Conn, space_id: int, worker_id: int, values: dict[str, Any], pool_ids: Sequence[int] | None, by: str
) -> None:
    await _workers.prepare_update(conn, space_id, worker_id, values)
    await apply_endpoint(conn, worker_id, values)
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    await _workers.update(conn, worker_id, values)
    if pool_ids is not None:
        await set_pools(conn, worker_id, pool_ids)


async def apply_endpoint(conn: Conn, machine_id: int, values: dict[str, Any]) -> bool:
    """Complete an update's ``values`` for a new ``endpoint`` (its columns, and health reset when it
    differs); answers whether the endpoint changed. Shared by workers and deployment targets."""
    if "endpoint" not in values:
        return False
    endpoint = values["endpoint"]
    values.update(
        communication_style=endpoint["CommunicationStyle"],
        thumbprint=endpoint.get("Thumbprint"),
        uri=endpoint.get("Uri"),
    )
    stored = (await conn.execute(select(workers.c.endpoint).where(workers.c.id == machine_id))).scalar()
    if stored == endpoint:
        return False
    # Another machine, or the same one trusted differently: what was known of its health is not.
    values.update(health_status="Unknown", status_summary=CHANGED_ENDPOINT_SUMMARY)
    return True


async def delete_worker(conn: Conn, space_id: int, worker_id: int) -> None:
    await conn.execute(
        delete(workers).where(
            workers.c.space_id == space_id, workers.c.id == worker_id, workers.c.kind == WORKER
        )
    )


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """One check's result, as :func:`record_health_many` stores it."""

    worker_id: int
    status: str
    summary: str
    has_latest_runner: bool | None
    details: dict[str, str] | None
    # The endpoint the check asked about; None: whatever the machine's is now.
    endpoint: dict[str, Any] | None = None


async def record_health_many(conn: Conn, records: Sequence[HealthRecord]) -> dict[int, str]:
    """Store many checks' results in a few statements; answers, for each machine whose status these
    calls changed, the status it replaced.

    One select reads the current statuses; a change moves by a compare-and-set on the status read (rare:
    a machine's health seldom changes), so of two checks racing to record the same change only one sees
    its update take effect and the machine's history gets one entry per change. Every other result is
    one row of an executemany per shape of values. A health check of ten thousand machines costs a few
    statements per batch instead of two per machine."""
    if not records:
        return {}
    ids = sorted({r.worker_id for r in records})
    current: dict[int, str] = {}
    endpoints: dict[int, Any] = {}
    query = select(workers.c.id, workers.c.health_status, workers.c.endpoint).where(workers.c.id.in_(ids))
    for row in await conn.execute(query):
        current[int(row.id)], endpoints[int(row.id)] = str(row.health_status), row.endpoint
    changed: dict[int, str] = {}
    unchanged: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for r in records:
        previous = current.get(r.worker_id)
        if previous is None:
            continue  # deleted since it was checked
        if r.endpoint is not None and endpoints[r.worker_id] != r.endpoint:
            # Re-registered while it was checked (another certificate or address): the answer is about
            # the machine it was, and the change reset its health and asked for a check of its own.
            continue
        values = _health_values(r.status, r.summary, r.has_latest_runner, r.details)
        shape = (r.has_latest_runner is not None, r.details is not None)
        params = {"b_id": r.worker_id, **{f"b_{k}": v for k, v in values.items()}}
        if previous != r.status and r.worker_id not in changed:
            compare = _health_update(*shape, compare=True)
            moved = await conn.execute(compare, {**params, "b_previous": previous})
            if moved.rowcount:
                changed[r.worker_id] = previous
                current[r.worker_id] = r.status
                continue
        unchanged.setdefault(shape, []).append(params)
    for shape, rows in unchanged.items():
        await conn.execute(_health_update(*shape, compare=False), rows)
    return changed


@functools.cache
def _health_update(with_runner: bool, with_details: bool, *, compare: bool) -> Update:
    """The update one health result makes (by ``b_id``, from ``b_<column>``), built once per shape;
    with ``compare``, only while the status is still ``b_previous`` (the compare-and-set)."""
    columns = ["health_status", "status_summary"]
    columns += ["has_latest_calamari"] if with_runner else []
    columns += ["details"] if with_details else []
    statement = update(workers).where(workers.c.id == bindparam("b_id"))
    if compare:
        statement = statement.where(workers.c.health_status == bindparam("b_previous"))
    return statement.values({column: bindparam(f"b_{column}") for column in columns})


def _health_values(
    status: str, summary: str, has_latest_runner: bool | None, details: dict[str, str] | None
) -> dict[str, Any]:
    values: dict[str, Any] = {"health_status": status, "status_summary": summary}
    if has_latest_runner is not None:
        values["has_latest_calamari"] = has_latest_runner
    if details is not None:
        values["details"] = details
    return values


# Built once: a polling agent's arrival runs this, and ten thousand arriving after a node restart should
# not each pay for building and keying the statement. Only what an arrival needs (where to queue its
# check), not the whole row with its JSON columns.
_BY_SUBSCRIPTION = select(workers.c.id, workers.c.space_id, workers.c.kind).where(
    workers.c.uri == bindparam("uri"), workers.c.thumbprint == bindparam("thumbprint")
)


async def by_subscription(conn: Conn, subscription: str, thumbprint: str) -> Sequence[RowMapping]:
    """Every registration (in any space, worker or deployment target) of the polling agent with this
    subscription and certificate, as ``id``, ``space_id`` and ``kind``: one link serves them all, and its
    arrival checks them all."""
    params = {"uri": subscription, "thumbprint": thumbprint.upper()}
    return (await conn.execute(_BY_SUBSCRIPTION, params)).mappings().all()


async def all_in_space(conn: Conn, space_id: int) -> Sequence[RowMapping]:
    return (await conn.execute(_workers.select(space_id).order_by(workers.c.id))).mappings().all()


async def record_runner(conn: Conn, worker_id: int, has_latest: bool) -> None:
    await conn.execute(
        update(workers).where(workers.c.id == worker_id).values(has_latest_calamari=has_latest)
    )


async def listening_by_thumbprint(conn: Conn, thumbprint: str) -> Sequence[RowMapping]:
    """Every registration (in any space, worker or deployment target) of the listening agent with this
    certificate."""
    query = select(workers).where(
        workers.c.thumbprint == thumbprint.upper(), workers.c.communication_style == "TentaclePassive"
    )
    return (await conn.execute(query)).mappings().all()


_MACHINE_ROW = hot(
    select(workers).where(
        workers.c.space_id == bindparam("space_id"), workers.c.id == bindparam("machine_id")
    )
)


async def machine_row(conn: Conn, space_id: int, machine_id: int) -> RowMapping | None:
    """A worker or a deployment target: the engine reaches both the same way (a step reads its target
    this way on every target, so the statement is built once and hot)."""
    found = await conn.execute(_MACHINE_ROW, {"space_id": space_id, "machine_id": machine_id})
    return found.mappings().first()


def machine_id(row_id: int, kind: str) -> str:
    """A row's id at the API edge: ``Machines-n`` for a deployment target, ``Workers-n`` for a worker."""
    return format_id(Collection.MACHINES if kind == TARGET else Collection.WORKERS, row_id)


async def machine_ids(conn: Conn, space_id: int, row_ids: Sequence[int]) -> list[str]:
    """The API ids of these rows of the space, of either kind, in the order given (missing ones left out)."""
    query = select(workers.c.id, workers.c.kind).where(
        workers.c.space_id == space_id, workers.c.id.in_(row_ids)
    )
    kinds = {int(row.id): str(row.kind) for row in await conn.execute(query)}
    return [machine_id(r, kinds[r]) for r in row_ids if r in kinds]
