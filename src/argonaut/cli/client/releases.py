"""``argonaut release``: freeze a project into a release and deploy it, the two calls a CI pipeline makes.

``release deploy --wait`` behaves like ``run-script``: it prints each deployment's log live and exits
with the outcome, so a pipeline step fails when the deployment fails. Everything is named by name or Id;
names are resolved to the ids the REST API takes before anything is created, so a typo creates nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import click

from argonaut.cli.client.environments import find_environments
from argonaut.cli.client.http import ApiSession, CliError, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Cell, Column, Output, field, named
from argonaut.cli.client.projects import find_project, project_items, project_option
from argonaut.cli.client.runs import following, machine_filters, target_options, wait_options


def _first_line(key: str) -> Cell:
    """Release notes are Markdown of any length; a table row shows their first line only."""

    def read(item: Mapping[str, Any]) -> object:
        value = item.get(key)
        return str(value).strip().splitlines()[0] if value and str(value).strip() else None

    return read


def _columns(names: Mapping[str, str]) -> list[Column]:
    return [
        ("Id", field("Id")),
        ("Version", field("Version")),
        ("Channel", named("ChannelId", names)),
        ("Assembled", field("Assembled")),
        ("Notes", _first_line("ReleaseNotes")),
    ]


def project_channels(api: ApiSession, project: Mapping[str, Any]) -> list[dict[str, Any]]:
    return project_items(api, project, "channels")


def find_release(api: ApiSession, project: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The project's release with this version, with the server's reason when there is none."""
    path = api.in_space(f"projects/{project['Id']}/releases/{quote(version.strip(), safe='')}")
    try:
        found: dict[str, Any] = api.get(path)
    except CliError as exc:
        raise CliError(
            f"cannot find release '{version}' of project {project['Name']}: {exc.format_message()}"
        ) from None
    return found


@click.group("release")
def release() -> None:
    """Create, list and deploy releases."""


@release.command("create")
@project_option
@click.option("--version", required=True, metavar="VERSION", help="The release version, e.g. 1.4.0")
@click.option("--channel", metavar="NAME-or-ID", help="Channel [default: the project's default channel]")
@click.option("--notes", metavar="TEXT", help="Release notes (Markdown)")
@with_api()
def create_release(
    project_ref: str,
    version: str,
    channel: str | None,
    notes: str | None,
    api: ApiSession,
    out: Output,
) -> None:
    """Create a release: a frozen copy of the project's deployment process and variables.

    Later edits to the process or the variables leave the release as it was. Prints the release's Id
    and version (with --json, the release resource).
    """
    found = find_project(api, project_ref)
    body: dict[str, Any] = {"ProjectId": found["Id"], "Version": version}
    if channel is not None:
        where = f"project {found['Name']}"
        body["ChannelId"] = find_one(project_channels(api, found), channel, "channel", where)["Id"]
    if notes is not None:
        body["ReleaseNotes"] = notes
    created: dict[str, Any] = api.post(api.in_space("releases"), body)
    out.done(created, f"Created release {created.get('Version')} ({created.get('Id')}) of {found['Name']}")


@release.command("list")
@project_option
@click.option(
    "--take", type=click.IntRange(1, 10_000), default=30, show_default=True, help="How many releases"
)
@with_api()
def list_releases(project_ref: str, take: int, api: ApiSession, out: Output) -> None:
    """List a project's releases, newest first."""
    found = find_project(api, project_ref)
    page = api.get(api.in_space(f"projects/{found['Id']}/releases"), {"skip": 0, "take": take})
    names = {} if out.as_json else {str(c["Id"]): str(c["Name"]) for c in project_channels(api, found)}
    out.items(page.get("Items") or [], _columns(names), f"Project {found['Name']} has no releases yet.")


