"""``/api/octopusservernodes``: the server nodes sharing this database, as the described system lists them.

``MaxConcurrentTasks`` (the node's task cap) and ``IsInMaintenanceMode`` (drain: the node finishes its
tasks and claims no more) can be changed here on any node; the node applies them at its next heartbeat.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy.engine import RowMapping

from argonaut.api import resources
from argonaut.api.auth import Caller, authorize
from argonaut.api.collections import SkipQuery, envelope, take_query
from argonaut.api.errors import not_found
from argonaut.api.inputs import ApiInput
from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.paging import Page
from argonaut.domain.permissions import Permission
from argonaut.store import nodes_repo
from argonaut.store.timeutil import as_utc, utcnow

router = APIRouter(tags=["Server nodes"])
_view = authorize(Permission.SPACE_VIEW, "system")
_configure = authorize(Permission.CONFIGURE_SERVER, "system")
PATH = "/api/octopusservernodes"


class NodeUpdate(ApiInput):
    MaxConcurrentTasks: int | None = Field(None, ge=0, le=1000)
    IsInMaintenanceMode: bool | None = None


def _node(row: RowMapping, running: dict[str, int], offline_after_s: float) -> dict[str, Any]:
    node_id = format_id(Collection.SERVER_NODES, int(row["id"]))
    last_seen = as_utc(row["last_seen"])
    offline = last_seen is None or last_seen < utcnow() - dt.timedelta(seconds=offline_after_s)
    return {
        "Id": node_id,
        "Name": row["name"],
        "MaxConcurrentTasks": row["max_concurrent_tasks"],
        "IsInMaintenanceMode": row["is_in_maintenance_mode"],
        "LastSeen": resources.iso(row["last_seen"]),
        "IsOffline": offline,
        "RunningTaskCount": running.get(str(row["name"]), 0),
        # Ours: what an agent registering with the cluster trusts and connects to on each node.
        "Thumbprint": row["thumbprint"],
        "CommsPort": row["comms_port"],
        "Links": {"Self": f"{PATH}/{node_id}"},
    }


async def _all(caller: Caller) -> list[dict[str, Any]]:
    async with caller.services.store.transaction() as conn:
        rows = await nodes_repo.list_nodes(conn)
        running = await nodes_repo.running_counts(conn)
    offline_after_s = caller.services.settings.node_offline_after_s
    return [_node(row, running, offline_after_s) for row in rows]


@router.get(PATH, summary="The server nodes sharing this database (paged)")
async def list_nodes(
    caller: Caller = Depends(_view), skip: int = SkipQuery, take: int = take_query(30)
) -> dict[str, Any]:
    nodes = await _all(caller)
    return envelope("OctopusServerNode", nodes[skip : skip + take], Page(skip, take, len(nodes)), PATH)


@router.get(f"{PATH}/all", summary="All server nodes as a plain array")
async def all_nodes(caller: Caller = Depends(_view)) -> list[dict[str, Any]]:
    return await _all(caller)


@router.get(f"{PATH}/{{id}}", summary="A server node")
async def get_node(id: str, caller: Caller = Depends(_view)) -> dict[str, Any]:  # noqa: A002
    wanted = parse_id(Collection.SERVER_NODES, id)
    found = [n for n in await _all(caller) if parse_id(Collection.SERVER_NODES, n["Id"]) == wanted]
    if not found:
        raise not_found(id)
    return found[0]


@router.put(f"{PATH}/{{id}}", summary="Change a node's task cap or maintenance mode (drain)")
async def update_node(id: str, body: NodeUpdate, caller: Caller = Depends(_configure)) -> dict[str, Any]:  # noqa: A002
    number = parse_id(Collection.SERVER_NODES, id)
    async with caller.services.store.transaction() as conn:
        row = (
            await nodes_repo.update_node(conn, number, body.MaxConcurrentTasks, body.IsInMaintenanceMode)
            if number is not None
            else None
        )
    if row is None:
        raise not_found(id)
    if row["name"] == caller.services.queue.node:  # this node: no need to wait for its next heartbeat
        caller.services.queue.configure(int(row["max_concurrent_tasks"]), bool(row["is_in_maintenance_mode"]))
    return await get_node(id, caller)
