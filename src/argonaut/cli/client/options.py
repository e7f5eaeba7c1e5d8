"""The connection options every client verb shares, and the session they build.

They sit on each verb (``argonaut worker list --server URL --json``) rather than on the top-level group,
so a user can append them where they think of them and CI can set them once through the environment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import click
import httpx

from argonaut.cli.client.credentials import stored_key
from argonaut.cli.client.http import DEFAULT_SERVER, ApiSession, CliError
from argonaut.cli.client.output import Output

Verb = Callable[..., Any]


def options_decorator(options: Sequence[Callable[[Verb], Verb]]) -> Callable[[Verb], Verb]:
    """One decorator adding ``options`` to a verb, in the order given (the order ``--help`` shows)."""

    def decorate(verb: Verb) -> Verb:
        for option in reversed(options):
            verb = option(verb)
        return verb

    return decorate


def _server_url(_: click.Context, __: click.Parameter, value: str) -> str:
    url = value.strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise click.BadParameter(f"'{value}' is not a URL like {DEFAULT_SERVER}")
    return url


def with_api(space: bool = True) -> Callable[[Verb], Verb]:
    """Add ``--server/--api-key/--json`` (and ``--space`` when the verb is space-scoped) to a verb.

    The verb receives ``api`` (an :class:`ApiSession`, closed afterwards) and ``out`` (an :class:`Output`).
    """

    def decorate(verb: Verb) -> Verb:
        @functools.wraps(verb)
        def run(*args: Any, server: str, api_key: str | None, as_json: bool, **kwargs: Any) -> Any:
            api = ApiSession(server, api_key or stored_key(server), kwargs.pop("space", None))
            try:
                return verb(*args, api=api, out=Output(as_json), **kwargs)
            except httpx.HTTPError as exc:  # a safety net: ApiSession already translates what it sends
                raise CliError(f"talking to the Argonaut server at {api.server} failed: {exc}") from None
            finally:
                api.close()

        options = [
            click.option(
                "--server",
                envvar="ARGONAUT_SERVER",
                default=DEFAULT_SERVER,
                show_default=True,
                metavar="URL",
                callback=_server_url,
                help="Argonaut server URL [env: ARGONAUT_SERVER]",
            ),
            click.option(
                "--api-key",
                envvar="ARGONAUT_API_KEY",
                metavar="KEY",
                help="API key, sent as X-Octopus-ApiKey [env: ARGONAUT_API_KEY; default: the key "
                "`argonaut login` stored for --server]",
            ),
            click.option(
                "--json", "as_json", is_flag=True, help="Print the API resources as JSON, for scripts"
            ),
        ]
        if space:
            options.append(
                click.option(
                    "--space",
                    envvar="ARGONAUT_SPACE",
                    metavar="NAME-or-ID",
                    help="Space to act in [default: the default space; env: ARGONAUT_SPACE]",
                )
            )
        return options_decorator(options)(run)

    return decorate
