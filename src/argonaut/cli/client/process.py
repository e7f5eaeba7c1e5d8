"""``argonaut project steps|add-step|remove-step``: a project's deployment process, one step at a time.

The API only reads and writes the process whole, guarded by its ``Version``: each edit GETs the process,
changes its ``Steps`` and PUTs it back with the Version it read. A concurrent edit, a repeated step name
or a script the server cannot run comes back as the server's 400, shown as one ``error:`` line; nothing
is retried, and nothing the server checks is checked again here, so its rules are the only ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import click

from argonaut.cli.client.http import ApiSession, find_one
from argonaut.cli.client.options import Verb, options_decorator, with_api
from argonaut.cli.client.output import Column, Output, field
from argonaut.cli.client.pools import find_pool
from argonaut.cli.client.projects import find_project, project_option
from argonaut.cli.client.scripts import _script_body, _syntax

TARGET_ROLES = "Octopus.Action.TargetRoles"
RUN_ON_SERVER = "Octopus.Action.RunOnServer"  # the described system's name for "on a worker"
MAX_PARALLELISM = "Octopus.Action.MaxParallelism"
CONDITIONS = {"success": "Success", "failure": "Failure", "always": "Always"}


def _roles(step: Mapping[str, Any]) -> list[str]:
    text = str((step.get("Properties") or {}).get(TARGET_ROLES) or "")
    return [role.strip() for role in text.split(",") if role.strip()]


def _on_worker(step: Mapping[str, Any]) -> bool:
    return any(
        str((action.get("Properties") or {}).get(RUN_ON_SERVER, "")).strip().lower() == "true"
        for action in step.get("Actions") or []
    )


def _runs_on(step: Mapping[str, Any]) -> str:
    """The step's roles (on a worker on their behalf, when so); ``worker`` for a step run once."""
    roles = ", ".join(_roles(step))
    if roles:
        return f"{roles} (on a worker)" if _on_worker(step) else roles
    return "worker" if _on_worker(step) else "-"


def _where(step: Mapping[str, Any]) -> str:
    """Where a new step runs, as a sentence's end."""
    roles = ", ".join(_roles(step))
    if not roles:
        return "runs once on a worker"
    where = "on a worker on behalf of each" if _on_worker(step) else "on each"
    return f"runs {where} deployment target with the role(s) {roles}"


def _starts(step: Mapping[str, Any]) -> object:
    return "with previous" if step.get("StartTrigger") == "StartWithPrevious" else "after previous"


def _columns(numbers: Mapping[str, int]) -> list[Column]:
    def number(step: Mapping[str, Any]) -> object:
        return numbers.get(str(step.get("Id")))

    return [
        ("#", number),
        ("Name", field("Name")),
        ("Runs on", _runs_on),
        ("Condition", field("Condition")),
        ("Starts", _starts),
    ]


def _process_path(api: ApiSession, project: Mapping[str, Any]) -> str:
    return api.in_space(f"deploymentprocesses/{project['DeploymentProcessId']}")


def _read(api: ApiSession, project: Mapping[str, Any]) -> dict[str, Any]:
    process: dict[str, Any] = api.get(_process_path(api, project))
    return process


def save_steps(api: ApiSession, path: str, process: Mapping[str, Any], steps: list[Any]) -> dict[str, Any]:
    """PUT the steps back to the process at ``path`` with the Version read: a stale one is the server's
    400, not an overwrite."""
    body = {"Version": process.get("Version"), "Steps": steps}
    # ApiSession has no put(); its _json() keeps a non-JSON answer one error line, as get/post do.
    saved: dict[str, Any] = api.put(path, body)
    return saved


def append_step(api: ApiSession, out: Output, path: str, step: dict[str, Any], owner: str) -> None:
    """Append ``step`` to the process at ``path`` (the deployment process or a runbook's) of ``owner``
    (``project Web``, ``runbook Backup``) and say so."""
    process: dict[str, Any] = api.get(path)
    steps = [*(process.get("Steps") or []), step]
    saved = save_steps(api, path, process, steps)
    out.done(saved, f"Added step {len(steps)} '{step['Name']}' to {owner}: it {_where(step)}")


@click.command("steps")
@project_option
@with_api()
def list_steps(project_ref: str, api: ApiSession, out: Output) -> None:
    """List the steps of a project's deployment process, in order.

    Runs on: the target roles a step deploys to, or "worker" for a step run once on a worker.
    With --json, the process's Steps as the API holds them.
    """
    found = find_project(api, project_ref)
    steps: list[dict[str, Any]] = _read(api, found).get("Steps") or []
    numbers = {str(step.get("Id")): n for n, step in enumerate(steps, start=1)}
    empty = f"Project {found['Name']} has no steps yet; add one with 'argonaut project add-step'."
    out.items(steps, _columns(numbers), empty)


