"""What an audited API request means: its event category, its message, and the differences a
modification made, with sensitive values shown as changed and never as values. Pure: the API's audit
middleware (``api/audit.py``) feeds it the request's method and path and the resource before and after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CREATED = "Created"
MODIFIED = "Modified"
DELETED = "Deleted"
TASK_QUEUED = "TaskQueued"
TASK_CANCELED = "TaskCanceled"
DEPLOYMENT_QUEUED = "DeploymentQueued"
RUNBOOK_RUN_QUEUED = "RunbookRunQueued"
INTERRUPTION_SUBMITTED = "InterruptionSubmitted"
RESPONSIBILITY_TAKEN = "ResponsibilityTaken"
LOGIN_SUCCEEDED = "LoginSucceeded"
LOGIN_FAILED = "LoginFailed"

# Every category an event of ours may carry, for ``/api/events/categories``.
CATEGORIES: tuple[str, ...] = (
    CREATED,
    MODIFIED,
    DELETED,
    TASK_QUEUED,
    TASK_CANCELED,
    DEPLOYMENT_QUEUED,
    RUNBOOK_RUN_QUEUED,
    INTERRUPTION_SUBMITTED,
    RESPONSIBILITY_TAKEN,
    LOGIN_SUCCEEDED,
    LOGIN_FAILED,
)

# Requests that change nothing lasting, or are recorded by their own route (sign-in and sign-out).
_NOT_AUDITED = re.compile(
    r"/(users/(login|logout)|workers/discover|machines/discover|tasks/preview|events)(/|$)", re.IGNORECASE
)
# An id segment: ``Environments-3``, ``variableset-Projects-1``, ``deploymentprocess-Projects-1-s-3-AB12C``.
_ID = re.compile(r"^[A-Za-z]+-[A-Za-z0-9-]*[0-9][A-Za-z0-9-]*$")
_SPACE = re.compile(r"^spaces-[0-9]+$", re.IGNORECASE)

# Path segment -> the noun a message names; anything else is its segment, singular.
_NOUNS = {
    "workerpools": "worker pool",
    "machinepolicies": "machine policy",
    "projectgroups": "project group",
    "runbookruns": "runbook run",
    "runbooksnapshots": "runbook snapshot",
    "projecttriggers": "trigger",
    "actiontemplates": "step template",
    "deploymentprocesses": "deployment process",
    "runbookprocesses": "runbook process",
    "variables": "variable set",
    "userroles": "user role",
    "scopeduserroles": "scoped user role",
    "apikeys": "API key",
    "octopusservernodes": "server node",
    "smtpconfiguration": "SMTP configuration",
    "tasks": "task",
    "machines": "deployment target",
    "spaces": "space",
}


@dataclass(frozen=True, slots=True)
class Action:
    """What one audited request did: its category, the verb its message uses, the noun of the resource,
    and the id the path names (None when the resource's id is only in the answer)."""

    category: str
    verb: str
    noun: str
    path_id: str | None


def classify(method: str, path: str) -> Action | None:
    """The action a successful ``method`` on ``path`` (``/api/...``) was, or None when it is not audited."""
    if method not in ("POST", "PUT", "DELETE") or _NOT_AUDITED.search(path):
        return None
    segments = [s for s in path.split("/") if s]
    if not segments or segments[0].lower() != "api":
        return None
    segments = segments[1:]
    if segments and _SPACE.match(segments[0]) and len(segments) > 1:
        segments = segments[1:]  # the space the route acts in, not the resource
    if not segments:
        return None
    lowered = [s.lower() for s in segments]
    ids = [s for s in segments if _ID.match(s)]
    path_id = ids[-1] if ids else None
    collection = next((s for s in reversed(lowered) if not _ID.match(s) and s not in _ACTIONS), lowered[0])
    noun = _noun(collection)
    last = lowered[-1]
    if method == "POST" and last == "cancel" and "tasks" in lowered:
        return Action(TASK_CANCELED, "canceled", "task", path_id)
    if method == "POST" and lowered == ["tasks"]:
        return Action(TASK_QUEUED, "queued", "task", None)
    if method == "POST" and "deployments" in lowered and last in ("deployments", "v1"):
        return Action(DEPLOYMENT_QUEUED, "deployed", "deployment", None)
    if method == "POST" and (
        last == "runbookruns"
        or (lowered[0] == "runbook-runs" and last == "v1")
        or (lowered[0] == "runbooks" and last == "run")
    ):
        return Action(RUNBOOK_RUN_QUEUED, "ran", "runbook run", None)
    if method == "POST" and last == "submit" and "interruptions" in lowered:
        return Action(INTERRUPTION_SUBMITTED, "submitted", "interruption", path_id)
    if method == "PUT" and last == "responsible" and "interruptions" in lowered:
        return Action(RESPONSIBILITY_TAKEN, "took responsibility for", "interruption", path_id)
    if method == "DELETE":
        return Action(DELETED, "deleted", noun, path_id)
    if method == "PUT":
        return Action(MODIFIED, "modified", noun, path_id)
    # A POST to a resource's own path (``/teams/Teams-1/...``) changes that resource or adds to it.
    return Action(CREATED, "created", noun, path_id if last in _ACTIONS else None)


# Trailing command segments of POSTs that act on an existing resource rather than create one.
_ACTIONS = frozenset({"create", "v1", "untenanted", "run", "snapshots", "submit", "responsible", "cancel"})


def _noun(segment: str) -> str:
    if segment in _NOUNS:
        return _NOUNS[segment]
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    return segment[:-1] if segment.endswith("s") else segment


def message(username: str, action: Action, resource_id: str | None, name: str | None) -> str:
    """``admin created the environment Dev`` / ``admin queued the task ServerTasks-5``."""
    what = name or resource_id
    text = f"{username} {action.verb} the {action.noun}"
    if what:
        text += f" {what}"
    if name and resource_id and resource_id != name:
        text += f" ({resource_id})"
    return text


# ---------------------------------------------------------------------------------------------- diffs

SENSITIVE_NAMES = re.compile(
    r"^(password|apikey|api_key|token|privatekey|privatekeyfile|privatekeypassphrase|secret.*)$",
    re.IGNORECASE,
)
_IGNORED = frozenset({"Links", "LastModifiedOn", "LastModifiedBy"})
MAX_DIFFERENCES = 200


def is_sensitive_field(name: str) -> bool:
    return bool(SENSITIVE_NAMES.match(name))


def _is_secret_holder(value: Any) -> bool:
    """``{HasValue, NewValue}``: a write-only value, whatever it is called."""
    return isinstance(value, Mapping) and "HasValue" in value


def differences(before: Any, after: Any) -> list[dict[str, Any]]:
    """The changes from ``before`` to ``after`` as JSON Patch operations (``op``, ``path``, ``value``),
    field by field. A sensitive value (a field named like a secret, a ``{HasValue, NewValue}`` object,
    the ``Value`` of a variable with ``IsSensitive``) is never given: its operation says
    ``"Sensitive": true`` and carries no value."""
    found: list[dict[str, Any]] = []
    _diff(before, after, "", False, found)
    return found[:MAX_DIFFERENCES]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _op(found: list[dict[str, Any]], op: str, path: str, value: Any, sensitive: bool) -> None:
    if len(found) > MAX_DIFFERENCES:
        return
    entry: dict[str, Any] = {"op": op, "path": path or "/"}
    if sensitive or _contains_secret(value):
        entry["Sensitive"] = True
    elif op != "remove":
        entry["value"] = value
    found.append(entry)


def _contains_secret(value: Any) -> bool:
    if _is_secret_holder(value):
        return True
    if isinstance(value, Mapping):
        if value.get("IsSensitive") is True:
            return True
        return any(is_sensitive_field(str(k)) or _contains_secret(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


def _diff(before: Any, after: Any, path: str, sensitive: bool, found: list[dict[str, Any]]) -> None:
    if before == after:
        return
    if sensitive or _is_secret_holder(before) or _is_secret_holder(after):
        _op(found, "replace", path, None, True)
        return
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        # A variable (or anything) marked IsSensitive hides its Value, before or after the change.
        hides_value = before.get("IsSensitive") is True or after.get("IsSensitive") is True
        for key in list(before.keys()) + [k for k in after.keys() if k not in before]:
            if key in _IGNORED and not path:
                continue
            secret = is_sensitive_field(str(key)) or (hides_value and key == "Value")
            child = f"{path}/{_escape(str(key))}"
            if key not in after:
                _op(found, "remove", child, None, secret)
            elif key not in before:
                _op(found, "add", child, after[key], secret)
            else:
                _diff(before[key], after[key], child, secret, found)
        return
    if isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            child = f"{path}/{index}"
            if index >= len(after):
                _op(found, "remove", child, None, False)
            elif index >= len(before):
                _op(found, "add", child, after[index], False)
            else:
                _diff(before[index], after[index], child, False, found)
        return
    _op(found, "replace", path, after, False)


def document_context(resource: Any) -> dict[str, Any] | None:
    """What the event says of the document itself: its id, name and space, never its values."""
    if not isinstance(resource, Mapping):
        return None
    context = {k: resource[k] for k in ("Id", "Name", "SpaceId") if isinstance(resource.get(k), str)}
    return context or None


def change_details(resource: Any, found: list[dict[str, Any]] | None) -> dict[str, Any]:
    """An event's ``ChangeDetails``, one shape for every event whoever writes it (the API's audit
    middleware, users and API keys, teams and roles, sign-in): ``DocumentContext`` is the document's
    context (``document_context``: an object, or None when the event concerns no document) and
    ``Differences`` the JSON Patch operations of ``differences`` (None when the event changed no fields)."""
    return {"DocumentContext": document_context(resource), "Differences": found}


def changes(before: Any, after: Any, written: Any) -> list[dict[str, Any]]:
    """A modification's differences: ``differences(before, after)`` (none when either is unknown), plus
    each secret the request body ``written`` sends (``sensitive_writes``) that they do not already name."""
    found = differences(before, after) if before is not None and after is not None else []
    return merge(found, sensitive_writes(written))


def sensitive_writes(body: Any) -> list[dict[str, Any]]:
    """The sensitive values a request body writes (a variable with ``IsSensitive`` and a value, a
    ``{HasValue, NewValue}`` with a new value, a secret-named field with a value), as operations marked
    ``Sensitive`` at their paths in the body. The resource never shows them, so before and after look
    the same there; a value sent is taken as changed (it cannot be compared without decrypting)."""
    found: list[dict[str, Any]] = []
    _writes(body, "", found)
    return found[:MAX_DIFFERENCES]


def _writes(value: Any, path: str, found: list[dict[str, Any]]) -> None:
    if _is_secret_holder(value):
        if value.get("NewValue") is not None:
            found.append({"op": "replace", "path": path or "/", "Sensitive": True})
        return
    if isinstance(value, Mapping):
        hides_value = any(str(k).lower() == "issensitive" and v is True for k, v in value.items())
        for key, item in value.items():
            child = f"{path}/{_escape(str(key))}"
            secret = is_sensitive_field(str(key)) or (hides_value and str(key).lower() == "value")
            if secret and item is not None and not isinstance(item, Mapping | list):
                found.append({"op": "replace", "path": child, "Sensitive": True})
            else:
                _writes(item, child, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _writes(item, f"{path}/{index}", found)


def merge(differences: list[dict[str, Any]], writes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The differences, plus each sensitive write at a path they do not already name."""
    named = {d["path"].lower() for d in differences}
    return (differences + [w for w in writes if w["path"].lower() not in named])[:MAX_DIFFERENCES]
