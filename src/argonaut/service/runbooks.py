"""Runbooks: a project's operations processes, run in any environment their scope allows.

A runbook is made with its process ``RunbookProcess-Runbooks-n`` (Version 0, no steps), in the same
transaction, so no client ever sees one without the other; the process is edited through the same
service as deployment processes (``service/processes.py``). Names are unique per project.

:func:`run_runbook` is how anything that is not a client's ``POST /runbookRuns`` starts runs: the
``/runbooks/{id}/run`` route, the by-names command, and scheduled triggers. Without a snapshot it runs
the published one, or the draft when asked (``service/runbook_snapshots.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.owned_ids import runbook_process_id
from argonaut.domain.runbooks import merged_document
from argonaut.service import runbook_snapshots
from argonaut.service.checks import raise_if, resolve_ids
from argonaut.service.errors import Invalid, NotFound
from argonaut.service.runbook_runs import RunOptions, create_runs
from argonaut.store import processes_repo, projects_repo, references, runbooks_repo
from argonaut.store.common import slugify
from argonaut.store.connection import Conn

NO_PUBLISHED_SNAPSHOT = "Runbook has no published snapshot"


async def find_runbook(conn: Conn, space_id: int, runbook_id: str) -> RowMapping:
    """A runbook of the space by id; ``NotFound`` names what was asked for."""
    number = parse_id(Collection.RUNBOOKS, runbook_id)
    row = await runbooks_repo.get_runbook(conn, space_id, number) if number is not None else None
    if row is None:
        raise NotFound(runbook_id)
    return row


async def create_runbook(conn: Conn, space_id: int, fields: Mapping[str, Any], by: str) -> int:
    """Create a runbook with its process; ``fields`` are the PascalCase fields the client sent."""
    name = _name(fields.get("Name"))
    project_id = await _project_id(conn, space_id, fields.get("ProjectId"))
    document = await _document(conn, space_id, fields, {})
    await runbooks_repo.ensure_runbook_name_free(conn, project_id, name)
    runbook_id = await runbooks_repo.create_runbook(
        conn,
        space_id,
        {
            "project_id": project_id,
            "name": name,
            "slug": slugify(name),
            "description": fields.get("Description"),
            "process_id": "",  # named after the runbook's id, set below
            "document": document,
        },
        by,
    )
    process_id = runbook_process_id(runbook_id)
    await runbooks_repo.set_runbook_process(conn, runbook_id, process_id)
    owner = format_id(Collection.RUNBOOKS, runbook_id)
    await processes_repo.create_process(conn, process_id, space_id, project_id, owner, by)
    return runbook_id


async def update_runbook(
    conn: Conn, space_id: int, runbook: RowMapping, fields: Mapping[str, Any], by: str
) -> None:
    """Change what the client sent and keep the rest. ``ProjectId`` is create-only and ignored here.
    ``PublishedRunbookSnapshotId`` publishes one of this runbook's snapshots (null: none)."""
    values: dict[str, Any] = {"document": await _document(conn, space_id, fields, runbook["document"] or {})}
    if fields.get("Name") is not None:
        name = _name(fields["Name"])
        await runbooks_repo.ensure_runbook_name_free(
            conn, int(runbook["project_id"]), name, int(runbook["id"])
        )
        values |= {"name": name, "slug": slugify(name)}
    if "Description" in fields:
        values["description"] = fields["Description"]
    if "PublishedRunbookSnapshotId" in fields:
        values["published_snapshot_id"] = await _published(
            conn, space_id, runbook, fields["PublishedRunbookSnapshotId"]
        )
    await runbooks_repo.update_runbook(conn, int(runbook["id"]), values, by)


async def delete_runbook(conn: Conn, space_id: int, runbook: RowMapping) -> None:
    await runbooks_repo.delete_runbook(conn, space_id, int(runbook["id"]))


