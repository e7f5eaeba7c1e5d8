"""``argonaut user``: the people and service accounts who may use the server."""

from __future__ import annotations

import sys
from typing import Any

import click

from argonaut.cli.client.http import ApiSession, CliError
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Username", field("Username")),
    ("Display name", field("DisplayName")),
    ("Email", field("EmailAddress")),
    ("Active", field("IsActive")),
    ("Service", field("IsService")),
]


def all_users(api: ApiSession) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = api.get_all_pages("/api/users")
    return users


def find_user(api: ApiSession, text: str, users: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A user by Id or user name, case-insensitively."""
    wanted = text.strip().lower()
    for user in users if users is not None else all_users(api):
        if wanted in (str(user.get("Id", "")).lower(), str(user.get("Username", "")).lower()):
            return user
    raise CliError(f"there is no user '{text}'")


@click.group("user")
def user() -> None:
    """List, create and show users."""


@user.command("list")
@with_api(space=False)
def list_users(api: ApiSession, out: Output) -> None:
    """List the users of the server."""
    out.items(all_users(api), COLUMNS, "There are no users.")


@user.command("show")
@click.argument("user_ref", metavar="USER")
@with_api(space=False)
def show_user(user_ref: str, api: ApiSession, out: Output) -> None:
    """Show one user (a user name or an Id)."""
    out.item(find_user(api, user_ref), COLUMNS)


@user.command("create")
@click.argument("username")
@click.option("--display-name", metavar="TEXT", help="The name people see (default: the user name)")
@click.option("--email", metavar="ADDRESS", help="Email address")
@click.option("--service", is_flag=True, help="A service account: no password, signs in with API keys")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin")
@with_api(space=False)
def create_user(
    username: str,
    display_name: str | None,
    email: str | None,
    service: bool,
    password_stdin: bool,
    api: ApiSession,
    out: Output,
) -> None:
    """Create a user named USERNAME (asks for a password unless --service)."""
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not service:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    body = {
        "Username": username,
        "DisplayName": display_name or username,
        "EmailAddress": email,
        "IsService": service,
        "Password": password,
    }
    created: dict[str, Any] = api.post("/api/users", body)
    out.item(created, COLUMNS)
