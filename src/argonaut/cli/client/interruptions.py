"""``argonaut interruption``: the questions running deployments and runbook runs wait on a person for.

A manual intervention step asks to proceed or abort; guided failure asks what to do about a failed
action (fail, retry, ignore, exclude the target). Answering takes responsibility for the interruption
first, as the server requires, then submits the answer; the server decides which answers the form
offers, so a refused one is its 400, shown as one ``error:`` line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from argonaut.cli.client.http import ApiSession, CliError
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field

MANUAL = "ManualIntervention"
GUIDED_FAILURE = "GuidedFailure"
GUIDANCE = {"fail": "Fail", "retry": "Retry", "ignore": "Ignore", "exclude": "Exclude"}


def _responsible(item: Mapping[str, Any]) -> object:
    user = item.get("ResponsibleUserId")
    if user is None:
        return None
    return f"{user} (you)" if item.get("HasResponsibility") else user


def _columns(with_pending: bool) -> list[Column]:
    columns: list[Column] = [
        ("Id", field("Id")),
        ("Type", field("Type")),
        ("Title", field("Title")),
        ("Task", field("TaskId")),
        ("Created", field("Created")),
        ("Responsible", _responsible),
    ]
    return [*columns, ("Pending", field("IsPending"))] if with_pending else columns


def _path(api: ApiSession, interruption_id: str, rest: str = "") -> str:
    return api.in_space(f"interruptions/{interruption_id.strip()}{rest}")


def _answer(
    api: ApiSession, interruption: Mapping[str, Any], field: str, value: str, notes: str | None
) -> dict[str, Any]:
    """Take responsibility (from whoever had it), then submit: the server accepts answers only from the
    responsible user."""
    interruption_id = str(interruption["Id"])
    api.put(_path(api, interruption_id, "/responsible"))
    body = {field: value} if notes is None else {field: value, "Notes": notes}
    submitted: dict[str, Any] = api.post(_path(api, interruption_id, "/submit"), body)
    return submitted


def _read(api: ApiSession, interruption_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(_path(api, interruption_id))
    return found


def _described(interruption: Mapping[str, Any]) -> str:
    return f"{interruption.get('Id')} ({interruption.get('Title')}, task {interruption.get('TaskId')})"


@click.group("interruption")
def interruption() -> None:
    """List, approve, abort or guide the interruptions that tasks wait on."""


@interruption.command("list")
@click.option(
    "--regarding",
    metavar="ID",
    help="Only those about this: a task, deployment, runbook run, project or environment Id",
)
@click.option("--all", "everything", is_flag=True, help="Include the interruptions already answered")
@with_api()
def list_interruptions(regarding: str | None, everything: bool, api: ApiSession, out: Output) -> None:
    """List the interruptions waiting for an answer, newest first (with --all, answered ones too)."""
    params: dict[str, str] = {}
    if regarding is not None:
        params["regarding"] = regarding.strip()
    if not everything:
        params["pendingOnly"] = "true"
    items = api.get_all_pages(api.in_space("interruptions"), params)
    empty = "There are no interruptions." if everything else "No interruption is waiting for an answer."
    out.items(items, _columns(everything), empty)


_notes_option = click.option("--notes", metavar="TEXT", help="Why: later steps can read the notes")
_id_argument = click.argument("interruption_id", metavar="ID")


@interruption.command("approve")
@_id_argument
@_notes_option
@with_api()
def approve(interruption_id: str, notes: str | None, api: ApiSession, out: Output) -> None:
    """Answer a manual intervention with Proceed: its deployment or run goes on.

    Takes responsibility for the interruption first, from whoever had it.
    """
    found = _read(api, interruption_id)
    if found.get("Type") == GUIDED_FAILURE:
        raise CliError(
            f"{found.get('Id')} is a guided failure, not a manual intervention: answer it with "
            f"'argonaut interruption guide {found.get('Id')} --fail|--retry|--ignore|--exclude'"
        )
    answered = _answer(api, found, "Result", "Proceed", notes)
    out.done(answered, f"Approved {_described(found)}: the task goes on")


@interruption.command("abort")
@_id_argument
@_notes_option
@with_api()
def abort(interruption_id: str, notes: str | None, api: ApiSession, out: Output) -> None:
    """Answer a manual intervention with Abort: its deployment or run fails.

    A guided failure is answered with Fail, which ends its task the same way. Takes responsibility for
    the interruption first, from whoever had it.
    """
    found = _read(api, interruption_id)
    if found.get("Type") == GUIDED_FAILURE:
        answered = _answer(api, found, "Guidance", "Fail", notes)
    else:
        answered = _answer(api, found, "Result", "Abort", notes)
    out.done(answered, f"Aborted {_described(found)}: the task fails")


@interruption.command("guide")
@_id_argument
@click.option("--fail", "guidance", flag_value="fail", help="Fail the step (and so the task)")
@click.option("--retry", "guidance", flag_value="retry", help="Run the failed action again")
@click.option("--ignore", "guidance", flag_value="ignore", help="Carry on as if the action had succeeded")
@click.option(
    "--exclude", "guidance", flag_value="exclude", help="Leave the failed target out of the rest of the task"
)
@_notes_option
@with_api()
def guide(
    interruption_id: str, guidance: str | None, notes: str | None, api: ApiSession, out: Output
) -> None:
    """Answer a guided failure: fail, retry, ignore, or exclude the target.

    The server offers only some of them: a required step cannot be ignored or excluded, and only a
    deployment target can be excluded. Takes responsibility for the interruption first.
    """
    if guidance is None:
        raise click.UsageError("choose what to do: --fail, --retry, --ignore or --exclude")
    found = _read(api, interruption_id)
    if found.get("Type") == MANUAL:
        raise CliError(
            f"{found.get('Id')} is a manual intervention, not a guided failure: answer it with "
            f"'argonaut interruption approve {found.get('Id')}' or 'argonaut interruption abort "
            f"{found.get('Id')}'"
        )
    chosen = GUIDANCE[guidance]
    answered = _answer(api, found, "Guidance", chosen, notes)
    out.done(answered, f"Answered {_described(found)} with {chosen}")