async def run_runbook(
    conn: Conn,
    space_id: int,
    runbook_id: int,
    environment_ids: Sequence[int],
    by: str,
    snapshot_id: int | None = None,
    *,
    draft: bool = False,
    specific_machine_ids: Sequence[int] = (),
    excluded_machine_ids: Sequence[int] = (),
    skip_actions: Sequence[str] = (),
    form_values: Mapping[str, str] | None = None,
    use_guided_failure: bool = False,
) -> list[tuple[RowMapping, RowMapping]]:
    """Queue a run of the runbook in each environment; answers (run row, task row) per environment.

    ``snapshot_id`` names the snapshot to run; without it, ``draft`` runs the live process and variables
    (through an unpublished snapshot), else the published snapshot runs (``Invalid`` "Runbook has no
    published snapshot" when there is none). The caller wakes the queue once the transaction commits.
    """
    runbook = await runbooks_repo.get_runbook(conn, space_id, runbook_id)
    if runbook is None:
        raise Invalid(f"The runbook '{format_id(Collection.RUNBOOKS, runbook_id)}' does not exist")
    if snapshot_id is not None:
        snapshot = await runbooks_repo.get_snapshot(conn, space_id, snapshot_id)
        if snapshot is None or snapshot["runbook_id"] != runbook["id"]:
            raise Invalid(
                f"The snapshot '{format_id(Collection.RUNBOOK_SNAPSHOTS, snapshot_id)}' is not a snapshot of "
                f"the runbook '{runbook['name']}'"
            )
    elif draft:
        snapshot = await runbook_snapshots.draft_snapshot(conn, space_id, runbook, by)
    else:
        snapshot = await published_snapshot(conn, space_id, runbook)
    options = RunOptions(
        specific_machine_ids=specific_machine_ids,
        excluded_machine_ids=excluded_machine_ids,
        skip_actions=skip_actions,
        form_values=dict(form_values or {}),
        use_guided_failure=use_guided_failure,
    )
    return await create_runs(conn, space_id, runbook, snapshot, environment_ids, options, by)


async def published_snapshot(conn: Conn, space_id: int, runbook: RowMapping) -> RowMapping:
    published = runbook["published_snapshot_id"]
    snapshot = (
        await runbooks_repo.get_snapshot(conn, space_id, int(published)) if published is not None else None
    )
    if snapshot is None:
        raise Invalid(NO_PUBLISHED_SNAPSHOT)
    return snapshot


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Please provide a Name for the runbook")
    return value.strip()


async def _project_id(conn: Conn, space_id: int, text: Any) -> int:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("Please provide the ProjectId of the runbook's project")
    number = parse_id(Collection.PROJECTS, text)
    if number is None or await projects_repo.get_project(conn, space_id, number) is None:
        raise Invalid(f"The project '{text}' does not exist in this space")
    return number


async def _document(
    conn: Conn, space_id: int, fields: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """The settings document with what the client sent, every problem reported at once. Environments
    the stored document already named are kept even if deleted since, so GET-then-PUT still works."""
    document, errors = merged_document(fields, current)
    tolerated = frozenset(str(e).casefold() for e in current.get("Environments") or ())
    document["Environments"] = resolve_ids(
        Collection.ENVIRONMENTS,
        [str(e) for e in document.get("Environments") or ()],
        await references.environment_names(conn, space_id),
        "Environments",
        errors,
        noun="environment",
        tolerated=tolerated,
    )
    raise_if(errors)
    return document


async def _published(conn: Conn, space_id: int, runbook: RowMapping, text: Any) -> int | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    number = parse_id(Collection.RUNBOOK_SNAPSHOTS, str(text))
    snapshot = await runbooks_repo.get_snapshot(conn, space_id, number) if number is not None else None
    if snapshot is None or snapshot["runbook_id"] != runbook["id"]:
        raise Invalid(f"The snapshot '{text}' is not a snapshot of the runbook '{runbook['name']}'")
    return int(snapshot["id"])
