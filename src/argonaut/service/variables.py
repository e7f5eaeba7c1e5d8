"""Project variable sets: whole-document edits guarded by ``Version``, secrets kept encrypted, scopes
checked, and the frozen copies releases keep.

Sensitive values (``IsSensitive`` or ``Type: Sensitive``) are encrypted with the master key before they
are stored and are never answered again: reads show ``Value: null``. Clients PUT back what they read, so
for a variable whose ``Id`` already holds a sensitive value, ``Value: null`` keeps that value and ``""``
clears it, as the described system's own scripts rely on. The deployment engine gets them decrypted from
:func:`variables_for_run` only.

A stored variable is the API's shape, except that a sensitive one has ``Value: null`` and, when set, its
ciphertext under ``Secret``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.owned_ids import Owned, canonical, new_snapshot_id, owned_id
from argonaut.domain.variables import ScopeField, Variable, validate_variable_set
from argonaut.security.master_key import SecretBox
from argonaut.service.checks import raise_if
from argonaut.service.errors import Invalid, NotFound
from argonaut.service.variable_scopes import ScopeChecker
from argonaut.store import processes_repo
from argonaut.store.connection import Conn

STALE = (
    "Changes to this variable set could not be saved, because another user has made changes since you "
    "opened it. Please refresh and try again."
)
FROZEN = "You cannot modify this variable set because it is frozen"
_SNAPSHOT_ATTEMPTS = 20
_SECRET = "Secret"


def variable_set_id_of(project_id: int) -> str:
    return owned_id(Owned.VARIABLES, project_id)


async def find_variable_set(conn: Conn, space_id: int, variable_set_id: str) -> RowMapping:
    """A variable set (live or snapshot) of the space; another space's is as missing as an unknown one."""
    stored = canonical(Owned.VARIABLES, variable_set_id)
    row = await processes_repo.get_variable_set(conn, stored) if stored is not None else None
    if row is None or row["space_id"] != space_id:
        raise NotFound(variable_set_id)
    return row


async def update_variables(
    conn: Conn,
    space_id: int,
    variable_set: RowMapping,
    fields: Mapping[str, Any],
    secrets: SecretBox,
    by: str,
) -> RowMapping:
    """Replace the variables if ``fields["Version"]`` is the stored version; answers the saved row."""
    if variable_set["frozen"]:
        raise Invalid(FROZEN)
    version = fields.get("Version")
    if version is None:
        raise Invalid("Please send the Version of the variable set you read, so no change is lost")
    if version != variable_set["version"]:
        raise Invalid(STALE)
    raw = fields.get("Variables")
    if raw is None:
        raise Invalid("Please send the set's Variables (an empty list removes every variable)")
    if not isinstance(raw, list):
        raise Invalid("Variables must be a list of variables")
    variables, errors = validate_variable_set(raw)
    checker = await ScopeChecker.load(conn, space_id, variable_set)
    stored = [
        _stored(variable, checker.scope(variable, errors), variable_set["variables"], secrets)
        for variable in variables
    ]
    raise_if(errors)
    if not await processes_repo.save_variables(conn, variable_set["id"], version, stored, by):
        raise Invalid(STALE)
    saved = await processes_repo.get_variable_set(conn, variable_set["id"])
    assert saved is not None
    return saved


async def freeze_variables(conn: Conn, variable_set_id: str) -> str:
    """Copy the live variable set to a frozen snapshot (``<id>-s-<version>-<XXXXX>``) and answer its id."""
    row = await processes_repo.get_variable_set(conn, variable_set_id)
    if row is None:
        raise Invalid(f"The variable set {variable_set_id} does not exist")
    if row["frozen"]:
        raise Invalid(f"The variable set {variable_set_id} is already a snapshot")
    for _ in range(_SNAPSHOT_ATTEMPTS):
        snapshot_id = new_snapshot_id(variable_set_id, int(row["version"]))
        if await processes_repo.snapshot_variable_set(conn, row, snapshot_id):
            return snapshot_id
    raise RuntimeError(f"no free snapshot id for {variable_set_id} after {_SNAPSHOT_ATTEMPTS} attempts")


async def variables_for_run(conn: Conn, secrets: SecretBox, variable_set_id: str) -> list[Variable]:
    """The variables of a set (usually a release's snapshot) as a deployment resolves them, sensitive
    values decrypted. Never log what this answers; mask the sensitive ones."""
    row = await processes_repo.get_variable_set(conn, variable_set_id)
    if row is None:
        raise NotFound(variable_set_id)
    return [_for_run(entry, secrets) for entry in row["variables"]]


async def scope_values(
    conn: Conn, space_id: int, variable_set: RowMapping
) -> dict[str, list[dict[str, Any]]]:
    """The ``ScopeValues`` shown with a variable set: what its variables may be scoped to, with names."""
    checker = await ScopeChecker.load(conn, space_id, variable_set)
    return checker.scope_values(variable_set["variables"])


def public_variables(stored: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Variables as clients may see them: no sensitive value, no ciphertext."""
    answer = []
    for entry in stored:
        shown = {key: value for key, value in entry.items() if key != _SECRET}
        if entry.get("IsSensitive"):
            shown["Value"] = None
        answer.append({**shown, "IsEditable": True})
    return answer


def _stored(
    variable: Variable, scope: dict[str, list[str]], before: Sequence[Mapping[str, Any]], secrets: SecretBox
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Id": variable.id,
        "Name": variable.name,
        "Value": None if variable.is_sensitive else variable.value,
        "Description": variable.description or None,
        "Scope": scope,
        "IsSensitive": variable.is_sensitive,
        "Type": variable.type,
        "Prompt": dict(variable.prompt) if variable.prompt is not None else None,
    }
    if variable.is_sensitive:
        secret = _secret(variable, before, secrets)
        if secret is not None:
            entry[_SECRET] = secret
    return entry


def _secret(variable: Variable, before: Sequence[Mapping[str, Any]], secrets: SecretBox) -> str | None:
    """The ciphertext to keep: a new value, the stored one for ``null``, none for ``""``."""
    if variable.value == "":
        return None
    if variable.value is not None:
        return secrets.encrypt(variable.value)
    previous = next(
        (entry for entry in before if str(entry.get("Id")).casefold() == variable.id.casefold()), None
    )
    if previous is None:
        return None
    if previous.get("IsSensitive"):
        kept = previous.get(_SECRET)
        return kept if isinstance(kept, str) else None
    # A plain variable just marked sensitive: its value, as read, becomes the secret.
    plain = previous.get("Value")
    return secrets.encrypt(plain) if isinstance(plain, str) and plain else None


def _for_run(entry: Mapping[str, Any], secrets: SecretBox) -> Variable:
    secret = entry.get(_SECRET)
    value = secrets.decrypt(secret) if isinstance(secret, str) else entry.get("Value")
    scope = {
        ScopeField(key): frozenset(values) for key, values in (entry.get("Scope") or {}).items() if values
    }
    return Variable(
        id=str(entry["Id"]),
        name=str(entry["Name"]),
        value=value,
        is_sensitive=bool(entry.get("IsSensitive")),
        scope=scope,
        type=str(entry.get("Type") or "String"),
        description=str(entry.get("Description") or ""),
        prompt=entry.get("Prompt"),
    )
