"""Runbooks as pure rules: the settings a runbook keeps, where it may run, and which old runs go.

A runbook is run far more often than a release is deployed, and in any environment its scope allows: no
lifecycle orders its runs. What it keeps besides its name is one JSON document (``EnvironmentScope``,
``Environments``, ``RunRetentionPolicy``, ``ConnectivityPolicy``, ``DefaultGuidedFailureMode``); these
functions fill its defaults, check what a client sends, and decide the two questions a run asks.

Choices where the described system leaves room:

- ``FromProjectLifecycles`` covers the environments of every phase of the project's lifecycle and of its
  channels' lifecycles, resolved by :func:`argonaut.domain.lifecycles.effective_phases`, so a lifecycle
  with no phases (one phase per environment by convention) allows every environment.
- Retention counts runs per environment, newest first; ``ShouldKeepForever`` keeps all, otherwise
  ``QuantityToKeep`` must be at least 1 (0 without keep-forever would delete the run just made). A run
  whose task has not finished is never deleted: its task is still working, and someone may be watching.
- ``Unit: Days`` is refused rather than silently read as a number of runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEFAULT_QUANTITY_TO_KEEP = 100


class EnvironmentScope(StrEnum):
    ALL = "All"
    SPECIFIED = "Specified"
    FROM_PROJECT_LIFECYCLES = "FromProjectLifecycles"


# Fields kept in the runbook's JSON document; nested objects are merged key by key on update.
DOCUMENT_FIELDS = (
    "EnvironmentScope",
    "Environments",
    "RunRetentionPolicy",
    "ConnectivityPolicy",
    "DefaultGuidedFailureMode",
    "ForcePackageDownload",
)


def default_document() -> dict[str, Any]:
    """What a runbook created with a name and a project alone holds (the described system's defaults)."""
    return {
        "EnvironmentScope": EnvironmentScope.ALL.value,
        "Environments": [],
        "RunRetentionPolicy": {
            "QuantityToKeep": DEFAULT_QUANTITY_TO_KEEP,
            "ShouldKeepForever": False,
            "Unit": "Items",
        },
        "ConnectivityPolicy": {
            "SkipMachineBehavior": "None",
            "TargetRoles": [],
            "AllowDeploymentsToNoTargets": True,
            "ExcludeUnhealthyTargets": False,
        },
        "DefaultGuidedFailureMode": "EnvironmentDefault",
        "ForcePackageDownload": False,
    }


def merged_document(
    fields: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """``current`` (the stored document, or none for a new runbook) with the fields a client sent; answers
    the document and every problem in it, so a client fixes them in one round trip. Environment ids are
    left to the caller, which has the store."""
    document = {**default_document(), **current}
    for key in DOCUMENT_FIELDS:
        if key not in fields or fields[key] is None:
            continue
        given = fields[key]
        if isinstance(given, Mapping) and isinstance(document.get(key), Mapping):
            document[key] = {**document[key], **given}
        else:
            document[key] = given
    return document, _problems(document)


def _problems(document: Mapping[str, Any]) -> list[str]:
    errors = []
    if document["EnvironmentScope"] not in {scope.value for scope in EnvironmentScope}:
        errors.append(
            f"EnvironmentScope '{document['EnvironmentScope']}' is not one of All, Specified, "
            "FromProjectLifecycles"
        )
    policy = document["RunRetentionPolicy"]
    if policy.get("Unit", "Items") != "Items":
        errors.append(
            f"RunRetentionPolicy.Unit '{policy.get('Unit')}' is not supported: keep a number of runs (Items)"
        )
    quantity = policy.get("QuantityToKeep")
    if not isinstance(quantity, int) or quantity < 0:
        errors.append("RunRetentionPolicy.QuantityToKeep must be a whole number, 0 or more")
    elif quantity == 0 and not policy.get("ShouldKeepForever"):
        errors.append("RunRetentionPolicy.QuantityToKeep must be at least 1 unless ShouldKeepForever is true")
    return errors


def scope_refusal(
    runbook_name: str,
    document: Mapping[str, Any],
    environment_id: str,
    environment_name: str,
    lifecycle_environment_ids: Collection[str],
) -> str | None:
    """Why the runbook may not run in this environment, or None when its ``EnvironmentScope`` allows it.
    ``lifecycle_environment_ids`` are those of the project's lifecycles (read for FromProjectLifecycles
    only). Ids compare case-insensitively."""
    scope = document.get("EnvironmentScope") or EnvironmentScope.ALL.value
    wanted = environment_id.casefold()
    if scope == EnvironmentScope.SPECIFIED:
        if wanted in {str(e).casefold() for e in document.get("Environments") or ()}:
            return None
        return (
            f"The runbook '{runbook_name}' cannot run in the environment '{environment_name}': its "
            "EnvironmentScope is Specified and its Environments do not include it"
        )
    if scope == EnvironmentScope.FROM_PROJECT_LIFECYCLES:
        if wanted in {e.casefold() for e in lifecycle_environment_ids}:
            return None
        return (
            f"The runbook '{runbook_name}' cannot run in the environment '{environment_name}': its "
            "EnvironmentScope is FromProjectLifecycles and no lifecycle of its project includes it"
        )
    return None


@dataclass(frozen=True, slots=True)
class PastRun:
    run_id: int
    task_id: int | None
    finished: bool  # the task ended (or is gone): only then may the run be deleted


def retention_victims(newest_first: Sequence[PastRun], policy: Mapping[str, Any]) -> list[PastRun]:
    """The runs of one runbook in one environment that its ``RunRetentionPolicy`` lets go: all but the
    newest ``QuantityToKeep``, finished ones only; none when ``ShouldKeepForever``."""
    if policy.get("ShouldKeepForever"):
        return []
    keep = policy.get("QuantityToKeep")
    if not isinstance(keep, int) or keep < 1:
        return []
    return [run for run in newest_first[keep:] if run.finished]
