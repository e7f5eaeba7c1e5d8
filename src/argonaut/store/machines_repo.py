"""Deployment targets: machines in the ``workers`` table with ``kind = 'Target'``.

They share the table with workers because the server reaches both the same ways (trust, health checks,
dispatch), so a polling agent's arrival and a listening agent's start notice find both kinds with one
lookup (``workers_repo.by_subscription``, ``listening_by_thumbprint``).

A target's environments and roles are JSON lists in their rows (``["Environments-1", …]``), read whole
with the row. Filters match them in SQL against the list's JSON text, one quoted element at a time:
exact because ids are canonical and roles never hold a double quote (``service.machines`` refuses one),
so a quote in the text always delimits an element.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, delete, false, func, or_
from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.store import workers_repo
from argonaut.store.common import paged
from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped
from argonaut.store.tables import workers
from argonaut.store.timeutil import utcnow
from argonaut.store.workers_repo import TARGET

_targets = SpaceScoped(workers, "deployment target", workers.c.kind == TARGET)
get = _targets.get
find_by_name = _targets.find_by_name


@dataclass(frozen=True, slots=True)
class MachineFilter:
    """The described system's ``/machines`` filters; None leaves a filter out, lists match any element."""

    ids: Sequence[int] | None = None
    partial_name: str | None = None
    name: str | None = None
    roles: Sequence[str] | None = None  # case-insensitive, as steps match roles
    environment_ids: Sequence[int] | None = None
    health_statuses: Sequence[str] | None = None
    comm_styles: Sequence[str] | None = None
    is_disabled: bool | None = None
    thumbprint: str | None = None


def _holds(column: Any, value: str, fold: bool = False) -> ColumnElement[bool]:
    """Whether the JSON list in ``column`` has ``value`` as an element (see the module docstring)."""
    text: Any = cast(column, Text)
    element = json.dumps(value)
    if fold:  # JSON escapes every non-ASCII character, so lower() folds the same on both databases
        text, element = func.lower(text), element.lower()
    return text.contains(element, autoescape=True)  # type: ignore[no-any-return]


def _any(criteria: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(*criteria) if criteria else false()


def environment_criterion(environment_ids: Sequence[int]) -> ColumnElement[bool]:
    """Targets in any of these environments."""
    return _any(
        [_holds(workers.c.environment_ids, format_id(Collection.ENVIRONMENTS, e)) for e in environment_ids]
    )


def _filtered(space_id: int, f: MachineFilter) -> Select[Any]:
    query = workers_repo.machines_filtered(_targets, space_id, f)
    if f.roles is not None:
        query = query.where(_any([_holds(workers.c.roles, r.strip(), fold=True) for r in f.roles]))
    if f.environment_ids is not None:
        query = query.where(environment_criterion(f.environment_ids))
    return query


async def list_targets(
    conn: Conn, space_id: int, f: MachineFilter, skip: int, take: int
) -> tuple[int, Sequence[RowMapping]]:
    return await paged(conn, _filtered(space_id, f), skip, take)


async def targets_in_environment(conn: Conn, space_id: int, environment_id: int) -> Sequence[RowMapping]:
    """Every deployment target of the environment, disabled and unhealthy ones included (the planner
    decides what to do with them), ordered by name."""
    query = (
        _targets.select(space_id).where(environment_criterion([environment_id])).order_by(workers.c.name_key)
    )
    return (await conn.execute(query)).mappings().all()


async def all_in_space(conn: Conn, space_id: int) -> Sequence[RowMapping]:
    return (await conn.execute(_targets.select(space_id).order_by(workers.c.id))).mappings().all()


async def create_target(conn: Conn, space_id: int, values: dict[str, Any], by: str) -> int:
    """``values``: name, endpoint, machine_policy_id, is_disabled, environment_ids, roles,
    tenanted_participation, all checked by ``service.machines``."""
    await _targets.ensure_name_free(conn, space_id, values["name"])
    row = workers_repo.new_machine(space_id, TARGET, values, by)
    row.update(
        environment_ids=list(values["environment_ids"]),
        roles=list(values["roles"]),
        tenanted_participation=values.get("tenanted_participation", "Untenanted"),
    )
    return await _targets.insert(conn, row)


async def update_target(conn: Conn, space_id: int, target_id: int, values: dict[str, Any], by: str) -> bool:
    """Apply a checked change; answers whether the endpoint changed (its health is then unknown)."""
    await _targets.prepare_update(conn, space_id, target_id, values)
    changed = await workers_repo.apply_endpoint(conn, target_id, values)
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    await _targets.update(conn, target_id, values)
    return changed


async def delete_target(conn: Conn, space_id: int, target_id: int) -> None:
    await conn.execute(
        delete(workers).where(
            workers.c.space_id == space_id, workers.c.id == target_id, workers.c.kind == TARGET
        )
    )
