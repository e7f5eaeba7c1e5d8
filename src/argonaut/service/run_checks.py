"""The checks a deployment and a runbook run share before their task is queued: the deployment targets
they name exist, the steps they skip are in their frozen process and may be skipped, and every required
prompted variable of their frozen variables has a value. One place, so both refuse alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.processes import parse_steps
from argonaut.domain.prompted_values import missing_prompted_values
from argonaut.service.checks import raise_if
from argonaut.service.errors import Invalid
from argonaut.service.variables import find_variable_set
from argonaut.store import machines_repo, processes_repo
from argonaut.store.connection import Conn


async def check_machines(
    conn: Conn, space_id: int, specific_machine_ids: Sequence[int], excluded_machine_ids: Sequence[int]
) -> None:
    unknown = [
        format_id(Collection.MACHINES, m)
        for m in (*specific_machine_ids, *excluded_machine_ids)
        if await machines_repo.get(conn, space_id, m) is None
    ]
    if unknown:
        raise Invalid(
            f"Unknown deployment target(s): {', '.join(unknown)}",
            [f"The deployment target '{m}' does not exist" for m in unknown],
        )


async def check_skips(conn: Conn, frozen: RowMapping, skip_actions: Sequence[str], what: str) -> None:
    """``frozen``: the release or runbook snapshot whose process runs (``what`` names which in messages)."""
    if not skip_actions:
        return
    process = await processes_repo.get_process(conn, str(frozen["process_snapshot_id"]))
    assert process is not None  # a release or a snapshot keeps its frozen process
    actions = {a.id.casefold(): a for step in parse_steps(process["steps"]) for a in step.actions}
    problems = []
    for action_id in skip_actions:
        action = actions.get(action_id.casefold())
        if action is None:
            problems.append(f"The step '{action_id}' in SkipActions is not part of this {what}'s process")
        elif action.is_required:
            problems.append(f"The step '{action.name}' is required and cannot be skipped")
    if problems:
        raise Invalid(problems[0], problems)


async def check_prompts(
    conn: Conn,
    space_id: int,
    frozen: RowMapping,
    environments: Sequence[RowMapping],
    form_values: Mapping[str, str],
) -> None:
    """Refuse when a required prompted variable of ``frozen``'s variables (a release's or a runbook
    snapshot's) has no value in one of ``environments`` (``domain/prompted_values.py``); every variable
    lacking one is listed, once."""
    variable_set = await find_variable_set(conn, space_id, str(frozen["variables_snapshot_id"]))
    problems: list[str] = []
    for environment in environments:
        environment_id = format_id(Collection.ENVIRONMENTS, int(environment["id"]))
        for problem in missing_prompted_values(variable_set["variables"] or [], environment_id, form_values):
            if problem not in problems:
                problems.append(problem)
    raise_if(problems)
