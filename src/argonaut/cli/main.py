"""Entry point of the ``argonaut`` command."""

from __future__ import annotations

import click

from argonaut import __version__
from argonaut.cli.agent_command import agent
from argonaut.cli.client import register as register_client
from argonaut.cli.server_command import server


@click.group()
@click.version_option(__version__, prog_name="argonaut")
def cli() -> None:
    """Argonaut: deployment orchestration server with workers."""


cli.add_command(server)
cli.add_command(agent)

register_client(cli)  # the REST API client verbs live beside the server command


def main() -> None:
    cli()
