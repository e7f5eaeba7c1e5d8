"""Project triggers: run a project's runbook on a schedule (``/projecttriggers``).

A trigger holds the described system's ``Filter`` (the schedule, checked by ``domain/schedules.py``)
and ``Action``. Only ``RunRunbook`` actions exist here: deployment triggers need releases chosen without
a person (latest in an environment, a new release), which this server does not do yet, and a trigger
stored but never acted on would fail its author silently. Tenants do not exist yet, so tenant fields
must be empty.

``next_run`` (shown as ``NextRun``, ours) is computed when a trigger is saved, from now: editing or
re-enabling a trigger never fires a time that passed while it was disabled. A save that changes
neither the schedule nor whether it is enabled keeps the stored next run, so renaming a trigger at
its due time does not skip that run. :func:`fire` is what the scheduler (``orchestrator/
trigger_schedule.py``) calls for each due time, through the composition root.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.runbooks import EnvironmentScope, scope_refusal
from argonaut.domain.schedules import InvalidSchedule, next_run, parse_filter
from argonaut.orchestrator.trigger_schedule import NotFired
from argonaut.service import runbook_runs, runbooks
from argonaut.service.checks import raise_if
from argonaut.service.errors import Invalid, NotFound
from argonaut.store import environments_repo, projects_repo, runbooks_repo, triggers_repo
from argonaut.store.common import Refused
from argonaut.store.connection import Conn
from argonaut.store.timeutil import utcnow

RUN_RUNBOOK = "RunRunbook"
DEPLOYMENT_ACTIONS = ("AutoDeploy", "DeployLatestRelease", "DeployNewRelease", "CreateRelease")


async def find_trigger(conn: Conn, space_id: int, trigger_id: str) -> RowMapping:
    number = parse_id(Collection.PROJECT_TRIGGERS, trigger_id)
    row = await triggers_repo.get(conn, space_id, number) if number is not None else None
    if row is None:
        raise NotFound(trigger_id)
    return row


async def create_trigger(conn: Conn, space_id: int, fields: Mapping[str, Any], by: str) -> int:
    """Create a trigger from the PascalCase fields the client sent; every problem reported at once."""
    project = await _project(conn, space_id, fields.get("ProjectId"))
    errors: list[str] = []
    name = _name(fields.get("Name"), errors)
    filter_ = _filter(fields.get("Filter"), errors)
    action = await _action(conn, space_id, project, fields.get("Action"), errors)
    disabled = bool(fields.get("IsDisabled"))
    following = _next_run(filter_, disabled, errors)
    raise_if(errors)
    await triggers_repo.ensure_name_free(conn, int(project["id"]), name)
    values = {
        "name": name,
        "description": fields.get("Description"),
        "is_disabled": disabled,
        "filter": filter_,
        "action": action,
        "next_run": following,
    }
    return await triggers_repo.create(conn, space_id, int(project["id"]), values, by)


async def update_trigger(
    conn: Conn, space_id: int, trigger: RowMapping, fields: Mapping[str, Any], by: str
) -> None:
    """Change what the client sent and keep the rest; a trigger keeps its project."""
    project_text = fields.get("ProjectId")
    if project_text and parse_id(Collection.PROJECTS, str(project_text)) != trigger["project_id"]:
        raise Invalid("A trigger cannot move to another project: create one in that project instead")
    project = await projects_repo.get_project(conn, space_id, int(trigger["project_id"]))
    assert project is not None  # a trigger goes with its project
    errors: list[str] = []
    values: dict[str, Any] = {}
    if fields.get("Name") is not None:
        values["name"] = _name(fields["Name"], errors)
    if "Description" in fields:
        values["description"] = fields["Description"]
    filter_ = trigger["filter"]
    if fields.get("Filter") is not None:
        filter_ = values["filter"] = _filter(fields["Filter"], errors)
    if fields.get("Action") is not None:
        values["action"] = await _action(conn, space_id, project, fields["Action"], errors, trigger["action"])
    disabled = bool(trigger["is_disabled"])
    if fields.get("IsDisabled") is not None:
        disabled = values["is_disabled"] = bool(fields["IsDisabled"])
    if filter_ != trigger["filter"] or disabled != trigger["is_disabled"] or trigger["next_run"] is None:
        values["next_run"] = _next_run(filter_, disabled, errors)
    raise_if(errors)
    if "name" in values:
        await triggers_repo.ensure_name_free(conn, int(project["id"]), values["name"], int(trigger["id"]))
    await triggers_repo.update_trigger(conn, int(trigger["id"]), values, by)


async def delete_trigger(conn: Conn, space_id: int, trigger: RowMapping) -> None:
    await triggers_repo.delete_trigger(conn, space_id, int(trigger["id"]))


async def fire(conn: Conn, trigger: RowMapping, due: dt.datetime) -> int:
    """Queue the trigger's runbook runs for the due time ``due``; answers the number of tasks queued.

    The runs are the published snapshot's, made by :func:`argonaut.service.runbooks.run_runbook` with
    the trigger's name as who ran them, and their ``Comments`` name the trigger and the due time. A run
    that cannot be made (no published snapshot, the runbook deleted, the project disabled, an
    environment gone or out of scope) is :class:`NotFired` with the reason.
    """
    action = trigger["action"] or {}
    runbook_id = parse_id(Collection.RUNBOOKS, str(action.get("RunbookId") or ""))
    environment_ids = [parse_id(Collection.ENVIRONMENTS, str(e)) for e in action.get("EnvironmentIds") or ()]
    if runbook_id is None or None in environment_ids:
        raise NotFired(f"its action names no runbook or an environment that is not an id: {action}")
    try:
        made = await runbooks.run_runbook(
            conn,
            int(trigger["space_id"]),
            runbook_id,
            [e for e in environment_ids if e is not None],
            trigger["name"],
        )
    except (Invalid, NotFound, Refused) as refusal:
        raise NotFired(str(refusal)) from refusal
    tid = format_id(Collection.PROJECT_TRIGGERS, int(trigger["id"]))
    note = f"Run by the scheduled trigger '{trigger['name']}' ({tid}) for {due.isoformat()}"
    await triggers_repo.note_runs(conn, [int(run["id"]) for run, _ in made], note)
    return len(made)


# --- Checks -----------------------------------------------------------------------------------------


async def _project(conn: Conn, space_id: int, text: Any) -> RowMapping:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("Please provide the ProjectId of the trigger's project")
    number = parse_id(Collection.PROJECTS, text)
    project = await projects_repo.get_project(conn, space_id, number) if number is not None else None
    if project is None:
        raise Invalid(f"The project '{text}' does not exist in this space")
    return project


def _name(value: Any, errors: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.append("Please provide a Name for the trigger")
        return ""
    return value.strip()


def _filter(value: Any, errors: list[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        errors.append("Please provide the trigger's Filter (its schedule), e.g. a CronExpressionSchedule")
        return {}
    try:
        return parse_filter(value).document
    except InvalidSchedule as problems:
        errors.extend(problems.errors)
        return {}


def _next_run(filter_: dict[str, Any], disabled: bool, errors: list[str]) -> dt.datetime | None:
    if disabled or not filter_:
        return None
    following = next_run(filter_, utcnow())
    if following is None:
        errors.append("Filter: this schedule never fires again")
    return following


async def _action(
    conn: Conn,
    space_id: int,
    project: RowMapping,
    value: Any,
    errors: list[str],
    stored: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical ``RunRunbook`` action: the runbook is the project's, the environments exist and the
    runbook's ``EnvironmentScope`` allows each (checked again when it fires, as things change). Ids the
    ``stored`` action already held are kept even if deleted since, so a GET-then-PUT still succeeds."""
    if not isinstance(value, Mapping):
        errors.append(
            "Please provide the trigger's Action: {ActionType: RunRunbook, RunbookId, EnvironmentIds}"
        )
        return {}
    kind = value.get("ActionType")
    if kind != RUN_RUNBOOK:
        more = (
            " (this server does not yet pick releases without a person)" if kind in DEPLOYMENT_ACTIONS else ""
        )
        errors.append(f"Only RunRunbook triggers are supported, not ActionType '{kind}'{more}")
        return {}
    for field, what in (
        ("TenantIds", "tenants"),
        ("TenantTags", "tenant tags"),
        ("RunbookTags", "runbook tags"),
    ):
        if value.get(field):
            errors.append(f"Action.{field}: triggers for {what} are not supported: this server has none")
    kept = stored or {}
    runbook_text = value.get("RunbookId")
    runbook = await _runbook(conn, space_id, project, runbook_text, errors, kept.get("RunbookId"))
    tolerated = {str(e).casefold() for e in kept.get("EnvironmentIds") or ()}
    environments = await _environments(conn, space_id, value.get("EnvironmentIds"), errors, tolerated)
    if runbook is not None:
        await _check_scope(conn, space_id, project, runbook, [e for e in environments if e[1]], errors)
    return {
        "ActionType": RUN_RUNBOOK,
        "RunbookId": format_id(Collection.RUNBOOKS, int(runbook["id"]))
        if runbook is not None
        else runbook_text,
        "EnvironmentIds": [text for text, _ in environments],
        "TenantIds": [],
        "TenantTags": [],
    }


