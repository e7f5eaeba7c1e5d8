"""``/api/{spaceId}/workers``: external workers. Their endpoints are validated and stored here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StringConstraints

from argonaut.api import connection_status, machine_discovery, resources
from argonaut.api.auth import Caller, Scope, authorize
from argonaut.api.collections import (
    IdsQuery,
    NameQuery,
    PartialNameQuery,
    SkipQuery,
    envelope,
    parse_ids,
    split_list,
    take_query,
)
from argonaut.api.errors import bad_request, not_found
from argonaut.api.inputs import ApiInput, canonical_keys
from argonaut.domain.endpoints import check_endpoint
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import MAX_TAKE, Page
from argonaut.domain.permissions import Permission
from argonaut.domain.workers import CommunicationStyle, HealthStatus
from argonaut.store import accounts_repo, policies_repo, pools_repo, workers_repo
from argonaut.store.connection import Conn

WorkerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_ENDPOINT_FIELDS = [
    "CommunicationStyle",
    "Uri",
    "Thumbprint",
    "ProxyId",
    "Host",
    "Port",
    "Fingerprint",
    "AccountId",
    "DotNetCorePlatform",
    "Id",
    "TentacleVersionDetails",
]


class WorkerCreate(ApiInput):
    Name: WorkerName
    Endpoint: dict[str, Any]
    WorkerPoolIds: list[str] = Field(min_length=1)
    MachinePolicyId: str | None = None
    IsDisabled: bool = False


class WorkerUpdate(ApiInput):
    Name: WorkerName | None = None
    Endpoint: dict[str, Any] | None = None
    WorkerPoolIds: list[str] | None = Field(None, min_length=1)
    MachinePolicyId: str | None = None
    IsDisabled: bool | None = None


def _endpoint(raw: dict[str, Any]) -> dict[str, Any]:
    check = check_endpoint(canonical_keys(raw, _ENDPOINT_FIELDS))
    if check.errors:
        raise bad_request("The worker's endpoint is not valid", check.errors)
    if check.endpoint["CommunicationStyle"] == CommunicationStyle.SSH.value:
        if parse_id(Collection.ACCOUNTS, str(check.endpoint["AccountId"])) is None:
            raise bad_request(
                f"Endpoint.AccountId '{check.endpoint['AccountId']}' is not an account id like Accounts-1"
            )
    return check.endpoint


async def _pool_numbers(conn: Conn, space_id: int, texts: list[str]) -> list[int]:
    numbers = parse_ids(Collection.WORKER_POOLS, texts, "WorkerPoolIds") or []
    found = {row["id"] for row in await pools_repo.get_many(conn, space_id, numbers)}
    missing = [format_id(Collection.WORKER_POOLS, n) for n in numbers if n not in found]
    if missing:
        raise bad_request(f"Worker pool(s) {', '.join(missing)} do not exist in this space")
    return numbers


async def _check_account(conn: Conn, space_id: int, endpoint: dict[str, Any]) -> None:
    """An SSH endpoint must name an account of this space that can log in (not someone else's)."""
    if endpoint.get("CommunicationStyle") != CommunicationStyle.SSH.value:
        return
    number = parse_id(Collection.ACCOUNTS, str(endpoint.get("AccountId")))
    row = await accounts_repo.get(conn, space_id, number) if number is not None else None
    if row is None:
        raise bad_request(f"Endpoint.AccountId: account {endpoint.get('AccountId')} is not in this space")


async def _policy_number(conn: Conn, space_id: int, text: str | None) -> int:
    if text is None:
        row = await policies_repo.default_policy(conn, space_id)
    else:
        number = parse_id(Collection.MACHINE_POLICIES, text)
        row = await policies_repo.get(conn, space_id, number) if number is not None else None
        if row is None:
            raise bad_request(f"Machine policy '{text}' does not exist in this space")
    assert row is not None
    return int(row["id"])


async def worker_page(
    caller: Caller,
    filt: workers_repo.WorkerFilter,
    skip: int,
    take: int,
    path: str,
    query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    assert caller.space_id is not None
    async with caller.services.store.transaction() as conn:
        total, rows = await workers_repo.list_workers(conn, caller.space_id, filt, skip, take)
        pools = await workers_repo.pool_ids_of(conn, [r["id"] for r in rows])
    items = [resources.worker(r, pools[r["id"]]) for r in rows]
    return envelope("Worker", items, Page(skip, take, total), path, query)


def _health(values: list[str] | None) -> list[str] | None:
    texts = split_list(values)
    if texts is None:
        return None
    known = {h.value.lower(): h.value for h in HealthStatus}
    wrong = [t for t in texts if t.lower() not in known]
    if wrong:
        raise bad_request(f"healthStatuses: '{wrong[0]}' is not one of {', '.join(known.values())}")
    return [known[t.lower()] for t in texts]


def build(scope: Scope) -> APIRouter:  # noqa: C901 - a route factory; each route inside is simple
    router = APIRouter(tags=["Workers"])
    view = authorize(Permission.WORKER_VIEW, scope)
    edit = authorize(Permission.WORKER_EDIT, scope)

    async def load(caller: Caller, worker_id: str) -> dict[str, Any]:
        assert caller.space_id is not None
        number = parse_id(Collection.WORKERS, worker_id)
        async with caller.services.store.transaction() as conn:
            row = await workers_repo.get(conn, caller.space_id, number) if number is not None else None
            pools = await workers_repo.pool_ids_of(conn, [number]) if row is not None and number else {}
        if row is None or number is None:
            raise not_found(worker_id)
        return resources.worker(row, pools[number])

    def make_filter(
        ids: list[str] | None,
        partial_name: str | None,
        name: str | None,
        pool_ids: list[str] | None,
        health: list[str] | None,
        is_disabled: bool | None,
        thumbprint: str | None,
        comm_styles: list[str] | None,
    ) -> workers_repo.WorkerFilter:
        return workers_repo.WorkerFilter(
            ids=parse_ids(Collection.WORKERS, ids),
            partial_name=partial_name,
            name=name,
            pool_ids=parse_ids(Collection.WORKER_POOLS, pool_ids, "workerPoolIds"),
            health_statuses=_health(health),
            comm_styles=split_list(comm_styles),
            is_disabled=is_disabled,
            thumbprint=thumbprint,
        )

    @router.get("/workers", summary="List workers (paged)")
    async def list_workers(
        caller: Caller = Depends(view),
        skip: int = SkipQuery,
        take: int = take_query(30),
        ids: list[str] | None = IdsQuery,
        partialName: str | None = PartialNameQuery,  # noqa: N803
        name: str | None = NameQuery,
        workerPoolIds: list[str] | None = Query(None),  # noqa: N803
        healthStatuses: list[str] | None = Query(None),  # noqa: N803
        isDisabled: bool | None = Query(None),  # noqa: N803
        thumbprint: str | None = Query(None, max_length=100),
        commStyles: list[str] | None = Query(None),  # noqa: N803
    ) -> dict[str, Any]:
        assert caller.space_id is not None
        filt = make_filter(
            ids, partialName, name, workerPoolIds, healthStatuses, isDisabled, thumbprint, commStyles
        )
        path = f"/api/{format_id(Collection.SPACES, caller.space_id)}/workers"
        return await worker_page(caller, filt, skip, take, path, {"partialName": partialName, "name": name})

    @router.get("/workers/all", summary="All workers as a plain array (filters: ids, thumbprint)")
    async def all_workers(
        caller: Caller = Depends(view),
        ids: list[str] | None = IdsQuery,
        thumbprint: str | None = Query(None, max_length=100),
    ) -> list[dict[str, Any]]:
        assert caller.space_id is not None
        filt = make_filter(ids, None, None, None, None, None, thumbprint, None)
        async with caller.services.store.transaction() as conn:
            _, rows = await workers_repo.list_workers(conn, caller.space_id, filt, 0, MAX_TAKE)
            pools = await workers_repo.pool_ids_of(conn, [r["id"] for r in rows])
        return [resources.worker(r, pools[r["id"]]) for r in rows]

    @router.post("/workers", status_code=201, summary="Add a worker")
    async def create_worker(body: WorkerCreate, caller: Caller = Depends(edit)) -> dict[str, Any]:
        assert caller.space_id is not None
        endpoint = _endpoint(body.Endpoint)
        async with caller.services.store.transaction() as conn:
            await _check_account(conn, caller.space_id, endpoint)
            pool_numbers = await _pool_numbers(conn, caller.space_id, body.WorkerPoolIds)
            policy = await _policy_number(conn, caller.space_id, body.MachinePolicyId)
            number = await workers_repo.create_worker(
                conn,
                caller.space_id,
                {
                    "name": body.Name,
                    "endpoint": endpoint,
                    "machine_policy_id": policy,
                    "is_disabled": body.IsDisabled,
                },
                pool_numbers,
                caller.username,
            )
        # Checked at once, not at the policy's next interval: a worker is usable seconds after it is added.
        caller.services.checks.request(caller.space_id, [number], "were added")
        return await load(caller, format_id(Collection.WORKERS, number))

    @router.get(
        "/workers/discover",
        summary="Discover a machine before adding it: an SSH host's key fingerprint (type=Ssh) or a "
        "listening agent's certificate thumbprint (type=TentaclePassive), to confirm",
    )
    async def discover(
        caller: Caller = Depends(edit),
        host: str = Query(..., min_length=1, max_length=255),
        port: int | None = Query(None, ge=1, le=65535),
        type: str = Query("Ssh", max_length=40),  # noqa: A002 - the described system's parameter name
    ) -> dict[str, Any]:
        found = await machine_discovery.discover(caller.services, host, port, type)
        return {**found, "WorkerPoolIds": []}

    @router.get("/workers/{id}/connection", summary="A worker's connection status and health history")
    async def worker_connection(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await connection_status.connection(caller, await load(caller, id), Collection.WORKERS)

    @router.get("/workers/{id}", summary="Get a worker")
    async def get_worker(id: str, caller: Caller = Depends(view)) -> dict[str, Any]:  # noqa: A002
        return await load(caller, id)

    @router.put("/workers/{id}", summary="Modify a worker")
    async def update_worker(id: str, body: WorkerUpdate, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await load(caller, id)
        number = parse_id(Collection.WORKERS, current["Id"])
        assert number is not None
        values: dict[str, Any] = {}
        if body.Name is not None:
            values["name"] = body.Name
        if body.Endpoint is not None:
            values["endpoint"] = _endpoint(body.Endpoint)
        if body.IsDisabled is not None:
            values["is_disabled"] = body.IsDisabled
        async with caller.services.store.transaction() as conn:
            if "endpoint" in values:
                await _check_account(conn, caller.space_id, values["endpoint"])
            if body.MachinePolicyId is not None:
                values["machine_policy_id"] = await _policy_number(
                    conn, caller.space_id, body.MachinePolicyId
                )
            pools = (
                await _pool_numbers(conn, caller.space_id, body.WorkerPoolIds) if body.WorkerPoolIds else None
            )
            await workers_repo.update_worker(conn, caller.space_id, number, values, pools, caller.username)
        if not values.get("is_disabled", current["IsDisabled"]):
            caller.services.checks.request(caller.space_id, [number], "were changed")
        return await load(caller, id)

    @router.delete("/workers/{id}", summary="Delete a worker")
    async def delete_worker(id: str, caller: Caller = Depends(edit)) -> dict[str, Any]:  # noqa: A002
        assert caller.space_id is not None
        current = await load(caller, id)
        number = parse_id(Collection.WORKERS, current["Id"])
        assert number is not None
        async with caller.services.store.transaction() as conn:
            await workers_repo.delete_worker(conn, caller.space_id, number)
        return current

    return router
