"""``argonaut worker check-health``: check workers now, and say per worker whether it can run scripts.

A worker runs scripts only while it is Healthy or HasWarnings, and a new one is Unknown until checked;
this verb lets a person (or a pipeline that just added workers) find out at once instead of waiting for
the machine policy's interval. It queues the server's own ``Health`` task, the one the API takes
(``{"MachineIds": [...]}`` or ``{"WorkerpoolId": ...}``), follows its log live as ``run-script`` does,
then prints each checked worker as the server now records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from argonaut.cli.client.follow import LogPrinter, follow, summary
from argonaut.cli.client.http import ApiSession, CliError
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field
from argonaut.cli.client.pools import all_pools, find_pool
from argonaut.cli.client.workers import all_workers, find_worker

# The statuses in which a worker takes scripts (domain.workers.HealthStatus.can_run_scripts); the
# client imports nothing from the server side, so it names them.
USABLE = frozenset({"Healthy", "HasWarnings"})
COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Health", field("HealthStatus")),
    ("Status", field("StatusSummary")),
]


def _in_pool(worker: Mapping[str, Any], pool_id: str) -> bool:
    return pool_id in (worker.get("WorkerPoolIds") or [])


def plan(
    api: ApiSession, names: tuple[str, ...], pool_names: tuple[str, ...]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Health task's arguments, and the workers it will check (disabled ones are skipped by it).

    One pool alone is sent as ``WorkerpoolId``, so the task reads as a check of that pool; any other mix
    is resolved here to ``MachineIds``. Nothing named at all means every worker of the space.
    """
    everyone = all_workers(api)
    named = [find_worker(api, text, everyone) for text in names]
    known = all_pools(api) if pool_names else []
    pools = [find_pool(api, text, known) for text in pool_names]
    if not named and not pools:
        return {"RestrictedTo": "Workers"}, everyone  # not the deployment targets
    if not named and len(pools) == 1:
        pool_id = str(pools[0]["Id"])
        return {"WorkerpoolId": pool_id}, [w for w in everyone if _in_pool(w, pool_id)]
    chosen = {str(w["Id"]): w for w in named}
    for pool in pools:
        chosen.update({str(w["Id"]): w for w in everyone if _in_pool(w, str(pool["Id"]))})
    if not chosen:
        listed = ", ".join(str(p["Name"]) for p in pools)
        raise CliError(f"there are no workers to check in {listed}")
    return {"MachineIds": list(chosen)}, list(chosen.values())


@click.command("check-health")
@click.argument("workers", nargs=-1, metavar="[WORKER]...")
@click.option(
    "--pool",
    "pools",
    multiple=True,
    metavar="NAME-or-ID",
    help="Check every worker of this pool (repeatable)",
)
@click.option("--verbose", "-v", is_flag=True, help="Also print Verbose log lines")
@with_api()
def check_health(
    workers: tuple[str, ...], pools: tuple[str, ...], verbose: bool, api: ApiSession, out: Output
) -> None:
    """Check workers' health now and print each one's status.

    WORKER is a name or an Id (repeatable); --pool checks every worker of a pool; with neither, every
    worker of the space is checked. Disabled workers are not checked.

    The check's log is printed live, then a table of the checked workers; with --json the log goes to
    stderr and stdout carries the checked worker resources.

    Exit code: 0 when every checked worker is Healthy or HasWarnings (it can run scripts), 1 otherwise.
    The first Ctrl-C asks the server to cancel the check.
    """
    arguments, expected = plan(api, workers, pools)
    created: dict[str, Any] = api.post(api.in_space("tasks"), {"Name": "Health", "Arguments": arguments})
    tid = str(created["Id"])
    click.echo(f"{tid} queued; following the health check (Ctrl-C cancels it)", err=True)
    finished = follow(api, tid, LogPrinter(verbose=verbose, to_stderr=out.as_json), cancel_on_interrupt=True)
    checked = [w for w in _current(api, expected) if not w.get("IsDisabled")]
    out.items(checked, COLUMNS, "There were no enabled workers to check.")
    usable = all(str(w.get("HealthStatus")) in USABLE for w in checked)
    ok = usable and finished.get("State") == "Success"
    click.echo(summary(finished), err=out.as_json or not ok)
    raise click.exceptions.Exit(0 if ok else 1)


def _current(api: ApiSession, workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workers as the server holds them after the check, in the order they were named."""
    now = {str(w["Id"]): w for w in all_workers(api)}
    return [now[str(w["Id"])] for w in workers if str(w["Id"]) in now]  # a deleted one is not shown
