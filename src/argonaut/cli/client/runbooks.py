"""``argonaut runbook``: a project's runbooks, their processes, publishing them, and running them.

A runbook is a process a project runs on demand (a backup, a restart) rather than promotes through a
lifecycle. Its process is edited like the deployment process (``runbook add-step`` takes the options of
``project add-step``), frozen into a snapshot by ``runbook publish``, and ``runbook run`` runs the
published snapshot unless told otherwise. ``runbook run --wait`` follows the runs as ``release deploy
--wait`` does and exits with their outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from argonaut.cli.client.environments import find_environments
from argonaut.cli.client.http import ApiSession, CliError, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field
from argonaut.cli.client.process import append_step, build_step, step_options
from argonaut.cli.client.projects import find_project, project_items, project_option
from argonaut.cli.client.runs import following, machine_filters, target_options, wait_options

NO_PUBLISHED_SNAPSHOT = "Runbook has no published snapshot"

COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Published", field("PublishedRunbookSnapshotId")),
    ("Description", field("Description")),
]


def project_runbooks(api: ApiSession, project: Mapping[str, Any]) -> list[dict[str, Any]]:
    return project_items(api, project, "runbooks")


def find_runbook(api: ApiSession, project: Mapping[str, Any], text: str) -> dict[str, Any]:
    """One of the project's runbooks by Id or case-insensitive name."""
    return find_one(project_runbooks(api, project), text, "runbook", f"project {project['Name']}")


def _process_path(api: ApiSession, runbook: Mapping[str, Any]) -> str:
    return api.in_space(f"runbookProcesses/{runbook['RunbookProcessId']}")


@click.group("runbook")
def runbook() -> None:
    """List, create, add steps to, publish and run a project's runbooks."""


_runbook_option = click.option(
    "--runbook", "runbook_ref", required=True, metavar="NAME-or-ID", help="The project's runbook"
)


@runbook.command("list")
@project_option
@with_api()
def list_runbooks(project_ref: str, api: ApiSession, out: Output) -> None:
    """List a project's runbooks; Published is the snapshot 'runbook run' runs by default."""
    found = find_project(api, project_ref)
    empty = f"Project {found['Name']} has no runbooks yet; add one with 'argonaut runbook create'."
    out.items(project_runbooks(api, found), COLUMNS, empty)


@runbook.command("create")
@project_option
@click.argument("name")
@click.option("--description", "-d", metavar="TEXT", help="What the runbook does")
@with_api()
def create_runbook(
    project_ref: str, name: str, description: str | None, api: ApiSession, out: Output
) -> None:
    """Create a runbook named NAME in a project, with an empty process."""
    found = find_project(api, project_ref)
    body: dict[str, Any] = {"Name": name, "ProjectId": found["Id"], "Description": description}
    created: dict[str, Any] = api.post(api.in_space("runbooks"), body)
    out.done(
        created,
        f"Created runbook {created.get('Name')} ({created.get('Id')}) in project {found['Name']}; "
        "add steps with 'argonaut runbook add-step', then 'argonaut runbook publish'",
    )


@runbook.command("add-step")
@project_option
@_runbook_option
@step_options
@with_api()
def add_runbook_step(
    project_ref: str, runbook_ref: str, api: ApiSession, out: Output, **options: Any
) -> None:
    """Append a script step to a runbook's process.

    The options are those of 'argonaut project add-step'. The draft changes at once ('runbook run
    --draft' runs it); the published snapshot keeps the process it froze until 'runbook publish'.
    """
    step = build_step(api, **options)
    project = find_project(api, project_ref)
    found = find_runbook(api, project, runbook_ref)
    append_step(api, out, _process_path(api, found), step, f"runbook {found['Name']}")


