"""``argonaut worker-pool``: the groups of workers that scripts are sent to."""

from __future__ import annotations

from typing import Any

import click

from argonaut.cli.client.http import ApiSession, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Default", field("IsDefault")),
    ("Sort order", field("SortOrder")),
    ("Description", field("Description")),
]


def all_pools(api: ApiSession) -> list[dict[str, Any]]:
    pools: list[dict[str, Any]] = api.get(api.in_space("workerpools/all"))
    return pools


def find_pool(api: ApiSession, text: str, pools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A pool by Id or case-insensitive name, so people can type the name they see in ``list``."""
    return find_one(
        pools if pools is not None else all_pools(api), text, "worker pool", f"space {api.space['Name']}"
    )


@click.group("worker-pool")
def worker_pool() -> None:
    """List, create and delete worker pools."""


@worker_pool.command("list")
@with_api()
def list_pools(api: ApiSession, out: Output) -> None:
    """List the worker pools of the space."""
    out.items(all_pools(api), COLUMNS, "There are no worker pools in this space.")


@worker_pool.command("create")
@click.argument("name")
@click.option("--description", "-d", metavar="TEXT", help="What the pool is for")
@click.option("--default", "is_default", is_flag=True, help="Make it the space's default pool")
@with_api()
def create_pool(name: str, description: str | None, is_default: bool, api: ApiSession, out: Output) -> None:
    """Create a worker pool named NAME."""
    body = {"Name": name, "Description": description, "IsDefault": is_default}
    out.item(api.post(api.in_space("workerpools"), body), COLUMNS)


@worker_pool.command("delete")
@click.argument("pool")
@with_api()
def delete_pool(pool: str, api: ApiSession, out: Output) -> None:
    """Delete the worker pool POOL (a name or an Id); it must be empty and not the default."""
    found = find_pool(api, pool)
    deleted = api.delete(api.in_space(f"workerpools/{found['Id']}")) or found
    out.done(deleted, f"Deleted worker pool {found['Name']} ({found['Id']})")
