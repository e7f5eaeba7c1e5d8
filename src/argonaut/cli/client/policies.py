"""``argonaut machine-policy``: the health-check and connectivity rules workers follow."""

from __future__ import annotations

import click

from argonaut.cli.client.http import ApiSession
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Default", field("IsDefault")),
    ("Health check interval", field("MachineHealthCheckPolicy", "HealthCheckInterval")),
]


@click.group("machine-policy")
def machine_policy() -> None:
    """List machine policies."""


@machine_policy.command("list")
@with_api()
def list_policies(api: ApiSession, out: Output) -> None:
    """List the machine policies of the space."""
    out.items(
        api.get(api.in_space("machinepolicies/all")), COLUMNS, "There are no machine policies in this space."
    )
