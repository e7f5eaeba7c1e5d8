"""``argonaut project``: what gets deployed; a project owns its deployment process, variables and releases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from argonaut.cli.client.http import ApiSession, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field, named


def _columns(names: Mapping[str, str]) -> list[Column]:
    return [
        ("Id", field("Id")),
        ("Name", field("Name")),
        ("Group", named("ProjectGroupId", names)),
        ("Lifecycle", named("LifecycleId", names)),
        ("Disabled", field("IsDisabled")),
        ("Description", field("Description")),
    ]


def _details(names: Mapping[str, str]) -> list[Column]:
    return [
        *_columns(names),
        ("Deployment process", field("DeploymentProcessId")),
        ("Variable set", field("VariableSetId")),
    ]


def all_projects(api: ApiSession) -> list[dict[str, Any]]:
    projects: list[dict[str, Any]] = api.get(api.in_space("projects/all"))
    return projects


def find_project(api: ApiSession, text: str, projects: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A project by Id or case-insensitive name, so ``--project web`` finds the project ``Web``."""
    known = projects if projects is not None else all_projects(api)
    return find_one(known, text, "project", f"space {api.space['Name']}")


def project_items(api: ApiSession, project: Mapping[str, Any], collection: str) -> list[dict[str, Any]]:
    """Every page of one of the project's own collections (``channels``, ``runbooks``)."""
    items: list[dict[str, Any]] = api.get_all_pages(api.in_space(f"projects/{project['Id']}/{collection}"))
    return items


def _groups_and_lifecycles(api: ApiSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    groups: list[dict[str, Any]] = api.get(api.in_space("projectgroups/all"))
    lifecycles: list[dict[str, Any]] = api.get(api.in_space("lifecycles/all"))
    return groups, lifecycles


def _names(api: ApiSession, out: Output) -> dict[str, str]:
    """Ids to names for the tables; JSON carries the API's ids untouched, so it skips the two requests."""
    if out.as_json:
        return {}
    groups, lifecycles = _groups_and_lifecycles(api)
    return {str(item["Id"]): str(item["Name"]) for item in [*groups, *lifecycles]}


project_option = click.option(
    "--project", "project_ref", required=True, metavar="NAME-or-ID", help="The project"
)


@click.group("project")
def project() -> None:
    """List and create projects, and edit their deployment process step by step."""


@project.command("list")
@with_api()
def list_projects(api: ApiSession, out: Output) -> None:
    """List the projects of the space."""
    out.items(all_projects(api), _columns(_names(api, out)), "There are no projects in this space.")


@project.command("create")
@click.argument("name")
@click.option("--description", "-d", metavar="TEXT", help="What the project deploys")
@click.option(
    "--group", metavar="NAME-or-ID", help="Project group [default: the space's Default Project Group]"
)
@click.option(
    "--lifecycle", metavar="NAME-or-ID", help="Lifecycle of its releases [default: the Default Lifecycle]"
)
@with_api()
def create_project(
    name: str,
    description: str | None,
    group: str | None,
    lifecycle: str | None,
    api: ApiSession,
    out: Output,
) -> None:
    """Create a project named NAME: the server adds an empty deployment process, variables and a channel."""
    body: dict[str, Any] = {"Name": name, "Description": description}
    where = f"space {api.space['Name']}"
    groups: list[dict[str, Any]] = []
    lifecycles: list[dict[str, Any]] = []
    if group is not None or lifecycle is not None or not out.as_json:
        groups, lifecycles = _groups_and_lifecycles(api)
    # Sent only when chosen: the server picks the space's defaults itself, and knows them better.
    if group is not None:
        body["ProjectGroupId"] = find_one(groups, group, "project group", where)["Id"]
    if lifecycle is not None:
        body["LifecycleId"] = find_one(lifecycles, lifecycle, "lifecycle", where)["Id"]
    created: dict[str, Any] = api.post(api.in_space("projects"), body)
    names = {str(item["Id"]): str(item["Name"]) for item in [*groups, *lifecycles]}
    out.item(created, _details(names))
