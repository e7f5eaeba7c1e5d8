"""Deployment processes: whole-document edits guarded by ``Version``, and the frozen copies releases keep.

A PUT must carry the ``Version`` it read; any other version means someone saved in between, and the
edit is refused rather than silently overwriting theirs. Steps are normalised by
:func:`argonaut.domain.processes.normalize_steps` (ids assigned, defaults filled), and the ids they name
(worker pools, environments, channels) must exist, except ones the stored process already named, so a
client's GET-then-PUT still works after someone deleted one of them.

Sensitive property values (``{HasValue, NewValue}``) are encrypted with the master key before they
are stored and never shown again: reads answer ``NewValue: null``. A PUT that sends ``HasValue: true``
without ``NewValue`` keeps the stored value; ``HasValue: false`` clears it. The deployment engine gets
them decrypted from :func:`steps_for_run` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection
from argonaut.domain.owned_ids import Owned, canonical, canonical_runbook_process, new_snapshot_id, owned_id
from argonaut.domain.processes import Step, normalize_steps, parse_steps
from argonaut.security.master_key import SecretBox
from argonaut.service import action_templates
from argonaut.service.checks import raise_if, resolve_ids
from argonaut.service.errors import Invalid, NotFound
from argonaut.service.sensitive_values import hidden, opened, sealed, sensitive_fields, stored_secret
from argonaut.store import processes_repo, references
from argonaut.store.connection import Conn

STALE = (
    "Changes to this deployment process could not be saved, because another user has made changes since "
    "you opened it. Please refresh and try again."
)
FROZEN = "You cannot modify this deployment process because it is frozen"
_SNAPSHOT_ATTEMPTS = 20


def process_id_of(project_id: int) -> str:
    return owned_id(Owned.PROCESS, project_id)


async def find_process(conn: Conn, space_id: int, process_id: str, *, runbook: bool = False) -> RowMapping:
    """A process (live or snapshot) of the space; another space's is as missing as an unknown one.
    ``runbook`` looks for a runbook's process (``RunbookProcess-Runbooks-n``) instead of a project's, so
    neither family's routes answer the other's documents."""
    stored = canonical_runbook_process(process_id) if runbook else canonical(Owned.PROCESS, process_id)
    row = await processes_repo.get_process(conn, stored) if stored is not None else None
    if row is None or row["space_id"] != space_id:
        raise NotFound(process_id)
    return row


async def update_process(
    conn: Conn, space_id: int, process: RowMapping, fields: Mapping[str, Any], secrets: SecretBox, by: str
) -> RowMapping:
    """Save new ``Steps`` over ``process`` if ``fields["Version"]`` is the stored version; answers the
    saved row (Version one more, server-assigned step and action ids)."""
    if process["frozen"]:
        raise Invalid(FROZEN)
    version = fields.get("Version")
    if version is None:
        raise Invalid("Please send the Version of the deployment process you read, so no change is lost")
    if version != process["version"]:
        raise Invalid(STALE)
    if fields.get("Steps") is None:
        raise Invalid("Please send the process's Steps (an empty list removes every step)")
    steps, errors = normalize_steps(fields["Steps"])
    await action_templates.expand_template_steps(conn, space_id, steps, process["steps"], secrets, errors)
    await _check_references(conn, space_id, process, steps, errors)
    raise_if(errors)
    _seal(steps, process["steps"], secrets)
    if not await processes_repo.save_process(conn, process["id"], version, steps, by):
        raise Invalid(STALE)
    saved = await processes_repo.get_process(conn, process["id"])
    assert saved is not None
    return saved


async def freeze_process(conn: Conn, process_id: str, release_label: str) -> str:
    """Copy the live process to a frozen snapshot (``<id>-s-<version>-<XXXXX>``), record it as the
    process's ``LastSnapshotId``, and answer the snapshot's id. ``release_label`` names the release in
    the refusal when there is nothing to freeze."""
    row = await processes_repo.get_process(conn, process_id)
    if row is None:
        raise Invalid(
            f"Release {release_label} cannot be created: the deployment process {process_id} does not exist"
        )
    if row["frozen"]:
        raise Invalid(
            f"Release {release_label} cannot be created from {process_id}: it is already a snapshot"
        )
    for _ in range(_SNAPSHOT_ATTEMPTS):
        snapshot_id = new_snapshot_id(process_id, int(row["version"]))
        if await processes_repo.snapshot_process(conn, row, snapshot_id):
            await processes_repo.set_last_snapshot(conn, process_id, snapshot_id)
            return snapshot_id
    raise RuntimeError(f"no free snapshot id for {process_id} after {_SNAPSHOT_ATTEMPTS} attempts")


async def steps_for_run(conn: Conn, secrets: SecretBox, process_id: str) -> tuple[Step, ...]:
    """The steps of a process (usually a release's snapshot) as the engine runs them, with sensitive
    property values decrypted. Never log what this answers."""
    row = await processes_repo.get_process(conn, process_id)
    if row is None:
        raise NotFound(process_id)
    return parse_steps(_opened(row["steps"], secrets))


def public_steps(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Steps as clients may see them: sensitive values only say whether they are set."""
    return [_map_properties(step, _hidden) for step in steps]


# --- References --------------------------------------------------------------------------------------


async def _check_references(
    conn: Conn, space_id: int, process: RowMapping, steps: list[dict[str, Any]], errors: list[str]
) -> None:
    before = _named_before(process["steps"])
    pools = await references.pool_names(conn, space_id)
    environments = await references.environment_names(conn, space_id)
    channels = await references.channel_names(conn, int(process["project_id"]))
    for step in steps:
        for action in step["Actions"]:
            label = f"action '{action['Name'] or action['Id']}'"
            pool = action["WorkerPoolId"]
            if pool:
                found = resolve_ids(
                    Collection.WORKER_POOLS,
                    [pool],
                    pools,
                    label,
                    errors,
                    noun="worker pool",
                    tolerated=before,
                )
                action["WorkerPoolId"] = found[0] if found else pool
            for key in ("Environments", "ExcludedEnvironments"):
                action[key] = resolve_ids(
                    Collection.ENVIRONMENTS,
                    action[key],
                    environments,
                    f"{label}: {key}",
                    errors,
                    noun="environment",
                    tolerated=before,
                )
            action["Channels"] = resolve_ids(
                Collection.CHANNELS,
                action["Channels"],
                channels,
                f"{label}: Channels",
                errors,
                noun="channel of this project",
                tolerated=before,
            )


def _named_before(steps: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    named: set[str] = set()
    for step in steps:
        for action in step.get("Actions") or ():
            if action.get("WorkerPoolId"):
                named.add(str(action["WorkerPoolId"]).casefold())
            for key in ("Environments", "ExcludedEnvironments", "Channels"):
                named.update(str(value).casefold() for value in action.get(key) or ())
    return frozenset(named)


# --- Sensitive property values -------------------------------------------------------------------------


def _seal(steps: list[dict[str, Any]], before: Sequence[Mapping[str, Any]], secrets: SecretBox) -> None:
    """Encrypt new sensitive values in place; keep the stored one where the client sent none back."""
    kept: dict[tuple[str, str], str | None] = {}
    for owner in _owners(before):
        for key, value in (owner.get("Properties") or {}).items():
            kept[(str(owner.get("Id")), key)] = stored_secret(value)
    for owner in _owners(steps):
        properties = owner["Properties"]
        for key, value in properties.items():
            if sensitive_fields(value) is not None:
                properties[key] = sealed(value, kept.get((str(owner["Id"]), key)), secrets)


def _owners(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Steps and their actions: both carry properties."""
    return [owner for step in steps for owner in (step, *(step.get("Actions") or ()))]


def _hidden(value: Any, _secrets: SecretBox | None) -> Any:
    return hidden(value)


def _opened(steps: Sequence[Mapping[str, Any]], secrets: SecretBox) -> list[dict[str, Any]]:
    return [_map_properties(step, _decrypted, secrets) for step in steps]


def _decrypted(value: Any, secrets: SecretBox | None) -> Any:
    return value if secrets is None else opened(value, secrets)


def _map_properties(
    step: Mapping[str, Any], change: Callable[[Any, SecretBox | None], Any], secrets: SecretBox | None = None
) -> dict[str, Any]:
    def properties(owner: Mapping[str, Any]) -> dict[str, Any]:
        return {key: change(value, secrets) for key, value in (owner.get("Properties") or {}).items()}

    actions = [{**action, "Properties": properties(action)} for action in step.get("Actions") or ()]
    return {**step, "Properties": properties(step), "Actions": actions}
