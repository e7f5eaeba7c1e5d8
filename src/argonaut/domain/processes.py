"""Deployment and runbook processes: the shape clients PUT, and the model the orchestrator runs.

Clients (the web portal, Terraform, octo scripts) round-trip the whole ``Steps`` array, so
:func:`normalize_steps` answers the described system's full PascalCase shape with every default filled:
what a client reads back is what the next PUT sends, and Terraform sees no drift. Unknown step/action
fields are dropped rather than stored, so nothing we do not understand comes back as if we honoured it.

Choices worth knowing:

* Action names must be unique in a process, case-insensitively. The described system only advises it, but
  ``Octopus.Action[Name].Output.X`` is ambiguous otherwise, and an ambiguous output reference would pick a
  value silently. Step names are held to the same rule for ``Octopus.Step[Name]``.
* Property values are strings, as the described system sends them. JSON booleans and numbers are accepted
  and stored as strings (``True``/``False`` for booleans, the .NET spelling clients compare with). The
  sensitive form ``{"HasValue": ..., "NewValue": ..., "Hint": ...}`` is stored as sent: merging a
  ``HasValue``-only object with the value kept before, and hiding ``NewValue`` on reads, is the API
  layer's job, since only it sees the previous document.
* Scripts run on workers that offer Bash and Python only: PowerShell, C# and F# are refused when the
  process is saved, not when a deployment reaches the step hours later. A script without
  ``Octopus.Action.Script.Syntax`` is Bash (the described system's portal would default to PowerShell,
  which we cannot run); the missing property is not filled in, so a client's copy stays as it sent it.
* Execution containers are refused for the same reason: no worker runs one, and running the script on
  the worker's host instead would break what the step's author relied on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StepCondition(StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"
    ALWAYS = "Always"
    VARIABLE = "Variable"


class StartTrigger(StrEnum):
    START_AFTER_PREVIOUS = "StartAfterPrevious"
    START_WITH_PREVIOUS = "StartWithPrevious"


class PackageRequirement(StrEnum):
    LET_OCTOPUS_DECIDE = "LetOctopusDecide"
    BEFORE_PACKAGE_ACQUISITION = "BeforePackageAcquisition"
    AFTER_PACKAGE_ACQUISITION = "AfterPackageAcquisition"


class ActionCondition(StrEnum):
    SUCCESS = "Success"
    VARIABLE = "Variable"


class AcquisitionLocation(StrEnum):
    SERVER = "Server"
    EXECUTION_TARGET = "ExecutionTarget"
    NOT_ACQUIRED = "NotAcquired"


SCRIPT_ACTION = "Octopus.Script"
MANUAL_ACTION = "Octopus.Manual"
# Action types that run no user code: the server performs them itself, on no worker and no target.
RUN_RUNBOOK_ACTION = "Argonaut.RunRunbook"  # ours: the described system has it only as a community template
SERVER_ACTION_TYPES = frozenset(
    {
        MANUAL_ACTION,
        "Octopus.Email",
        "Octopus.Certificate.Import",
        "Octopus.DeployRelease",
        RUN_RUNBOOK_ACTION,
    }
)

RUN_ON_SERVER = "Octopus.Action.RunOnServer"
TARGET_ROLES = "Octopus.Action.TargetRoles"
MAX_PARALLELISM = "Octopus.Action.MaxParallelism"
CONDITION_EXPRESSION = "Octopus.Step.ConditionVariableExpression"
SCRIPT_SOURCE = "Octopus.Action.Script.ScriptSource"
SCRIPT_SYNTAX = "Octopus.Action.Script.Syntax"
SCRIPT_BODY = "Octopus.Action.Script.ScriptBody"
# A step template (``ActionTemplates-n``) the action runs; its script is copied in when the process is saved.
TEMPLATE_ID = "Octopus.Action.Template.Id"
MANUAL_INSTRUCTIONS = "Octopus.Action.Manual.Instructions"

DEFAULT_SYNTAX = "Bash"
SUPPORTED_SYNTAXES = ("Bash", "Python")
_KNOWN_SYNTAXES = {s.casefold(): s for s in ("Bash", "Python", "PowerShell", "CSharp", "FSharp")}
_SCRIPT_SOURCES = {s.casefold(): s for s in ("Inline", "Package", "GitRepository")}
_SENSITIVE_KEYS = frozenset({"hasvalue", "newvalue", "hint"})
_CONTAINER_KEYS = ("Image", "FeedId", "GitUrl", "Dockerfile")


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    name: str
    action_type: str
    is_disabled: bool = False
    is_required: bool = False
    worker_pool_id: str | None = None
    worker_pool_variable: str | None = None
    environments: tuple[str, ...] = ()
    excluded_environments: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    # Properties whose values are secret (sent as {HasValue, NewValue}): masked in every log line.
    sensitive_properties: frozenset[str] = frozenset()

    @property
    def run_on_server(self) -> bool:
        return self.properties.get(RUN_ON_SERVER, "").strip().casefold() == "true"

    @property
    def runs_in_server(self) -> bool:
        return self.action_type in SERVER_ACTION_TYPES

    @property
    def is_script(self) -> bool:
        return self.action_type == SCRIPT_ACTION

    @property
    def script_body(self) -> str:
        """The script with Windows line endings made Unix ones, as Calamari does to every Bash and Python
        script before running it: the community library's templates carry ``\\r\\n``, which bash reads as
        part of each command."""
        return self.properties.get(SCRIPT_BODY, "").replace("\r\n", "\n")

    @property
    def syntax(self) -> str:
        """The script's language, Bash when unsaid: our workers have no PowerShell to default to."""
        given = self.properties.get(SCRIPT_SYNTAX, "").strip()
        if not given:
            return DEFAULT_SYNTAX
        return _KNOWN_SYNTAXES.get(given.casefold(), given)


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    name: str
    condition: StepCondition = StepCondition.SUCCESS
    start_trigger: StartTrigger = StartTrigger.START_AFTER_PREVIOUS
    properties: Mapping[str, str] = field(default_factory=dict)
    actions: tuple[Action, ...] = ()

    @property
    def target_roles(self) -> tuple[str, ...]:
        return split_roles(self.properties.get(TARGET_ROLES, ""))

    @property
    def max_parallelism(self) -> int | None:
        """The rolling window; None when unset or still a variable reference the caller must resolve."""
        return _positive_int(self.properties.get(MAX_PARALLELISM, ""))

    @property
    def condition_expression(self) -> str | None:
        return self.properties.get(CONDITION_EXPRESSION) or None


