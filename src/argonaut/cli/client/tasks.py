"""``argonaut task``: list, inspect, read the log of, and cancel server tasks."""

from __future__ import annotations

from typing import Any

import click

from argonaut.cli.client.follow import LogPrinter, follow, report_end
from argonaut.cli.client.http import ApiSession
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

STATES = ("Queued", "Executing", "Cancelling", "Success", "Failed", "Canceled", "TimedOut")
COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Description", field("Description")),
    ("State", field("State")),
    ("Queued", field("QueueTime")),
    ("Duration", field("Duration")),
    ("Error", field("ErrorMessage")),
    ("Waiting because", field("PendingReason")),
]
DETAILS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Description", field("Description")),
    ("State", field("State")),
    ("Waiting because", field("PendingReason")),
    ("Queued", field("QueueTime")),
    ("Started", field("StartTime")),
    ("Completed", field("CompletedTime")),
    ("Duration", field("Duration")),
    ("Error", field("ErrorMessage")),
    ("Server node", field("ServerNode")),
    ("Space", field("SpaceId")),
]


def task_id(text: str) -> str:
    """Accept ``7`` as well as ``ServerTasks-7``: the number is what people read off a table."""
    text = text.strip()
    return f"ServerTasks-{text}" if text.isdigit() else text


@click.group("task")
def task() -> None:
    """List, show and cancel server tasks, and print their log ('log --follow' watches it live)."""


@task.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES, case_sensitive=False),
    help="Only tasks in this state (repeatable)",
)
@click.option("--take", type=click.IntRange(1, 10_000), default=30, show_default=True, help="How many tasks")
@click.option("--skip", type=click.IntRange(0), default=0, help="Skip this many of the newest tasks")
@with_api()
def list_tasks(states: tuple[str, ...], take: int, skip: int, api: ApiSession, out: Output) -> None:
    """List the tasks of the space, newest first."""
    params: dict[str, Any] = {"take": take, "skip": skip}
    if states:
        params["states"] = ",".join(states)
    page = api.get(api.in_space("tasks"), params)
    out.items(page.get("Items") or [], COLUMNS, "No tasks match.")


@task.command("show")
@click.argument("task_ref", metavar="ID")
@with_api(space=False)
def show_task(task_ref: str, api: ApiSession, out: Output) -> None:
    """Show one task: its state, timings and error."""
    out.item(api.get(f"/api/tasks/{task_id(task_ref)}"), DETAILS)


@task.command("log")
@click.argument("task_ref", metavar="ID")
@click.option(
    "--follow",
    "-f",
    "follow_",
    is_flag=True,
    help="Print the log live until the task ends; exit 0 only on Success",
)
@click.option("--verbose", "-v", is_flag=True, help="With --follow, also print Verbose lines")
@with_api(space=False)
def task_log(task_ref: str, follow_: bool, verbose: bool, api: ApiSession, out: Output) -> None:
    """Print the log of a task as plain text.

    With --follow, lines are printed as the task writes them (Error and Fatal lines on stderr), then a
    one-line summary; Ctrl-C stops watching without cancelling the task. --json (with --follow only)
    prints the log on stderr and the finished task resource on stdout.
    """
    tid = task_id(task_ref)
    if not follow_:
        click.echo(api.get_text(f"/api/tasks/{tid}/raw"), nl=False)
        return
    finished = follow(api, tid, LogPrinter(verbose=verbose, to_stderr=out.as_json), cancel_on_interrupt=False)
    raise click.exceptions.Exit(report_end(finished, out))


@task.command("cancel")
@click.argument("task_ref", metavar="ID")
@with_api(space=False)
def cancel_task(task_ref: str, api: ApiSession, out: Output) -> None:
    """Ask the server to cancel a queued or running task; prints its new state."""
    changed: dict[str, Any] = api.post(f"/api/tasks/{task_id(task_ref)}/cancel")
    out.done(changed, f"{changed.get('Id')} {changed.get('State')}")
