"""The environment a script starts with."""

from __future__ import annotations

import os
from collections.abc import Mapping

from argonaut.runner.accounts import RunAs

# The server is configured through ARGONAUT_* variables (database URL, master key...). Scripts have no
# business seeing them, and deployment scripts are written by many people.
_SERVER_PREFIX = "ARGONAUT_"


def script_environment(extra: Mapping[str, str], run_as: RunAs | None) -> dict[str, str] | None:
    """The environment to pass, or None for "inherit ours unchanged" (cheapest: nothing to copy)."""
    if not extra and run_as is None and not any(name.startswith(_SERVER_PREFIX) for name in os.environ):
        return None
    env = {name: value for name, value in os.environ.items() if not name.startswith(_SERVER_PREFIX)}
    if run_as is not None:
        # Tools read HOME/USER for config and caches; the runner's own (root's) would be wrong or unreadable.
        env["HOME"] = run_as.home
        env["USER"] = run_as.name
        env["LOGNAME"] = run_as.name
    env.update(extra)
    return env
