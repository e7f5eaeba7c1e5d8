"""The REST API client verbs of ``argonaut``: spaces, worker pools, workers, policies, tasks, scripts,
environments, projects, releases, runbooks, interruptions, and people: ``login``, ``user``, ``team``,
``events``.

They talk to a server over HTTP only (nothing from the server side is imported), so the same commands
work against a local node, a remote cluster, or anything that speaks the same API.
"""

from __future__ import annotations

import click

from argonaut.cli.client.environments import environment
from argonaut.cli.client.events import events
from argonaut.cli.client.health import check_health
from argonaut.cli.client.interruptions import interruption
from argonaut.cli.client.login import login
from argonaut.cli.client.policies import machine_policy
from argonaut.cli.client.pools import worker_pool
from argonaut.cli.client.process import add_step, list_steps, remove_step
from argonaut.cli.client.projects import project
from argonaut.cli.client.releases import release
from argonaut.cli.client.runbooks import runbook
from argonaut.cli.client.scripts import run_script
from argonaut.cli.client.spaces import space
from argonaut.cli.client.tasks import task
from argonaut.cli.client.teams import team
from argonaut.cli.client.users import user
from argonaut.cli.client.workers import worker

COMMANDS: tuple[click.Command, ...] = (
    space,
    worker_pool,
    worker,
    machine_policy,
    task,
    run_script,
    environment,
    project,
    release,
    runbook,
    interruption,
    login,
    user,
    team,
    events,
)
# Defined in its own module, which needs the worker helpers that ``workers`` holds.
worker.add_command(check_health)
# The deployment process verbs need find_project, so they live beside ``projects``, not in it.
for _verb in (list_steps, add_step, remove_step):
    project.add_command(_verb)


def register(group: click.Group) -> None:
    """Add the client verbs to the top-level ``argonaut`` group."""
    for command in COMMANDS:
        group.add_command(command)
