"""``argonaut environment``: the places releases are deployed to, in the order a lifecycle promotes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from argonaut.cli.client.http import ApiSession, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Sort order", field("SortOrder")),
    ("Guided failure", field("UseGuidedFailure")),
    ("Description", field("Description")),
]


def all_environments(api: ApiSession) -> list[dict[str, Any]]:
    environments: list[dict[str, Any]] = api.get(api.in_space("environments/all"))
    return environments


def find_environment(
    api: ApiSession, text: str, environments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An environment by Id or case-insensitive name: people and pipelines type ``Production``, not an Id."""
    known = environments if environments is not None else all_environments(api)
    return find_one(known, text, "environment", f"space {api.space['Name']}")


def find_environments(api: ApiSession, texts: Sequence[str]) -> list[dict[str, Any]]:
    """The environments named (by Id or name), each once, in the order first given."""
    known = all_environments(api)
    return list({e["Id"]: e for e in (find_environment(api, t, known) for t in texts)}.values())


@click.group("environment")
def environment() -> None:
    """List, create and delete environments."""


@environment.command("list")
@with_api()
def list_environments(api: ApiSession, out: Output) -> None:
    """List the environments of the space in their sort order (the Default Lifecycle's order)."""
    out.items(all_environments(api), COLUMNS, "There are no environments in this space.")


@environment.command("create")
@click.argument("name")
@click.option("--description", "-d", metavar="TEXT", help="What the environment is for")
@with_api()
def create_environment(name: str, description: str | None, api: ApiSession, out: Output) -> None:
    """Create an environment named NAME, last in the sort order."""
    created: dict[str, Any] = api.post(
        api.in_space("environments"), {"Name": name, "Description": description}
    )
    out.item(created, COLUMNS)


@environment.command("delete")
@click.argument("environment_ref", metavar="ENVIRONMENT")
@with_api()
def delete_environment(environment_ref: str, api: ApiSession, out: Output) -> None:
    """Delete an environment (a name or an Id); the server refuses while targets or lifecycles use it."""
    found = find_environment(api, environment_ref)
    deleted = api.delete(api.in_space(f"environments/{found['Id']}")) or found
    out.done(deleted, f"Deleted environment {found['Name']} ({found['Id']})")