def step_options(verb: Verb) -> Verb:
    """The options describing a script step, shared with ``runbook add-step`` (:func:`build_step`)."""
    options = [
        click.option("--name", required=True, metavar="STEP", help="The step's name, unique in the process"),
        click.option("--body", metavar="TEXT", help="The script text itself"),
        click.option(
            "--file",
            "script_file",
            metavar="FILE",
            type=click.File("r", encoding="utf-8"),
            help="Read the script from FILE ('-' is stdin)",
        ),
        click.option(
            "--syntax",
            type=click.Choice(["bash", "python"], case_sensitive=False),
            help="Script language [default: python for a --file ending in .py, else bash]",
        ),
        click.option(
            "--role",
            "roles",
            multiple=True,
            metavar="ROLE",
            help="Deploy to the targets with this role (repeatable); without any, the step runs once on a "
            "worker",
        ),
        click.option(
            "--on-worker",
            is_flag=True,
            help="Run on a worker: once, or with --role once per target on its behalf [implied without "
            "--role]",
        ),
        click.option("--pool", metavar="NAME-or-ID", help="Worker pool [default: the space's default pool]"),
        click.option(
            "--max-parallelism",
            type=click.IntRange(min=1),
            metavar="N",
            help="With --role, deploy to at most N targets at once [default: 10]",
        ),
        click.option(
            "--condition",
            type=click.Choice(sorted(CONDITIONS), case_sensitive=False),
            help="Run when the deployment so far succeeded, failed, or always [default: success]",
        ),
        click.option("--start-with-previous", is_flag=True, help="Start together with the step before it"),
    ]
    return options_decorator(options)(verb)


def build_step(
    api: ApiSession,
    *,
    name: str,
    body: str | None,
    script_file: IO[str] | None,
    syntax: str | None,
    roles: tuple[str, ...],
    on_worker: bool,
    pool: str | None,
    max_parallelism: int | None,
    condition: str | None,
    start_with_previous: bool,
) -> dict[str, Any]:
    """The step :func:`step_options` describe: one ``Octopus.Script`` action running the script."""
    wanted = [role.strip() for role in roles if role.strip()]
    if max_parallelism is not None and not wanted:
        raise click.UsageError("--max-parallelism limits how many targets run at once; it needs --role")
    script = _script_body(script_file, body)
    step_properties = {TARGET_ROLES: ",".join(dict.fromkeys(wanted))} if wanted else {}
    if max_parallelism is not None:
        step_properties[MAX_PARALLELISM] = str(max_parallelism)
    action: dict[str, Any] = {
        "Name": name,
        "ActionType": "Octopus.Script",
        "Properties": {
            RUN_ON_SERVER: "true" if on_worker or not wanted else "false",
            "Octopus.Action.Script.ScriptSource": "Inline",
            "Octopus.Action.Script.Syntax": _syntax(syntax, script_file),
            "Octopus.Action.Script.ScriptBody": script,
        },
    }
    if pool is not None:
        action["WorkerPoolId"] = find_pool(api, pool)["Id"]
    step: dict[str, Any] = {"Name": name, "Properties": step_properties, "Actions": [action]}
    if condition is not None:
        step["Condition"] = CONDITIONS[condition.lower()]
    if start_with_previous:
        step["StartTrigger"] = "StartWithPrevious"
    return step


@click.command("add-step")
@project_option
@step_options
@with_api()
def add_step(project_ref: str, api: ApiSession, out: Output, **options: Any) -> None:
    """Append a script step to a project's deployment process.

    The step has one action, running the Bash or Python script. With --role, it deploys to each
    deployment target that has one of the roles (on the target itself, or with --on-worker on a worker
    on its behalf); an environment without such targets skips it. Without --role, it runs once on a
    worker (--on-worker is implied). Releases created afterwards include the step; existing releases
    keep the process they froze.
    """
    step = build_step(api, **options)
    found = find_project(api, project_ref)
    append_step(api, out, _process_path(api, found), step, f"project {found['Name']}")


@click.command("remove-step")
@project_option
@click.option("--name", required=True, metavar="STEP", help="The step's name or Id")
@with_api()
def remove_step(project_ref: str, name: str, api: ApiSession, out: Output) -> None:
    """Remove a step from a project's deployment process.

    Existing releases keep their copy of it; releases created afterwards leave it out.
    """
    found = find_project(api, project_ref)
    process = _read(api, found)
    steps: list[dict[str, Any]] = process.get("Steps") or []
    doomed = find_one(steps, name, "step", f"the deployment process of project {found['Name']}")
    kept = [step for step in steps if step is not doomed]
    saved = save_steps(api, _process_path(api, found), process, kept)
    out.done(saved, f"Removed step '{doomed['Name']}' from project {found['Name']}")
