"""What ``release deploy`` and ``runbook run`` share: choosing targets, and following the tasks they start.

Both verbs start server tasks in one or more environments, may narrow them to some deployment targets,
and with ``--wait`` follow each task's log live as ``run-script`` does and exit with the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from argonaut.cli.client.follow import LogPrinter, follow, report_end
from argonaut.cli.client.http import ApiSession, find_one
from argonaut.cli.client.options import Verb, options_decorator
from argonaut.cli.client.output import Output


def target_options(action: str) -> Callable[[Verb], Verb]:
    """``--target`` and ``--exclude-target``; ``action`` starts the first one's help ("Deploy to")."""
    return options_decorator(
        [
            click.option(
                "--target",
                "targets",
                multiple=True,
                metavar="NAME-or-ID",
                help=f"{action} this target only (repeatable) [default: every enabled target]",
            ),
            click.option(
                "--exclude-target",
                "excluded",
                multiple=True,
                metavar="NAME-or-ID",
                help="Leave this target out (repeatable)",
            ),
        ]
    )


def wait_options(noun: str) -> Callable[[Verb], Verb]:
    """``--wait`` and ``--verbose``, for a verb whose ``noun`` (deployment, run) ends in a task."""
    return options_decorator(
        [
            click.option(
                "--wait", is_flag=True, help=f"Print the log live; exit 0 only when every {noun} succeeds"
            ),
            click.option("--verbose", "-v", is_flag=True, help="With --wait, also print Verbose log lines"),
        ]
    )


def _machine_ids(api: ApiSession, wanted: Iterable[str], machines: list[dict[str, Any]]) -> list[str]:
    where = f"space {api.space['Name']}"
    return list(dict.fromkeys(str(find_one(machines, m, "deployment target", where)["Id"]) for m in wanted))


def machine_filters(
    api: ApiSession, targets: tuple[str, ...], excluded: tuple[str, ...]
) -> dict[str, list[str]]:
    """``SpecificMachineIds`` and ``ExcludedMachineIds`` from the names or Ids given to the target options.

    The space's targets are read only when some are named.
    """
    machines: list[dict[str, Any]] = api.get(api.in_space("machines/all")) if targets or excluded else []
    return {
        "SpecificMachineIds": _machine_ids(api, targets, machines),
        "ExcludedMachineIds": _machine_ids(api, excluded, machines),
    }


class _Collected(Output):
    """``report_end``'s JSON sink when tasks are followed: one array keeps ``--json`` parseable."""

    def __init__(self) -> None:
        super().__init__(as_json=True)
        self.values: list[Any] = []

    def raw(self, value: Any) -> None:  # type: ignore[override]
        self.values.append(value)


class Following:
    """Follows the tasks one ``--wait`` verb started, one after the other (see :func:`following`)."""

    def __init__(self, api: ApiSession, out: Output, verbose: bool) -> None:
        self.api = api
        self.ends = _Collected() if out.as_json else out
        self.printer = LogPrinter(verbose=verbose, to_stderr=out.as_json)

    def task(self, what: str, task_id: str) -> int:
        """Say ``what`` was queued, print the task's log live, and answer its exit code.

        The first Ctrl-C asks the server to cancel the task and waits for it to stop.
        """
        click.echo(f"{what}; following its log (Ctrl-C cancels it)", err=True)
        finished = follow(self.api, task_id, self.printer, cancel_on_interrupt=True)
        return report_end(finished, self.ends)


@contextmanager
def following(api: ApiSession, out: Output, verbose: bool) -> Iterator[Following]:
    """Follow tasks; with ``--json``, stdout gets one array of the finished tasks at the end, even after
    a failure or a second Ctrl-C, while the logs and summaries go to stderr."""
    followed = Following(api, out, verbose)
    try:
        yield followed
    finally:
        if isinstance(followed.ends, _Collected) and followed.ends.values:
            out.raw(followed.ends.values)