@runbook.command("publish")
@project_option
@_runbook_option
@click.option("--name", metavar="NAME", help="The snapshot's name [default: the server's next one]")
@click.option("--notes", metavar="TEXT", help="Notes about the snapshot (Markdown)")
@with_api()
def publish_runbook(
    project_ref: str, runbook_ref: str, name: str | None, notes: str | None, api: ApiSession, out: Output
) -> None:
    """Snapshot a runbook's process and its project's variables, and publish the snapshot.

    'runbook run' runs the published snapshot from then on; later edits wait for the next publish.
    """
    project = find_project(api, project_ref)
    found = find_runbook(api, project, runbook_ref)
    body = {"ProjectId": project["Id"], "RunbookId": found["Id"], "Name": name, "Notes": notes}
    created: dict[str, Any] = api.post(api.in_space("runbookSnapshots?publish=true"), body)
    out.done(
        created,
        f"Published snapshot {created.get('Name')} ({created.get('Id')}) of runbook {found['Name']}",
    )


def _form_values(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"'{pair}' is not NAME=VALUE", param_hint="'--variable'")
        values[name.strip()] = value
    return values


@runbook.command("run")
@project_option
@_runbook_option
@click.option(
    "--environment",
    "environment_refs",
    required=True,
    multiple=True,
    metavar="NAME-or-ID",
    help="Run in this environment (repeatable; the runs start together)",
)
@click.option("--snapshot", metavar="NAME-or-ID", help="Run this snapshot [default: the published one]")
@click.option("--draft", is_flag=True, help="Run the process as it is now, unpublished")
@click.option(
    "--variable",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="A prompted variable's value (repeatable)",
)
@target_options("Run on")
@wait_options("run")
@with_api()
def run_runbook(
    project_ref: str,
    runbook_ref: str,
    environment_refs: tuple[str, ...],
    snapshot: str | None,
    draft: bool,
    variables: tuple[str, ...],
    targets: tuple[str, ...],
    excluded: tuple[str, ...],
    wait: bool,
    verbose: bool,
    api: ApiSession,
    out: Output,
) -> None:
    """Run a runbook in one or more environments.

    Runs the published snapshot, or with --snapshot another one (by name or Id), or with --draft the
    process and variables as they are now. Every run is created at once; without --wait their Ids and
    task Ids are printed, one line each (with --json, an array of the run resources).

    With --wait, each run's log is printed live in the order the environments were given (Error and
    Fatal lines on stderr), each followed by a one-line summary; with --json the log goes to stderr and
    stdout carries an array of the finished tasks.

    Exit code: 0 when every run succeeds, 1 otherwise, 2 for usage errors, 130 after a second Ctrl-C.
    The first Ctrl-C asks the server to cancel the run being followed and waits for it to stop.
    """
    if draft and snapshot is not None:
        raise click.UsageError("--snapshot and --draft choose the process to run; give one of them")
    form_values = _form_values(variables)
    project = find_project(api, project_ref)
    found = find_runbook(api, project, runbook_ref)
    environments = find_environments(api, environment_refs)
    body = {
        "EnvironmentIds": [e["Id"] for e in environments],
        "UseDefaultSnapshot": snapshot is None and not draft,
        "RunbookSnapshotNameOrId": snapshot,
        "FormValues": form_values,
        **machine_filters(api, targets, excluded),
        "SkipActions": [],
    }
    try:
        runs: list[dict[str, Any]] = api.post(api.in_space(f"runbooks/{found['Id']}/run"), body)
    except CliError as exc:
        if not exc.format_message().startswith(NO_PUBLISHED_SNAPSHOT):
            raise
        raise CliError(
            f"{exc.format_message()} (publish one with 'argonaut runbook publish', or run the process as "
            "it is now with --draft)"
        ) from None
    names = {str(e["Id"]): str(e["Name"]) for e in environments}

    def describe(run: Mapping[str, Any]) -> str:
        where = names.get(str(run.get("EnvironmentId")), run.get("EnvironmentId"))
        return f"{run.get('Id')} {run.get('TaskId')} queued: {found['Name']} in {where}"

    if not wait:
        if out.as_json:
            out.raw(runs)
        else:
            for run in runs:
                click.echo(describe(run))
        return

    code = 0
    with following(api, out, verbose) as followed:
        for run in runs:
            code = max(code, followed.task(describe(run), str(run["TaskId"])))
    raise click.exceptions.Exit(code)
