"""``argonaut events``: the audit trail, newest first."""

from __future__ import annotations

from typing import Any

import click

from argonaut.cli.client.http import ApiSession, Params, pick_space
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

COLUMNS: list[Column] = [
    ("Occurred", field("Occurred")),
    ("Category", field("Category")),
    ("User", field("Username")),
    ("Message", field("Message")),
]


@click.command("events")
@click.option("--regarding", multiple=True, metavar="ID", help="Only events about this document id")
@click.option("--user", "users", multiple=True, metavar="NAME", help="Only events by this user (name or Id)")
@click.option("--category", "categories", multiple=True, metavar="C", help="Only this category (Created…)")
@click.option("--from", "from_", metavar="WHEN", help="Only events at or after this ISO 8601 time")
@click.option("--to", metavar="WHEN", help="Only events at or before this ISO 8601 time")
@click.option("--take", default=30, show_default=True, type=click.IntRange(1, 10_000), help="How many")
@click.option(
    "--space", "space_ref", metavar="NAME-or-ID", help="Only the events of this space (default: all)"
)
@with_api(space=False)
def events(
    regarding: tuple[str, ...],
    users: tuple[str, ...],
    categories: tuple[str, ...],
    from_: str | None,
    to: str | None,
    take: int,
    space_ref: str | None,
    api: ApiSession,
    out: Output,
) -> None:
    """Show the audit trail, newest first: who created, changed, deleted, ran or cancelled what."""
    params: dict[str, str | int | list[str]] = {"take": take}
    for name, values in (("regarding", regarding), ("users", users), ("eventCategories", categories)):
        if values:
            params[name] = ",".join(values)
    if from_:
        params["from"] = from_
    if to:
        params["to"] = to
    path = "/api/events"
    if space_ref:
        path = f"/api/{pick_space(api.get('/api/spaces/all'), space_ref)['Id']}/events"
    query: Params = params
    page: dict[str, Any] = api.get(path, query)
    out.items(list(page.get("Items") or []), COLUMNS, "There are no events.")
