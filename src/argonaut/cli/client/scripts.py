"""``argonaut run-script``: queue an ad-hoc script on workers and watch it run, like a local command."""

from __future__ import annotations

from pathlib import PurePath
from typing import IO, Any

import click

from argonaut.cli.client.follow import LogPrinter, follow, report_end
from argonaut.cli.client.http import ApiSession
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Output
from argonaut.cli.client.pools import all_pools, find_pool
from argonaut.cli.client.workers import all_workers, find_worker

# PowerShell is passed through, not refused here: the server decides which syntaxes it runs, so its
# one clear refusal reaches the user whether they wrote --syntax powershell or --file deploy.ps1.
SYNTAXES = {"bash": "Bash", "python": "Python", "powershell": "PowerShell"}
SUFFIXES = {".py": "Python", ".ps1": "PowerShell", ".psm1": "PowerShell"}


def _syntax(chosen: str | None, script_file: IO[str] | None) -> str:
    """``--syntax`` wins; otherwise the file's suffix (``.py``, ``.ps1``), and Bash for anything else.

    Guessing Bash for a ``.ps1`` file ran PowerShell through bash and failed on its first line.
    """
    if chosen is not None:
        return SYNTAXES[chosen.lower()]
    name = getattr(script_file, "name", "") if script_file is not None else ""
    return SUFFIXES.get(PurePath(str(name)).suffix.lower(), "Bash")


def _script_body(script_file: IO[str] | None, body: str | None) -> str:
    if (script_file is None) == (body is None):
        raise click.UsageError("give the script with exactly one of --file FILE or --body TEXT")
    text = script_file.read() if script_file is not None else body
    if not text or not text.strip():
        raise click.UsageError("the script is empty")
    return text


def _targets(
    api: ApiSession, pools: tuple[str, ...], workers: tuple[str, ...], on_server: bool
) -> dict[str, Any]:
    """The TargetType and ids the task needs, with names resolved to ids through the API."""
    if sum((bool(pools), bool(workers), on_server)) != 1:
        raise click.UsageError(
            "choose where the script runs: --pool NAME, --worker NAME or --on-server (only one kind)"
        )
    if on_server:
        return {"TargetType": "OctopusServer", "WorkerPoolIds": [], "MachineIds": []}
    if pools:
        known = all_pools(api)
        ids = list(dict.fromkeys(find_pool(api, p, known)["Id"] for p in pools))
        return {"TargetType": "WorkerPools", "WorkerPoolIds": ids, "MachineIds": []}
    everyone = all_workers(api)
    ids = list(dict.fromkeys(find_worker(api, w, everyone)["Id"] for w in workers))
    return {"TargetType": "Workers", "WorkerPoolIds": [], "MachineIds": ids}


@click.command("run-script")
@click.option(
    "--pool",
    "pools",
    multiple=True,
    metavar="NAME-or-ID",
    help="Run on the workers of this pool (repeatable)",
)
@click.option(
    "--worker", "workers", multiple=True, metavar="NAME-or-ID", help="Run on this worker (repeatable)"
)
@click.option("--on-server", is_flag=True, help="Run on the Argonaut server itself")
@click.option(
    "--syntax",
    type=click.Choice(sorted(SYNTAXES), case_sensitive=False),
    help="Script language [default: from the --file suffix: .py python, .ps1 powershell, else bash]",
)
@click.option(
    "--file",
    "script_file",
    metavar="FILE",
    type=click.File("r", encoding="utf-8"),
    help="Read the script from FILE ('-' is stdin)",
)
@click.option("--body", metavar="TEXT", help="The script text itself")
@click.option("--no-wait", is_flag=True, help="Only queue the task and print its id")
@click.option("--verbose", "-v", is_flag=True, help="Also print Verbose log lines")
@with_api()
def run_script(
    pools: tuple[str, ...],
    workers: tuple[str, ...],
    on_server: bool,
    syntax: str | None,
    script_file: IO[str] | None,
    body: str | None,
    no_wait: bool,
    verbose: bool,
    api: ApiSession,
    out: Output,
) -> None:
    """Run a Bash or Python script on workers and print its log live.

    Log lines go to stdout as they are written; Error and Fatal lines (the script's stderr) go to stderr,
    in red on a terminal. A one-line summary follows: "ServerTasks-7 Success in 0.12s" on stdout, or
    "ServerTasks-7 Failed: <reason>" on stderr. With --json the log goes to stderr and stdout carries only
    the finished task resource.

    Exit code: 0 when the task ends in Success, 1 otherwise, 2 for usage errors, 130 after a second Ctrl-C.
    The first Ctrl-C asks the server to cancel the task and keeps following until it has stopped.
    A dropped connection is resumed from the last line received, without losing or repeating lines.
    """
    text = _script_body(script_file, body)
    arguments = {
        "ScriptBody": text,
        "Syntax": _syntax(syntax, script_file),
        **_targets(api, pools, workers, on_server),
    }
    created: dict[str, Any] = api.post(
        api.in_space("tasks"),
        {"Name": "AdHocScript", "Description": "Script run from the CLI", "Arguments": arguments},
    )
    tid = str(created["Id"])
    if no_wait:
        out.done(created, tid)
        return
    click.echo(f"{tid} queued; following its log (Ctrl-C cancels it)", err=True)
    finished = follow(api, tid, LogPrinter(verbose=verbose, to_stderr=out.as_json), cancel_on_interrupt=True)
    raise click.exceptions.Exit(report_end(finished, out))