async def _runbook(
    conn: Conn, space_id: int, project: RowMapping, text: Any, errors: list[str], stored: Any
) -> RowMapping | None:
    number = parse_id(Collection.RUNBOOKS, text) if isinstance(text, str) else None
    runbook = await runbooks_repo.get_runbook(conn, space_id, number) if number is not None else None
    if runbook is None:
        if not (isinstance(text, str) and isinstance(stored, str) and text.casefold() == stored.casefold()):
            errors.append(f"Action.RunbookId: the runbook '{text}' does not exist in this space")
    elif runbook["project_id"] != project["id"]:
        errors.append(f"Action.RunbookId: the runbook '{runbook['name']}' belongs to another project")
        return None
    return runbook


async def _environments(
    conn: Conn, space_id: int, value: Any, errors: list[str], tolerated: set[str]
) -> list[tuple[str, RowMapping | None]]:
    """Each environment as its canonical id and row (None for a tolerated id that names nothing now)."""
    if not isinstance(value, list) or not value:
        errors.append("Action.EnvironmentIds must name at least one environment to run the runbook in")
        return []
    found: dict[str, RowMapping | None] = {}
    for text in value:
        number = parse_id(Collection.ENVIRONMENTS, text) if isinstance(text, str) else None
        row = await environments_repo.get(conn, space_id, number) if number is not None else None
        if row is not None:
            found.setdefault(format_id(Collection.ENVIRONMENTS, int(row["id"])), row)
        elif isinstance(text, str) and text.casefold() in tolerated:
            found.setdefault(text, None)
        else:
            errors.append(f"Action.EnvironmentIds: the environment '{text}' does not exist in this space")
    return list(found.items())


async def _check_scope(
    conn: Conn,
    space_id: int,
    project: RowMapping,
    runbook: RowMapping,
    environments: list[tuple[str, RowMapping | None]],
    errors: list[str],
) -> None:
    document = runbook["document"] or {}
    lifecycle: set[str] = set()
    if document.get("EnvironmentScope") == EnvironmentScope.FROM_PROJECT_LIFECYCLES:
        lifecycle = await runbook_runs.project_lifecycle_environments(conn, space_id, project)
    for eid, environment in environments:
        assert environment is not None  # only environments that exist are checked
        why = scope_refusal(str(runbook["name"]), document, eid, str(environment["name"]), lifecycle)
        if why is not None:
            errors.append(f"Action.EnvironmentIds: {why}")
