"""``argonaut login``: sign in once with a user name and password, and keep an API key, never the
password, for the other verbs.

It signs in through ``POST /api/users/login`` (a session cookie and its CSRF token), creates an API key
for the user through ``POST /api/users/{id}/apikeys`` with that session (the CSRF token in
``X-Octopus-Csrf-Token``), ends the session, and stores the key in the credentials file
(``credentials.py``) under the server's URL.
"""

from __future__ import annotations

import socket
import sys

import click
import httpx

from argonaut.cli.client.credentials import store_key
from argonaut.cli.client.http import DEFAULT_SERVER, CliError, describe_error
from argonaut.cli.client.options import _server_url

SESSION_COOKIE = "OctopusIdentificationToken"
CSRF_COOKIE = "Octopus-Csrf-Token"
CSRF_HEADER = "X-Octopus-Csrf-Token"


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise CliError(describe_error(response))
    return response


@click.command("login")
@click.option(
    "--server",
    envvar="ARGONAUT_SERVER",
    default=DEFAULT_SERVER,
    show_default=True,
    metavar="URL",
    callback=_server_url,
    help="Argonaut server URL [env: ARGONAUT_SERVER]",
)
@click.option("--username", "-u", required=True, metavar="NAME", help="Your user name on the server")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin")
@click.option("--purpose", metavar="TEXT", help="What the key is for, as the server lists it")
def login(server: str, username: str, password_stdin: bool, purpose: str | None) -> None:
    """Sign in to a server and store an API key for the other verbs (the password is never stored)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True)
    headers = {"Accept": "application/json", "User-Agent": "argonaut-cli"}
    try:
        with httpx.Client(
            base_url=server, headers=headers, timeout=httpx.Timeout(30.0, connect=10.0)
        ) as client:
            signed_in = _checked(
                client.post("/api/users/login", json={"Username": username, "Password": password})
            )
            user = signed_in.json()
            session, csrf = signed_in.cookies.get(SESSION_COOKIE), signed_in.cookies.get(CSRF_COOKIE)
            if not session or not csrf:
                raise CliError(f"the server at {server} answered the login without a session cookie")
            with_session = {"Cookie": f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}", CSRF_HEADER: csrf}
            made = _checked(
                client.post(
                    f"/api/users/{user['Id']}/apikeys",
                    json={"Purpose": purpose or f"argonaut CLI on {socket.gethostname()}"},
                    headers=with_session,
                )
            ).json()
            client.post("/api/users/logout", headers=with_session)  # the key is what lasts; best effort
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach the Argonaut server at {server}: {exc}") from None
    path = store_key(server, str(user["Username"]), str(user["Id"]), str(made["Id"]), str(made["ApiKey"]))
    click.echo(f"Signed in to {server} as {user['Username']}; API key {made['Id']} stored in {path}")
