"""Entry point of the ``argonaut`` command."""

from __future__ import annotations

import click

from argonaut import __version__
from argonaut.cli.server_command import server


@click.group()
@click.version_option(__version__, prog_name="argonaut")
def cli() -> None:
    """Argonaut: deployment orchestration server with workers."""


cli.add_command(server)

try:  # the client verbs live beside the server command
    from argonaut.cli.client import register as _register_client
except ImportError:  # pragma: no cover - while the client module is being written
    _register_client = None
if _register_client is not None:
    _register_client(cli)


def main() -> None:
    cli()
