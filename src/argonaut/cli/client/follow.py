"""Following a task live over ``GET /api/tasks/{id}/stream``, the way a person watches a script run.

The stream is newline-delimited JSON: ``{"Type": "Log", "Number": n, ...}`` per line, then one
``{"Type": "Task", "Task": {...}}`` when the task has finished. Lines are numbered, so after a dropped
connection the follower asks again from ``since = last Number + 1``: nothing is lost, nothing repeated.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import click

from argonaut.cli.client.http import ApiSession, CliError, StreamBroken
from argonaut.cli.client.output import Output

MAX_RETRIES = 8  # reconnects in a row without progress (about 20 s of back-off in all)
LONG_LIVED_S = 30.0  # a stream that stayed open this long was working; its end is a new outage
_STDERR_CATEGORIES = frozenset({"Error", "Fatal"})
_COLOURS = {
    "Error": "red",
    "Fatal": "red",
    "Warning": "yellow",
    "Highlight": "cyan",
    "Verbose": "bright_black",
}
FINAL_STATES = frozenset({"Success", "Failed", "Canceled", "TimedOut"})


@dataclass
class LogPrinter:
    """Prints log lines as they arrive: Error and Fatal lines to stderr, the rest to stdout.

    With ``to_stderr`` (the ``--json`` mode) every line goes to stderr, keeping stdout for the resource.
    Colours appear only on a terminal; click strips them when the output is piped.
    """

    verbose: bool = False
    to_stderr: bool = False

    def __call__(self, event: Mapping[str, Any]) -> None:
        category = str(event.get("Category") or "Info")
        if category == "Verbose" and not self.verbose:
            return
        message = str(event.get("MessageText") or "")
        colour = _COLOURS.get(category)
        shown = click.style(message, fg=colour) if colour else message
        click.echo(shown, err=self.to_stderr or category in _STDERR_CATEGORIES)


@dataclass
class Follower:
    """Reads the stream until the final task arrives, reconnecting from ``since`` when it breaks.

    Retries are bounded per outage, not per task: a received line, or a connection that stayed up for
    a while (a proxy cutting idle streams), starts the count again, so long quiet tasks are followed.
    """

    api: ApiSession
    task_id: str
    printer: LogPrinter
    since: int = 0
    retries: int = 0
    problem: str = ""
    sleep: Callable[[float], None] = time.sleep  # replaceable, so tests need not wait out the back-off

    def run(self) -> dict[str, Any]:
        """Print the log until the task finishes; answers the finished task resource."""
        while True:
            opened = time.monotonic()
            try:
                return self._read_once()
            except StreamBroken as exc:
                self.problem = str(exc)
            if time.monotonic() - opened > LONG_LIVED_S:
                self.retries = 0
            self._back_off()

    def _read_once(self) -> dict[str, Any]:
        with self.api.stream_lines(f"/api/tasks/{self.task_id}/stream", {"since": self.since}) as lines:
            for event in _events(lines):
                if event.get("Type") == "Task":
                    return dict(event.get("Task") or {})
                if event.get("Type") == "Log":
                    number = int(event.get("Number", self.since))
                    if number < self.since:
                        continue  # already printed before a reconnect
                    self.printer(event)
                    self.since = number + 1
                    self.retries = 0
        # The server closed the stream without the final task: it restarted or a proxy cut us off.
        raise StreamBroken("the log stream ended before the task finished")

    def _back_off(self) -> None:
        self.retries += 1
        if self.retries > MAX_RETRIES:
            raise CliError(
                f"lost the log stream of {self.task_id} after {MAX_RETRIES} retries ({self.problem}); "
                f"the task may still be running: argonaut task show {self.task_id}"
            )
        self.sleep(min(0.25 * 2 ** (self.retries - 1), 5.0))


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            # A line cut by a dropped connection: reconnecting from ``since`` fetches it whole.
            raise StreamBroken("the log stream was cut mid-line") from None
        if isinstance(event, dict):
            yield event


def elapsed(task: Mapping[str, Any]) -> str:
    """``0.12s`` from StartTime/CompletedTime; the server's own ``Duration`` text when they are missing."""
    try:
        start = dt.datetime.fromisoformat(str(task["StartTime"]))
        end = dt.datetime.fromisoformat(str(task["CompletedTime"]))
    except (KeyError, TypeError, ValueError):
        return str(task.get("Duration") or "no time")
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def summary(task: Mapping[str, Any]) -> str:
    """One line for the end of a run: ``ServerTasks-7 Success in 0.12s`` or ``ServerTasks-7 Failed: why``."""
    state = str(task.get("State"))
    if state == "Success":
        return f"{task.get('Id')} Success in {elapsed(task)}"
    reason = task.get("ErrorMessage") or "no reason given"
    return f"{task.get('Id')} {state}: {reason}"


def report_end(task: Mapping[str, Any], out: Output) -> int:
    """Print the summary and answer the exit code: 0 only when the task ended in Success.

    People get the summary on stdout after a success and on stderr otherwise; with ``--json`` stdout
    carries only the finished task resource and the summary always goes to stderr.
    """
    ok = task.get("State") == "Success"
    if out.as_json:
        out.raw(task)
    click.echo(summary(task), err=out.as_json or not ok)
    return 0 if ok else 1


def follow(api: ApiSession, task_id: str, printer: LogPrinter, cancel_on_interrupt: bool) -> dict[str, Any]:
    """Follow ``task_id`` to its end and answer the finished task.

    Ctrl-C means different things by verb: ``run-script`` started the task, so the first Ctrl-C asks the
    server to cancel it and keeps following until it really stops (its cleanup output is worth seeing);
    a second one, or any Ctrl-C while merely watching (``task log --follow``), exits at once with 130.
    """
    follower = Follower(api, task_id, printer)
    cancel_requested = False
    while True:
        try:
            return follower.run()
        except KeyboardInterrupt:
            if cancel_requested or not cancel_on_interrupt:
                click.echo(f"\nstopped following {task_id}", err=True)
                raise click.exceptions.Exit(130) from None
            cancel_requested = True
        try:
            task = api.post(f"/api/tasks/{task_id}/cancel")
            state = task.get("State") if isinstance(task, dict) else None
            click.echo(
                f"\ncancellation of {task_id} requested ({state}); waiting for it to stop "
                "(Ctrl-C again to exit)",
                err=True,
            )
        except CliError as exc:
            click.echo(
                f"\nerror: could not request cancellation of {task_id}: {exc.format_message()}", err=True
            )
        except KeyboardInterrupt:
            click.echo(f"\nstopped following {task_id}", err=True)
            raise click.exceptions.Exit(130) from None
