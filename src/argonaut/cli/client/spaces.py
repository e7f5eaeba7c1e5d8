"""``argonaut space``: list and create spaces, the hard-walled tenants everything else lives in."""

from __future__ import annotations

from typing import Any

import click

from argonaut.cli.client.http import ApiSession
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Default", field("IsDefault")),
    ("Queue stopped", field("TaskQueueStopped")),
    ("Description", field("Description")),
]


@click.group("space")
def space() -> None:
    """List and create spaces."""


@space.command("list")
@with_api(space=False)
def list_spaces(api: ApiSession, out: Output) -> None:
    """List all spaces."""
    out.items(api.get("/api/spaces/all"), COLUMNS, "There are no spaces.")


@space.command("create")
@click.argument("name")
@click.option("--description", "-d", metavar="TEXT", help="What the space is for")
@with_api(space=False)
def create_space(name: str, description: str | None, api: ApiSession, out: Output) -> None:
    """Create a space named NAME (with its own default worker pool and machine policy)."""
    created: dict[str, Any] = api.post("/api/spaces", {"Name": name, "Description": description})
    out.item(created, COLUMNS)
