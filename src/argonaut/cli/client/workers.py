"""``argonaut worker``: inspect and remove the machines that run scripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from argonaut.cli.client.http import ApiSession, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Cell, Column, Output, field
from argonaut.cli.client.pools import all_pools, find_pool


def _pool_names(names: Mapping[str, str]) -> Cell:
    """Pool names instead of ids in tables: people recognise ``Linux builders``, not ``WorkerPools-4``."""

    def read(item: Mapping[str, Any]) -> object:
        return [names.get(str(pid), str(pid)) for pid in item.get("WorkerPoolIds") or []]

    return read


def _columns(names: Mapping[str, str]) -> list[Column]:
    return [
        ("Id", field("Id")),
        ("Name", field("Name")),
        ("Pools", _pool_names(names)),
        ("Health", field("HealthStatus")),
        ("Disabled", field("IsDisabled")),
        ("Style", field("Endpoint", "CommunicationStyle")),
        ("Uri", field("Endpoint", "Uri")),
        ("Status", field("StatusSummary")),
    ]


def _details(names: Mapping[str, str]) -> list[Column]:
    return [
        ("Id", field("Id")),
        ("Name", field("Name")),
        ("Pools", _pool_names(names)),
        ("Health", field("HealthStatus")),
        ("Status", field("StatusSummary")),
        ("Disabled", field("IsDisabled")),
        ("Communication style", field("Endpoint", "CommunicationStyle")),
        ("Uri", field("Endpoint", "Uri")),
        ("Thumbprint", field("Endpoint", "Thumbprint")),
        ("Machine policy", field("MachinePolicyId")),
        ("Operating system", field("OperatingSystem")),
    ]


def all_workers(api: ApiSession) -> list[dict[str, Any]]:
    workers: list[dict[str, Any]] = api.get(api.in_space("workers/all"))
    return workers


def find_worker(api: ApiSession, text: str, workers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return find_one(
        workers if workers is not None else all_workers(api), text, "worker", f"space {api.space['Name']}"
    )


def _names(api: ApiSession, out: Output) -> dict[str, str]:
    return {} if out.as_json else {str(p["Id"]): str(p["Name"]) for p in all_pools(api)}


@click.group("worker")
def worker() -> None:
    """List, show and delete workers."""


@worker.command("list")
@click.option("--pool", metavar="NAME-or-ID", help="Only the workers of this worker pool")
@with_api()
def list_workers(pool: str | None, api: ApiSession, out: Output) -> None:
    """List the workers of the space, or of one pool."""
    if pool is None:
        workers = all_workers(api)
        empty = "There are no workers in this space."
    else:
        found = find_pool(api, pool)
        workers = api.get_all_pages(api.in_space(f"workerpools/{found['Id']}/workers"))
        empty = f"There are no workers in the pool {found['Name']}."
    out.items(workers, _columns(_names(api, out)), empty)


@worker.command("show")
@click.argument("worker_ref", metavar="WORKER")
@with_api()
def show_worker(worker_ref: str, api: ApiSession, out: Output) -> None:
    """Show one worker (WORKER is a name or an Id)."""
    found = find_worker(api, worker_ref)
    out.item(api.get(api.in_space(f"workers/{found['Id']}")), _details(_names(api, out)))


@worker.command("delete")
@click.argument("worker_ref", metavar="WORKER")
@with_api()
def delete_worker(worker_ref: str, api: ApiSession, out: Output) -> None:
    """Delete a worker (WORKER is a name or an Id)."""
    found = find_worker(api, worker_ref)
    deleted = api.delete(api.in_space(f"workers/{found['Id']}")) or found
    out.done(deleted, f"Deleted worker {found['Name']} ({found['Id']})")
