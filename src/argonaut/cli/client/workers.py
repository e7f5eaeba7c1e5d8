"""``argonaut worker``: inspect, add and remove the machines that run scripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from argonaut.cli.client.http import ApiSession, CliError, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Cell, Column, Output, field
from argonaut.cli.client.pools import all_pools, find_pool
from argonaut.domain.endpoints import normalise_thumbprint


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


def _details(names: Mapping[str, str], item: Mapping[str, Any]) -> list[Column]:
    """The rows for one worker; what identifies its machine depends on how it is reached.

    An agent is pinned by its certificate thumbprint, an SSH machine by its host key fingerprint and
    reached with an account: showing an SSH worker's (absent) thumbprint hid the one value a person
    checks against ``ssh-keygen -lf`` on the host.
    """
    endpoint = item.get("Endpoint")
    style = endpoint.get("CommunicationStyle") if isinstance(endpoint, Mapping) else None
    identity: list[Column] = (
        [
            ("Host", field("Endpoint", "Host")),
            ("Port", field("Endpoint", "Port")),
            ("Host key fingerprint", field("Endpoint", "Fingerprint")),
            ("Account", field("Endpoint", "AccountId")),
        ]
        if style == "Ssh"
        else [("Thumbprint", field("Endpoint", "Thumbprint"))]
    )
    return [
        ("Id", field("Id")),
        ("Name", field("Name")),
        ("Pools", _pool_names(names)),
        ("Health", field("HealthStatus")),
        ("Status", field("StatusSummary")),
        ("Disabled", field("IsDisabled")),
        ("Communication style", field("Endpoint", "CommunicationStyle")),
        ("Uri", field("Endpoint", "Uri")),
        *identity,
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
    """List, show, add, check the health of, and delete workers."""


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
    current: dict[str, Any] = api.get(api.in_space(f"workers/{found['Id']}"))
    out.item(current, _details(_names(api, out), current))


@worker.command("delete")
@click.argument("worker_ref", metavar="WORKER")
@with_api()
def delete_worker(worker_ref: str, api: ApiSession, out: Output) -> None:
    """Delete a worker (WORKER is a name or an Id)."""
    found = find_worker(api, worker_ref)
    deleted = api.delete(api.in_space(f"workers/{found['Id']}")) or found
    out.done(deleted, f"Deleted worker {found['Name']} ({found['Id']})")


def thumbprint_param(_: click.Context, __: click.Parameter, value: str | tuple[str, ...] | None) -> Any:
    """Click callback: a certificate thumbprint, normalised (upper case, colons and spaces dropped).

    People paste thumbprints from many tools (``openssl`` prints ``AB:CD:…``), so every spelling of the
    same 40 hex digits is accepted, and anything else is refused before a request is made.
    """
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_thumbprint(v) for v in value)
    return _thumbprint(value)


def _thumbprint(text: str) -> str:
    normalised = normalise_thumbprint(text)
    if normalised is None:
        raise click.BadParameter(
            f"'{text}' is not a certificate thumbprint: 40 hex digits (colon-separated pairs are accepted)"
        )
    return normalised


def _add_worker(
    api: ApiSession,
    out: Output,
    name: str,
    endpoint: dict[str, Any],
    pools: tuple[str, ...],
    policy: str | None,
) -> None:
    """POST the worker with its pools and policy resolved by name or Id, then show what the server stored."""
    known = all_pools(api)
    pool_ids = list(dict.fromkeys(str(find_pool(api, p, known)["Id"]) for p in pools))
    body: dict[str, Any] = {"Name": name, "WorkerPoolIds": pool_ids, "Endpoint": endpoint}
    if policy is not None:
        policies: list[dict[str, Any]] = api.get(api.in_space("machinepolicies/all"))
        body["MachinePolicyId"] = find_one(policies, policy, "machine policy", f"space {api.space['Name']}")[
            "Id"
        ]
    created: dict[str, Any] = api.post(api.in_space("workers"), body)
    names = {} if out.as_json else {str(p["Id"]): str(p["Name"]) for p in known}
    out.item(created, _details(names, created))


_name_option = click.option("--name", required=True, metavar="NAME", help="Name of the new worker")
_thumbprint_option = click.option(
    "--thumbprint",
    required=True,
    metavar="THUMBPRINT",
    callback=thumbprint_param,
    help="The agent certificate's SHA-1 thumbprint ('argonaut agent show-thumbprint' on the agent)",
)
_pool_option = click.option(
    "--pool",
    "pools",
    required=True,
    multiple=True,
    metavar="NAME-or-ID",
    help="Worker pool to join (repeatable)",
)
_policy_option = click.option(
    "--policy", metavar="NAME-or-ID", help="Machine policy [default: the space's default policy]"
)


@worker.command("add-listening")
@_name_option
@click.option(
    "--uri", required=True, metavar="URL", help="Where the agent listens, e.g. https://web01:10933/"
)
@_thumbprint_option
@_pool_option
@_policy_option
@with_api()
def add_listening(
    name: str,
    uri: str,
    thumbprint: str,
    pools: tuple[str, ...],
    policy: str | None,
    api: ApiSession,
    out: Output,
) -> None:
    """Add a listening agent (TentaclePassive) the server connects to.

    The agent must trust this server's certificate ('argonaut agent configure --trust ...').
    """
    endpoint = {"CommunicationStyle": "TentaclePassive", "Uri": uri, "Thumbprint": thumbprint}
    _add_worker(api, out, name, endpoint, pools, policy)


@worker.command("add-polling")
@_name_option
@click.option(
    "--subscription",
    required=True,
    metavar="poll://ID/",
    help="The agent's subscription id, e.g. poll://abcdefghijklmnopqrst/",
)
@_thumbprint_option
@_pool_option
@_policy_option
@with_api()
def add_polling(
    name: str,
    subscription: str,
    thumbprint: str,
    pools: tuple[str, ...],
    policy: str | None,
    api: ApiSession,
    out: Output,
) -> None:
    """Add a polling agent (TentacleActive) that connects to the server and asks for work."""
    endpoint = {"CommunicationStyle": "TentacleActive", "Uri": subscription, "Thumbprint": thumbprint}
    _add_worker(api, out, name, endpoint, pools, policy)


@worker.command("add-ssh")
@_name_option
@click.option("--host", required=True, metavar="HOST", help="The machine's host name or address")
@click.option("--port", type=click.IntRange(1, 65535), default=22, show_default=True, help="Its SSH port")
@click.option("--account", required=True, metavar="NAME-or-ID", help="The account to log in with")
@click.option(
    "--fingerprint",
    metavar="SHA256:…",
    help="The host key fingerprint; without it the server discovers the key and shows it for you to confirm",
)
@click.option("--yes", is_flag=True, help="Accept a discovered fingerprint without asking")
@_pool_option
@_policy_option
@with_api()
def add_ssh(
    name: str,
    host: str,
    port: int,
    account: str,
    fingerprint: str | None,
    yes: bool,
    pools: tuple[str, ...],
    policy: str | None,
    api: ApiSession,
    out: Output,
) -> None:
    """Add an SSH machine as a worker: no agent to install; the server logs in with the account."""
    found = find_one(api.get(api.in_space("accounts/all")), account, "account")
    if fingerprint is None:
        discovered = api.get(api.in_space("workers/discover"), {"host": host, "port": port, "type": "Ssh"})
        fingerprint = str(discovered["Endpoint"]["Fingerprint"])
        click.echo(f"{host}:{port} presents host key {fingerprint}", err=True)
        if not yes and not click.confirm("Trust this host key?", err=True):
            raise CliError("not added: the host key was not confirmed")
    endpoint = {
        "CommunicationStyle": "Ssh",
        "Host": host,
        "Port": port,
        "Fingerprint": fingerprint,
        "AccountId": found["Id"],
    }
    _add_worker(api, out, name, endpoint, pools, policy)