def split_roles(text: str) -> tuple[str, ...]:
    """Roles from the comma-separated property; repeats (in any case) count once, as roles match so."""
    seen: dict[str, str] = {}
    for part in text.split(","):
        role = part.strip()
        if role:
            seen.setdefault(role.casefold(), role)
    return tuple(seen.values())


def should_run(condition: StepCondition, failed_so_far: bool, variable_result: bool | None) -> bool:
    """Whether a step runs; for ``Variable`` the caller evaluates the expression, since that needs
    the deployment's variables, and an expression it could not evaluate (None) does not run the step."""
    match condition:
        case StepCondition.SUCCESS:
            return not failed_so_far
        case StepCondition.FAILURE:
            return failed_so_far
        case StepCondition.ALWAYS:
            return True
        case StepCondition.VARIABLE:
            return bool(variable_result)


def parallel_groups(steps: Iterable[Step]) -> list[list[Step]]:
    """Steps that start together; a leading ``StartWithPrevious`` has nothing to join, so it leads."""
    groups: list[list[Step]] = []
    for step in steps:
        if groups and step.start_trigger is StartTrigger.START_WITH_PREVIOUS:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


# --- Reading the stored document -----------------------------------------------------------------


def parse_steps(doc: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    """The model of a document :func:`normalize_steps` produced; sensitive values become their NewValue."""
    return tuple(_parse_step(s) for s in doc)


def _parse_step(doc: Mapping[str, Any]) -> Step:
    return Step(
        id=str(doc.get("Id") or ""),
        name=str(doc.get("Name") or ""),
        condition=StepCondition(doc.get("Condition") or StepCondition.SUCCESS),
        start_trigger=StartTrigger(doc.get("StartTrigger") or StartTrigger.START_AFTER_PREVIOUS),
        properties=_plain_properties(doc.get("Properties")),
        actions=tuple(_parse_action(a) for a in doc.get("Actions") or ()),
    )


def _parse_action(doc: Mapping[str, Any]) -> Action:
    return Action(
        id=str(doc.get("Id") or ""),
        name=str(doc.get("Name") or ""),
        action_type=str(doc.get("ActionType") or ""),
        is_disabled=bool(doc.get("IsDisabled")),
        is_required=bool(doc.get("IsRequired")),
        worker_pool_id=doc.get("WorkerPoolId") or None,
        worker_pool_variable=doc.get("WorkerPoolVariable") or None,
        environments=tuple(doc.get("Environments") or ()),
        excluded_environments=tuple(doc.get("ExcludedEnvironments") or ()),
        channels=tuple(doc.get("Channels") or ()),
        properties=_plain_properties(doc.get("Properties")),
        sensitive_properties=frozenset(
            key for key, value in (doc.get("Properties") or {}).items() if isinstance(value, Mapping)
        ),
    )


def _plain_properties(doc: Any) -> dict[str, str]:
    if not isinstance(doc, Mapping):
        return {}
    out: dict[str, str] = {}
    for key, value in doc.items():
        if isinstance(value, Mapping):
            new = _fields(value).get("newvalue")
            out[key] = new if isinstance(new, str) else ""
        else:
            out[key] = value if isinstance(value, str) else str(value)
    return out


# --- Normalising what a client sends -------------------------------------------------------------


def normalize_steps(raw: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``Steps`` to store, and one readable error per problem (the document is meant to be stored
    only when there are none). Known fields match case-insensitively, as the described system's JSON
    reader does; enum values come back in their canonical spelling."""
    if not isinstance(raw, list):
        return [], ["Steps must be a list of steps"]
    errors: list[str] = []
    steps: list[dict[str, Any]] = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            errors.append(f"step #{number} must be an object")
            continue
        steps.append(_normalize_step(item, number, errors))
    _check_unique(steps, errors)
    return steps, errors


def _normalize_step(doc: Mapping[str, Any], number: int, errors: list[str]) -> dict[str, Any]:
    f = _fields(doc)
    name = _text(f.get("name"))
    label = f"step '{name}'" if name else f"step #{number}"
    if not name:
        errors.append(f"step #{number} has no Name")
    condition = _enum(StepCondition, f.get("condition"), label, "Condition", errors)
    properties = _properties(f.get("properties"), label, errors)
    _check_step_properties(condition, properties, label, errors)
    actions: list[dict[str, Any]] = []
    raw_actions = f.get("actions")
    if not isinstance(raw_actions, list) or not raw_actions:
        errors.append(f"{label} has no actions")
    else:
        for index, item in enumerate(raw_actions, start=1):
            if not isinstance(item, Mapping):
                errors.append(f"action #{index} of {label} must be an object")
                continue
            actions.append(_normalize_action(item, index, label, errors))
    return {
        "Id": _id(f.get("id"), label, errors),
        "Name": name,
        "Slug": _slug(f.get("slug"), name),
        "Condition": condition,
        "StartTrigger": _enum(StartTrigger, f.get("starttrigger"), label, "StartTrigger", errors),
        "PackageRequirement": _enum(
            PackageRequirement, f.get("packagerequirement"), label, "PackageRequirement", errors
        ),
        "Properties": properties,
        "Actions": actions,
    }


def _normalize_action(doc: Mapping[str, Any], index: int, step: str, errors: list[str]) -> dict[str, Any]:
    f = _fields(doc)
    name = _text(f.get("name"))
    action_type = _text(f.get("actiontype"))
    label = f"action '{name}' of {step}" if name else f"action #{index} of {step}"
    if not name:
        errors.append(f"action #{index} of {step} has no Name")
    if not action_type:
        errors.append(f"{label} has no ActionType")
    properties = _properties(f.get("properties"), label, errors)
    _check_action_properties(action_type, properties, label, errors)
    return {
        "Id": _id(f.get("id"), label, errors),
        "Name": name,
        "Slug": _slug(f.get("slug"), name),
        "ActionType": action_type,
        "Notes": f.get("notes") if isinstance(f.get("notes"), str) else None,
        "IsDisabled": _bool(f.get("isdisabled"), label, "IsDisabled", errors),
        "IsRequired": _bool(f.get("isrequired"), label, "IsRequired", errors),
        "WorkerPoolId": _optional_text(f.get("workerpoolid"), label, "WorkerPoolId", errors),
        "WorkerPoolVariable": _optional_text(
            f.get("workerpoolvariable"), label, "WorkerPoolVariable", errors
        ),
        "Container": _container(f.get("container"), label, errors),
        "Environments": _string_list(f.get("environments"), label, "Environments", errors),
        "ExcludedEnvironments": _string_list(
            f.get("excludedenvironments"), label, "ExcludedEnvironments", errors
        ),
        "Channels": _string_list(f.get("channels"), label, "Channels", errors),
        "TenantTags": _string_list(f.get("tenanttags"), label, "TenantTags", errors),
        "Condition": _enum(ActionCondition, f.get("condition"), label, "Condition", errors),
        "Properties": properties,
        "Packages": _packages(f.get("packages"), label, errors),
        "CanBeUsedForProjectVersioning": _bool(
            f.get("canbeusedforprojectversioning"), label, "CanBeUsedForProjectVersioning", errors
        ),
    }


def _check_step_properties(
    condition: str, properties: Mapping[str, Any], label: str, errors: list[str]
) -> None:
    if condition == StepCondition.VARIABLE and not _plain(properties.get(CONDITION_EXPRESSION)).strip():
        errors.append(f"{label} has Condition Variable but no {CONDITION_EXPRESSION}")
    if MAX_PARALLELISM in properties:
        value = properties[MAX_PARALLELISM]
        text = value.strip() if isinstance(value, str) else None
        if text is None or (text and "#{" not in text and _positive_int(text) is None):
            errors.append(
                f"{label}: {MAX_PARALLELISM} must be a positive whole number or a variable reference, "
                f"not {value!r}"
            )


def _check_action_properties(
    action_type: str, properties: Mapping[str, Any], label: str, errors: list[str]
) -> None:
    if action_type == SCRIPT_ACTION:
        _check_script(properties, label, errors)
    elif action_type == MANUAL_ACTION and not _plain(properties.get(MANUAL_INSTRUCTIONS)).strip():
        errors.append(f"{label} is a manual intervention without {MANUAL_INSTRUCTIONS}")
    elif action_type == "Octopus.Email" and not _plain(properties.get("Octopus.Action.Email.To")).strip():
        errors.append(f"{label}: Octopus.Email needs Octopus.Action.Email.To")


def _check_script(properties: Mapping[str, Any], label: str, errors: list[str]) -> None:
    source = _plain(properties.get(SCRIPT_SOURCE)).strip() or "Inline"
    if source.casefold() not in _SCRIPT_SOURCES:
        errors.append(f"{label}: {SCRIPT_SOURCE} must be Inline, Package or GitRepository, not '{source}'")
    elif (
        source.casefold() == "inline"
        and not _plain(properties.get(SCRIPT_BODY)).strip()
        and TEMPLATE_ID not in properties
    ):
        errors.append(f"{label} runs an inline script but has no {SCRIPT_BODY}")
    problem = _syntax_problem(properties.get(SCRIPT_SYNTAX))
    if problem:
        errors.append(f"{label}: {problem}")


def _syntax_problem(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{SCRIPT_SYNTAX} must be a plain string"
    syntax = _KNOWN_SYNTAXES.get(value.strip().casefold())
    if not value.strip() or syntax in SUPPORTED_SYNTAXES:
        return None
    if syntax == "PowerShell":
        return "PowerShell scripts cannot run: no worker offers pwsh yet; write the script in Bash or Python"
    if syntax is not None:
        return f"{syntax} scripts are not supported; write the script in Bash or Python"
    return f"unknown script syntax '{value}'; use Bash or Python"


def _check_unique(steps: Sequence[Mapping[str, Any]], errors: list[str]) -> None:
    """Names must be unambiguous in ``Octopus.Step[...]``/``Octopus.Action[...]``; ids must name one thing."""
    actions = [a for s in steps for a in s["Actions"]]
    _report_repeats((s["Name"] for s in steps), "step name", errors, fold=True)
    _report_repeats((a["Name"] for a in actions), "action name", errors, fold=True)
    _report_repeats((s["Id"] for s in steps), "step Id", errors, fold=False)
    _report_repeats((a["Id"] for a in actions), "action Id", errors, fold=False)


def _report_repeats(values: Iterable[str], what: str, errors: list[str], fold: bool) -> None:
    seen: set[str] = set()
    reported: set[str] = set()
    for value in values:
        key = value.casefold() if fold else value
        if not value or key not in seen:
            seen.add(key)
            continue
        if key not in reported:
            reported.add(key)
            rule = " (names are unique case-insensitively, so that references to them are unambiguous)"
            errors.append(f"the {what} '{value}' is used more than once" + (rule if fold else ""))


# --- Field helpers -------------------------------------------------------------------------------


def _fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).casefold(): v for k, v in doc.items()}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _positive_int(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number > 0 else None


def _slug(given: Any, name: str) -> str:
    """A client echoes the slug it read, so a renamed step keeps its slug; a new one gets it from the name."""
    if isinstance(given, str) and given.strip():
        return given.strip()
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "step"


def _id(value: Any, label: str, errors: list[str]) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value not in (None, ""):
        errors.append(f"{label}: Id must be a string")
    return str(uuid.uuid4())


def _enum(kind: type[StrEnum], value: Any, label: str, name: str, errors: list[str]) -> str:
    members = list(kind)
    if value is None or value == "":
        return str(members[0])
    for member in members:
        if isinstance(value, str) and value.strip().casefold() == member.value.casefold():
            return str(member)
    errors.append(f"{label}: {name} '{value}' is not one of {', '.join(m.value for m in members)}")
    return str(members[0])


def _bool(value: Any, label: str, name: str, errors: list[str]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().casefold() in ("true", "false"):
        return value.strip().casefold() == "true"
    errors.append(f"{label}: {name} must be true or false")
    return False


def _optional_text(value: Any, label: str, name: str, errors: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    errors.append(f"{label}: {name} must be a string")
    return None


def _string_list(value: Any, label: str, name: str, errors: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{label}: {name} must be a list of strings")
        return []
    return [v.strip() for v in value if v.strip()]


def _properties(value: Any, label: str, errors: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(f"{label}: Properties must be an object")
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        converted = _property_value(item)
        if converted is None:
            errors.append(f"{label}: property '{key}' must be a string")
        else:
            out[str(key)] = converted
    return out


def _property_value(value: Any) -> str | dict[str, Any] | None:
    """A stored value, or None when it is no property value at all."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping) and _is_sensitive(value):
        return dict(value)
    return None


def _is_sensitive(value: Mapping[str, Any]) -> bool:
    f = _fields(value)
    if not f or not set(f) <= _SENSITIVE_KEYS or not ({"hasvalue", "newvalue"} & set(f)):
        return False
    has_value = f.get("hasvalue")
    return (has_value is None or isinstance(has_value, bool)) and all(
        f.get(k) is None or isinstance(f.get(k), str) for k in ("newvalue", "hint")
    )


def _container(value: Any, label: str, errors: list[str]) -> dict[str, str | None]:
    empty: dict[str, str | None] = dict.fromkeys(_CONTAINER_KEYS)
    if value is None:
        return empty
    if not isinstance(value, Mapping):
        errors.append(f"{label}: Container must be an object")
        return empty
    f = _fields(value)
    out = {key: (f.get(key.casefold()) or None) for key in _CONTAINER_KEYS}
    if any(v is not None and not isinstance(v, str) for v in out.values()):
        errors.append(f"{label}: Container fields must be strings")
        return empty
    if out["Image"]:
        errors.append(f"{label} asks for an execution container, which no worker can run yet")
    return out


def _packages(value: Any, label: str, errors: list[str]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"{label}: Packages must be a list")
        return []
    out: list[dict[str, Any]] = []
    for index, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            errors.append(f"package #{index} of {label} must be an object")
            continue
        out.append(_package(_fields(item), f"package #{index} of {label}", errors))
    return out


def _package(f: Mapping[str, Any], label: str, errors: list[str]) -> dict[str, Any]:
    package_id = _text(f.get("packageid"))
    if not package_id:
        errors.append(f"{label} has no PackageId")
    return {
        "Id": _id(f.get("id"), label, errors),
        "Name": _plain(f.get("name")),
        "PackageId": package_id,
        "FeedId": _optional_text(f.get("feedid"), label, "FeedId", errors),
        "AcquisitionLocation": _enum(
            AcquisitionLocation, f.get("acquisitionlocation"), label, "AcquisitionLocation", errors
        ),
        "Properties": _properties(f.get("properties"), label, errors),
    }
