"""Lifecycles: phases checked against the space's environments, retention policies with their defaults,
and the Default Lifecycle kept.

Fields are PascalCase, as the API sends them: ``fields`` holds only what the client sent, so an update
changes those and keeps the rest (clients PUT back what they read, which comes to the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argonaut.domain.ids import Collection
from argonaut.domain.lifecycles import parse_phases
from argonaut.service.checks import raise_if, resolve_ids
from argonaut.service.errors import Invalid, NotFound
from argonaut.store import lifecycles_repo, references
from argonaut.store.common import Refused
from argonaut.store.connection import Conn

_STRATEGIES = ("Default", "Count", "Forever")
_UNITS = ("Days", "Items")
_PHASE_ENVIRONMENTS = ("AutomaticDeploymentTargets", "OptionalDeploymentTargets")
_RETENTION = ("ReleaseRetentionPolicy", "TentacleRetentionPolicy")


def parse_retention(raw: Any, where: str, errors: list[str]) -> dict[str, Any]:
    """A RetentionPeriod with every field, ``ShouldKeepForever`` computed.

    Older clients send no ``Strategy``: a positive quantity then means Count, else the default (keep
    all). ``QuantityToKeep`` 0 keeps everything, whatever the strategy says, as the described system has it.
    """
    if not isinstance(raw, Mapping):
        errors.append(f"{where} must be an object like {{Strategy, QuantityToKeep, Unit}}")
        return lifecycles_repo.default_retention()
    fields = {str(k).casefold(): v for k, v in raw.items()}
    quantity = fields.get("quantitytokeep", 0)
    if quantity is None:
        quantity = 0
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= 2_147_483_647:
        errors.append(f"{where}: QuantityToKeep must be a whole number, 0 or more (0 keeps everything)")
        quantity = 0
    strategy = _pick(fields.get("strategy"), _STRATEGIES, f"{where}: Strategy", errors)
    if strategy is None:
        strategy = "Count" if quantity > 0 else "Default"
    unit = _pick(fields.get("unit"), _UNITS, f"{where}: Unit", errors) or "Items"
    if strategy == "Forever":
        quantity = 0
    return {
        "Strategy": strategy,
        "QuantityToKeep": quantity,
        "Unit": unit,
        "ShouldKeepForever": strategy == "Forever" or quantity == 0,
    }


def _pick(value: Any, allowed: tuple[str, ...], where: str, errors: list[str]) -> str | None:
    if value is None or value == "":
        return None
    for option in allowed:
        if isinstance(value, str) and value.strip().casefold() == option.casefold():
            return option
    errors.append(f"{where} must be one of {', '.join(allowed)}, not {value!r}")
    return None


async def _phases(conn: Conn, space_id: int, raw: Any, errors: list[str]) -> list[dict[str, Any]]:
    phases, problems = parse_phases(raw)
    errors.extend(problems)
    environments = await references.environment_names(conn, space_id)
    for position, phase in enumerate(phases, start=1):
        label = f"Phase '{phase['Name']}'" if phase["Name"] else f"Phase {position}"
        for key in _PHASE_ENVIRONMENTS:
            phase[key] = resolve_ids(
                Collection.ENVIRONMENTS,
                phase[key],
                environments,
                f"{label}: {key}",
                errors,
                noun="environment",
            )
        for key in _RETENTION:
            if phase[key] is not None:  # null: the lifecycle's own policy applies
                phase[key] = parse_retention(phase[key], f"{label}: {key}", errors)
    return phases


async def _document(
    conn: Conn, space_id: int, fields: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    document = {**lifecycles_repo.default_document(), **current}
    errors: list[str] = []
    if fields.get("Phases") is not None:
        document["Phases"] = await _phases(conn, space_id, fields["Phases"], errors)
    for key in _RETENTION:
        if fields.get(key) is not None:
            document[key] = parse_retention(fields[key], key, errors)
    raise_if(errors)
    return document


async def create_lifecycle(conn: Conn, space_id: int, fields: Mapping[str, Any], by: str) -> int:
    name = fields.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("Please provide a Name for the lifecycle")
    document = await _document(conn, space_id, fields, {})
    return await lifecycles_repo.create_lifecycle(
        conn, space_id, name, fields.get("Description"), document, by
    )


async def update_lifecycle(
    conn: Conn, space_id: int, lifecycle_id: int, fields: Mapping[str, Any], by: str
) -> None:
    row = await _get(conn, space_id, lifecycle_id)
    values: dict[str, Any] = {"document": await _document(conn, space_id, fields, row["document"] or {})}
    if fields.get("Name"):
        values["name"] = fields["Name"]
    if "Description" in fields:
        values["description"] = fields["Description"]
    await lifecycles_repo.update_lifecycle(conn, space_id, lifecycle_id, values, by)


async def delete_lifecycle(conn: Conn, space_id: int, lifecycle_id: int) -> None:
    """Projects without a lifecycle fall back to the Default one, so it must always be there; a lifecycle
    that projects or channels use is refused by the store."""
    row = await _get(conn, space_id, lifecycle_id)
    if row["is_default"]:
        raise Refused("The Default Lifecycle of a space cannot be deleted: projects fall back to it")
    await lifecycles_repo.delete_lifecycle(conn, space_id, lifecycle_id)


async def _get(conn: Conn, space_id: int, lifecycle_id: int) -> Any:
    row = await lifecycles_repo.get(conn, space_id, lifecycle_id)
    if row is None:
        raise NotFound(f"Lifecycles-{lifecycle_id}")
    return row