def skip_action_ids(process: Mapping[str, Any], wanted: Sequence[str], version: str) -> list[str]:
    """The action Ids for ``SkipActions``: the API skips actions, while people name steps.

    A step's name (or Id) skips all of its actions; an action's name (or Id) skips that action alone.
    Names compare case-insensitively, as everywhere else in the client.
    """
    by_key: dict[str, list[str]] = {}
    names: list[str] = []
    for step in process.get("Steps") or []:
        action_ids = [str(a["Id"]) for a in step.get("Actions") or [] if a.get("Id")]
        names.append(str(step.get("Name")))
        for key in (step.get("Name"), step.get("Id")):
            if key:
                by_key.setdefault(str(key).casefold(), []).extend(action_ids)
        for action in step.get("Actions") or []:
            for key in (action.get("Name"), action.get("Id")):
                if key and action.get("Id"):
                    by_key.setdefault(str(key).casefold(), []).append(str(action["Id"]))
    chosen: list[str] = []
    for text in wanted:
        ids = by_key.get(text.strip().casefold())
        if not ids:
            known = ", ".join(names) or "none"
            raise CliError(f"release {version} has no step named '{text}' (its steps: {known})")
        chosen.extend(ids)
    return list(dict.fromkeys(chosen))


@release.command("deploy")
@project_option
@click.option("--version", required=True, metavar="VERSION", help="The release to deploy")
@click.option(
    "--environment",
    "environment_refs",
    required=True,
    multiple=True,
    metavar="NAME-or-ID",
    help="Deploy to this environment (repeatable; deployed in the order given)",
)
@target_options("Deploy to")
@click.option(
    "--skip-step", "skips", multiple=True, metavar="NAME-or-ID", help="Skip this step or action (repeatable)"
)
@wait_options("deployment")
@with_api()
def deploy_release(
    project_ref: str,
    version: str,
    environment_refs: tuple[str, ...],
    targets: tuple[str, ...],
    excluded: tuple[str, ...],
    skips: tuple[str, ...],
    wait: bool,
    verbose: bool,
    api: ApiSession,
    out: Output,
) -> None:
    """Deploy a release to one or more environments.

    Without --wait, every deployment is created at once and their Ids and task Ids are printed, one line
    each (with --json, an array of the deployment resources). The lifecycle decides where a release may
    go: a refused deployment prints the server's reason and exits 1.

    With --wait, the environments are deployed one after the other, each log printed live as in
    run-script (Error and Fatal lines on stderr), followed by a one-line summary; the next environment is
    deployed only after a success, so '--environment Test --environment Production' promotes through
    both. With --json, the log goes to stderr and stdout carries an array of the finished tasks.

    Exit code: 0 when every deployment succeeds, 1 otherwise, 2 for usage errors, 130 after a second
    Ctrl-C. The first Ctrl-C asks the server to cancel the running deployment and waits for it to stop.
    """
    project = find_project(api, project_ref)
    chosen = find_release(api, project, version)
    environments = find_environments(api, environment_refs)
    machine_ids = machine_filters(api, targets, excluded)
    process: dict[str, Any] = (
        api.get(api.in_space(f"deploymentprocesses/{chosen['ProjectDeploymentProcessSnapshotId']}"))
        if skips
        else {}
    )
    base = {
        "ReleaseId": chosen["Id"],
        **machine_ids,
        "SkipActions": skip_action_ids(process, skips, str(chosen.get("Version"))) if skips else [],
    }

    def describe(deployment: Mapping[str, Any], environment: Mapping[str, Any]) -> str:
        what = f"{project['Name']} {chosen.get('Version')} to {environment['Name']}"
        return f"{deployment.get('Id')} {deployment.get('TaskId')} queued: {what}"

    if not wait:
        created: list[dict[str, Any]] = []
        try:
            for environment in environments:
                body = {**base, "EnvironmentId": environment["Id"]}
                deployment: dict[str, Any] = api.post(api.in_space("deployments"), body)
                created.append(deployment)
                if not out.as_json:
                    click.echo(describe(deployment, environment))
        finally:
            if out.as_json and created:  # what was created is worth knowing even after a refusal
                out.raw(created)
        return

    code = 0
    with following(api, out, verbose) as followed:
        for index, environment in enumerate(environments):
            body = {**base, "EnvironmentId": environment["Id"]}
            deployment = api.post(api.in_space("deployments"), body)
            code = followed.task(describe(deployment, environment), str(deployment["TaskId"]))
            if code != 0:
                rest = ", ".join(str(e["Name"]) for e in environments[index + 1 :])
                if rest:
                    click.echo(
                        f"not deployed to {rest}: the deployment to {environment['Name']} failed", err=True
                    )
                break
    raise click.exceptions.Exit(code)
