"""Environments: creating, changing, ordering and deleting them, for the API and the portal alike.

The fields nothing queries (``AllowDynamicInfrastructure``, ``EnvironmentTags``, ``ExtensionSettings``)
live in the row's JSON document; names, order and guided failure are columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.service.errors import Invalid
from argonaut.store import environments_repo
from argonaut.store.connection import Conn

_COLUMNS = ("name", "description", "sort_order", "use_guided_failure")
_DOCUMENT = {
    "allow_dynamic_infrastructure": "AllowDynamicInfrastructure",
    "environment_tags": "EnvironmentTags",
    "extension_settings": "ExtensionSettings",
}


@dataclass(frozen=True, slots=True)
class EnvironmentFields:
    name: str
    description: str | None = None
    sort_order: int | None = None  # None: after every other environment
    use_guided_failure: bool = False
    allow_dynamic_infrastructure: bool = False
    environment_tags: Sequence[str] = ()
    extension_settings: Sequence[Any] = field(default_factory=list)


def default_document() -> dict[str, Any]:
    return {"AllowDynamicInfrastructure": False, "EnvironmentTags": [], "ExtensionSettings": []}


async def create_environment(conn: Conn, space_id: int, fields: EnvironmentFields, by: str) -> int:
    document = {
        "AllowDynamicInfrastructure": fields.allow_dynamic_infrastructure,
        "EnvironmentTags": list(fields.environment_tags),
        "ExtensionSettings": list(fields.extension_settings),
    }
    values = {
        "name": fields.name,
        "description": fields.description,
        "sort_order": fields.sort_order,
        "use_guided_failure": fields.use_guided_failure,
        "document": document,
    }
    return await environments_repo.create_environment(conn, space_id, values, by)


async def update_environment(
    conn: Conn, space_id: int, environment_id: int, changes: Mapping[str, Any], by: str
) -> None:
    """``changes`` holds the fields the client sent, by their ``EnvironmentFields`` names."""
    current = await environments_repo.get(conn, space_id, environment_id)
    if current is None:
        raise Invalid(
            f"The environment '{format_id(Collection.ENVIRONMENTS, environment_id)}' does not exist"
        )
    values = {k: v for k, v in changes.items() if k in _COLUMNS}
    document = {**default_document(), **(current["document"] or {})}
    for key, name in _DOCUMENT.items():
        if key in changes:
            document[name] = list(changes[key]) if key != "allow_dynamic_infrastructure" else changes[key]
    values["document"] = document
    await environments_repo.update_environment(conn, space_id, environment_id, values, by)


async def reorder(conn: Conn, space_id: int, id_texts: Sequence[str]) -> None:
    """Put the named environments first, in this order (the described system's ``sortorder`` body is
    every environment's id; a partial list keeps the others after it, in their order)."""
    numbers = await environment_numbers(conn, space_id, id_texts, "the sort order")
    await environments_repo.reorder(conn, space_id, numbers)


async def environment_numbers(
    conn: Conn, space_id: int, texts: Sequence[str], field: str = "EnvironmentIds"
) -> list[int]:
    """The ids in ``texts``, each once, in order; an id that is malformed or not of this space is named."""
    numbers: list[int] = []
    for text in texts:
        number = parse_id(Collection.ENVIRONMENTS, str(text))
        if number is None:
            raise Invalid(f"'{text}' in {field} is not an environment id like Environments-1")
        if number not in numbers:
            numbers.append(number)
    found = {int(row["id"]) for row in await environments_repo.get_many(conn, space_id, numbers)}
    missing = [format_id(Collection.ENVIRONMENTS, n) for n in numbers if n not in found]
    if missing:
        raise Invalid(
            f"The environment(s) {', '.join(missing)} do not exist in this space",
            [f"{field}: the environment '{m}' does not exist in this space" for m in missing],
        )
    return numbers


async def delete_environment(conn: Conn, space_id: int, environment_id: int) -> None:
    await environments_repo.delete_environment(conn, space_id, environment_id)
