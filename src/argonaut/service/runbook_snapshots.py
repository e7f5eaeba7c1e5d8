"""Runbook snapshots: a runbook's process and its project's variables frozen together, as a release
freezes a deployment process, so what runs is what was reviewed however the runbook is edited later.

A runbook has a *published* snapshot (what triggers and ``UseDefaultSnapshot`` run) and a *draft*, the
live process and variables. Running the draft makes an unpublished snapshot of them (``Draft: true`` in
its document) and runs that, so a run always names the frozen documents it ran; a draft run whose
process and variables are unchanged since the last draft snapshot reuses that snapshot instead of
piling up copies.
"""

from __future__ import annotations

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.service import processes, variables
from argonaut.service.errors import Invalid, NotFound
from argonaut.store import processes_repo, projects_repo, runbooks_repo
from argonaut.store.common import name_key
from argonaut.store.connection import Conn

NAME_PREFIX = "Snapshot"
MAX_NAME = 200


async def next_name(conn: Conn, runbook_id: int) -> str:
    """``Snapshot N``: one more than the runbook's snapshots, skipping names already taken."""
    taken = await runbooks_repo.snapshot_names(conn, runbook_id)
    number = len(taken) + 1
    while name_key(f"{NAME_PREFIX} {number}") in taken:
        number += 1
    return f"{NAME_PREFIX} {number}"


async def create_snapshot(
    conn: Conn,
    space_id: int,
    runbook: RowMapping,
    name: str | None,
    notes: str | None,
    by: str,
    *,
    publish: bool = False,
    draft: bool = False,
) -> RowMapping:
    """Freeze the runbook's process and its project's variable set into a new snapshot (named ``Snapshot
    N`` when ``name`` is blank); ``publish`` makes it the runbook's published snapshot."""
    chosen = (name or "").strip() or await next_name(conn, int(runbook["id"]))
    if len(chosen) > MAX_NAME:
        raise Invalid(f"The snapshot's Name must be at most {MAX_NAME} characters")
    project_id = int(runbook["project_id"])
    process_id = await processes.freeze_process(conn, str(runbook["process_id"]), chosen)
    variable_set_id = await variables.freeze_variables(conn, variables.variable_set_id_of(project_id))
    snapshot_id = await runbooks_repo.create_snapshot(
        conn,
        dict(
            space_id=space_id,
            project_id=project_id,
            runbook_id=int(runbook["id"]),
            name=chosen,
            notes=notes,
            process_snapshot_id=process_id,
            variables_snapshot_id=variable_set_id,
            document={"SelectedPackages": [], "Draft": draft},
        ),
        by,
    )
    if publish:
        await runbooks_repo.update_runbook(
            conn, int(runbook["id"]), {"published_snapshot_id": snapshot_id}, by
        )
    row = await runbooks_repo.get_snapshot(conn, space_id, snapshot_id)
    assert row is not None
    return row


async def draft_snapshot(conn: Conn, space_id: int, runbook: RowMapping, by: str) -> RowMapping:
    """What running the draft runs: the last draft snapshot when nothing changed since, else a new one."""
    _, newest = await runbooks_repo.list_snapshots(conn, space_id, 0, 1, runbook_id=int(runbook["id"]))
    if newest and (newest[0]["document"] or {}).get("Draft") and await _current(conn, runbook, newest[0]):
        return newest[0]
    return await create_snapshot(conn, space_id, runbook, None, "The draft, as it was run", by, draft=True)


async def _current(conn: Conn, runbook: RowMapping, snapshot: RowMapping) -> bool:
    """Whether the snapshot froze the versions of the process and variables that are live now."""
    live_process = await processes_repo.get_process(conn, str(runbook["process_id"]))
    frozen_process = await processes_repo.get_process(conn, str(snapshot["process_snapshot_id"]))
    live_variables = await processes_repo.get_variable_set(
        conn, variables.variable_set_id_of(int(runbook["project_id"]))
    )
    frozen_variables = await processes_repo.get_variable_set(conn, str(snapshot["variables_snapshot_id"]))
    pairs = ((live_process, frozen_process), (live_variables, frozen_variables))
    return all(
        live is not None and frozen is not None and live["version"] == frozen["version"]
        for live, frozen in pairs
    )


async def find_snapshot(conn: Conn, space_id: int, snapshot_id: str) -> RowMapping:
    """A snapshot of the space by id; ``NotFound`` names what was asked for."""
    number = parse_id(Collection.RUNBOOK_SNAPSHOTS, snapshot_id)
    row = await runbooks_repo.get_snapshot(conn, space_id, number) if number is not None else None
    if row is None:
        raise NotFound(snapshot_id)
    return row


async def snapshot_of(conn: Conn, space_id: int, runbook: RowMapping, name_or_id: str) -> RowMapping:
    """One of the runbook's snapshots, by id or name (what ``RunbookSnapshotNameOrId`` and the command
    route's ``Snapshot`` take); ``Invalid`` when the runbook has none such."""
    number = parse_id(Collection.RUNBOOK_SNAPSHOTS, name_or_id)
    row = await runbooks_repo.get_snapshot(conn, space_id, number) if number is not None else None
    if row is None or row["runbook_id"] != runbook["id"]:
        row = await runbooks_repo.find_snapshot_by_name(conn, int(runbook["id"]), name_or_id)
    if row is None:
        raise Invalid(f"The runbook '{runbook['name']}' has no snapshot '{name_or_id}'")
    return row


async def snapshot_in_project(conn: Conn, space_id: int, project_id: int, id_or_name: str) -> RowMapping:
    """A project's snapshot by id, else by name (names are unique per runbook, so the newest of that name
    wins when several runbooks share one)."""
    number = parse_id(Collection.RUNBOOK_SNAPSHOTS, id_or_name)
    row = await runbooks_repo.get_snapshot(conn, space_id, number) if number is not None else None
    if row is None or row["project_id"] != project_id:
        _, rows = await runbooks_repo.list_snapshots(
            conn, space_id, 0, 1, project_id=project_id, name=id_or_name
        )
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(id_or_name)
    return row


async def delete_snapshot(conn: Conn, snapshot: RowMapping) -> None:
    """The snapshot, its frozen copies and its runs (their tasks stay); a runbook that had it published
    then has none."""
    await runbooks_repo.delete_snapshot(conn, snapshot)


def snapshot_key(snapshot: RowMapping) -> str:
    return format_id(Collection.RUNBOOK_SNAPSHOTS, int(snapshot["id"]))


async def runbook_to_snapshot(
    conn: Conn, space_id: int, runbook_id: str | None, project_id: str | None
) -> RowMapping:
    """The runbook a snapshot request names (``RunbookId``), checked against its ``ProjectId`` when
    given (id or slug): a snapshot's project is its runbook's."""
    if not runbook_id:
        raise Invalid("Please provide the RunbookId of the runbook to snapshot")
    number = parse_id(Collection.RUNBOOKS, runbook_id)
    runbook = await runbooks_repo.get_runbook(conn, space_id, number) if number is not None else None
    if runbook is None:
        raise Invalid(f"The runbook '{runbook_id}' does not exist in this space")
    if project_id:
        project = await projects_repo.get_project(conn, space_id, int(runbook["project_id"]))
        assert project is not None  # a runbook goes with its project
        named = {
            format_id(Collection.PROJECTS, int(project["id"])).casefold(),
            str(project["slug"]).casefold(),
        }
        if project_id.strip().casefold() not in named:
            raise Invalid(f"The runbook '{runbook['name']}' is not a runbook of the project '{project_id}'")
    return runbook
