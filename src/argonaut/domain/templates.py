"""Step templates (``ActionTemplates-n``): the shape a template is kept in, and how a step uses one.

A template is an action kept apart from any process: its ``Properties`` (the script, its syntax…) and
``Parameters``, each a named input with a label, help text, a ``DefaultValue`` and how the portal shows
it (``DisplaySettings["Octopus.ControlType"]``). The described system's community library exports them
as JSON that users paste in whole, so :func:`normalize_template` reads that JSON as it comes: fields
match case-insensitively, unknown ones (``$Meta``, ``Category``, ``LastModifiedBy``…) are dropped, and
values the library writes loosely (a ``null`` property, a number as a default) become strings.

A step uses a template when an action carries ``Octopus.Action.Template.Id`` and
``Octopus.Action.Template.Version``. When the process is saved, :func:`apply_template` copies that
version's properties into the action, so the version the step names is the script it runs, and turns
each parameter into an action property of the parameter's name: the step's own value when it sets one,
else the template's default. The engine already offers every action property to the script as a
variable, and masks the sensitive ones, so a template needs nothing at run time.

Choices where the described system is silent or we differ:

* A property the step leaves out (or sends as ``null``) takes the default; an empty string is the step's
  value. A parameter with neither becomes an empty property, so ``#{Name}`` in a script is empty rather
  than left as written.
* A value equal to the default of the version the step used before counts as unset when the step moves
  to another version: clients send back what they read, defaults included, and the new version's
  default must still reach them.
* Where a step runs (``Octopus.Action.RunOnServer``, roles, parallelism) belongs to the step: the
  template's value only fills in what the step leaves out. Every other template property replaces the
  step's, so a step cannot drift from the version it names.
* Only ``Octopus.Script`` templates in Bash or Python can be used by a step; the rest import (the library
  is mostly PowerShell) and a step naming one is refused with the reason when its process is saved.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.processes import (
    DEFAULT_SYNTAX,
    MAX_PARALLELISM,
    RUN_ON_SERVER,
    SCRIPT_ACTION,
    SCRIPT_BODY,
    SCRIPT_SOURCE,
    SCRIPT_SYNTAX,
    SUPPORTED_SYNTAXES,
    TARGET_ROLES,
    TEMPLATE_ID,
)

TEMPLATE_VERSION = "Octopus.Action.Template.Version"
CONTROL_TYPE = "Octopus.ControlType"
SENSITIVE_CONTROL = "Sensitive"
FIRST_VERSION = 0  # the described system numbers a new template's versions from 0

# The step's own say in where it runs; a template's value for these is only a default.
STEP_OWNED = frozenset({RUN_ON_SERVER, TARGET_ROLES, MAX_PARALLELISM})
_REFERENCE_KEYS = frozenset({TEMPLATE_ID, TEMPLATE_VERSION})
_SENSITIVE_KEYS = frozenset({"hasvalue", "newvalue", "hint"})
_NAME_LIMIT = 200
_TYPE_LIMIT = 100


# --- The template document -----------------------------------------------------------------------


def normalize_template(raw: Mapping[str, Any], creating: bool) -> tuple[dict[str, Any], list[str]]:
    """The fields of a template to store (PascalCase; on update only those ``raw`` holds) and one
    readable error per problem. Sensitive defaults come back as ``{HasValue, NewValue}`` with the
    plain ``NewValue`` the client sent; sealing them is the caller's job."""
    f = _fields(raw)
    errors: list[str] = []
    out: dict[str, Any] = {}
    if creating or "name" in f:
        out["Name"] = _required_text(f.get("name"), "Name", _NAME_LIMIT, errors)
    if creating or "description" in f:
        description = f.get("description")
        if description is not None and not isinstance(description, str):
            errors.append("Description must be a string")
        out["Description"] = description if isinstance(description, str) else None
    if creating:
        out["ActionType"] = _required_text(f.get("actiontype"), "ActionType", _TYPE_LIMIT, errors)
        out["CommunityActionTemplateId"] = community_id(f.get("communityactiontemplateid"), f.get("id"))
    elif "actiontype" in f:
        out["ActionType"] = _text(f.get("actiontype"))
    # On update a null list or object is as good as left out: the stored one is kept.
    if creating or f.get("properties") is not None:
        out["Properties"] = _properties(f.get("properties"), errors)
    if creating or f.get("parameters") is not None:
        out["Parameters"] = _parameters(f.get("parameters"), errors)
    if creating:
        errors.extend(clashing_names(out["Properties"], out["Parameters"]))
    if creating or f.get("packages") is not None:
        out["Packages"] = _packages(f.get("packages"), errors)
    return out, errors


def community_id(given: Any, raw_id: Any) -> str | None:
    """The library's id of an imported template: its ``CommunityActionTemplateId`` when it has one, else
    its own ``Id`` when that is no id of ours (the library's ids are GUIDs)."""
    if isinstance(given, str) and given.strip():
        return given.strip()
    if isinstance(raw_id, str) and raw_id.strip() and parse_id(Collection.ACTION_TEMPLATES, raw_id) is None:
        return raw_id.strip()
    return None


def is_sensitive(parameter: Mapping[str, Any]) -> bool:
    """Whether a parameter holds a secret; the control type's key matches case-insensitively, as the
    described system's dictionary of display settings does."""
    settings = parameter.get("DisplaySettings") or {}
    control = next((v for k, v in settings.items() if str(k).casefold() == CONTROL_TYPE.casefold()), None)
    return isinstance(control, str) and control.strip().casefold() == SENSITIVE_CONTROL.casefold()


def sensitive_fields(value: Any) -> dict[str, Any] | None:
    """The case-folded fields of a ``{HasValue, NewValue, Hint}`` value, or None for anything else."""
    if not isinstance(value, Mapping):
        return None
    fields = {str(k).casefold(): v for k, v in value.items()}
    if not fields or not set(fields) <= _SENSITIVE_KEYS:
        return None
    return fields


def clashing_names(properties: Mapping[str, Any], parameters: Sequence[Mapping[str, Any]]) -> list[str]:
    """A parameter named like a property the template sets would overwrite it in every step."""
    return [
        f"the parameter '{p['Name']}' has the name of a property the template sets itself"
        for p in parameters
        if p["Name"] in properties or p["Name"] in _REFERENCE_KEYS
    ]


def _parameters(raw: Any, errors: list[str]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append("Parameters must be a list")
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            errors.append(f"parameter #{number} must be an object")
            continue
        parameter = _parameter(_fields(item), number, errors)
        name = parameter["Name"]
        if name.casefold() in seen:
            errors.append(f"the parameter name '{name}' is used more than once (names are variables)")
        seen.add(name.casefold())
        out.append(parameter)
    return out


def _parameter(f: Mapping[str, Any], number: int, errors: list[str]) -> dict[str, Any]:
    name = _text(f.get("name"))
    label = f"parameter '{name}'" if name else f"parameter #{number}"
    if not name:
        errors.append(f"parameter #{number} has no Name")
    elif len(name) > _NAME_LIMIT:
        errors.append(f"{label}: Name is longer than {_NAME_LIMIT} characters")
    settings = _display_settings(f.get("displaysettings"), label, errors)
    parameter: dict[str, Any] = {
        "Id": _text(f.get("id")) or str(uuid.uuid4()),
        "Name": name,
        "Label": _text(f.get("label")),
        "HelpText": f.get("helptext") if isinstance(f.get("helptext"), str) else "",
        "DefaultValue": None,
        "DisplaySettings": settings,
    }
    parameter["DefaultValue"] = _default(f.get("defaultvalue"), is_sensitive(parameter), label, errors)
    return parameter


def _default(value: Any, sensitive: bool, label: str, errors: list[str]) -> Any:
    fields = sensitive_fields(value)
    if sensitive:
        if fields is not None:
            new = fields.get("newvalue")
            has_value = fields.get("hasvalue")
            if not isinstance(new, str | None) or not isinstance(has_value, bool | None):
                errors.append(f"{label}: DefaultValue must be a string or {{HasValue: true|false, NewValue}}")
                return {"HasValue": False, "NewValue": None}
            return {
                "HasValue": bool(new) if has_value is None else bool(has_value),
                "NewValue": new if isinstance(new, str) and new else None,
            }
        text = _scalar(value)
        return {"HasValue": bool(text), "NewValue": text or None}
    if fields is not None:
        errors.append(f"{label}: a DefaultValue kept secret needs the control type {SENSITIVE_CONTROL}")
        return None
    text = _scalar(value)
    if text is None and value is not None:
        errors.append(f"{label}: DefaultValue must be a string")
    return text


def _display_settings(raw: Any, label: str, errors: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        errors.append(f"{label}: DisplaySettings must be an object")
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        text = _scalar(value)
        if text is None:
            errors.append(f"{label}: the display setting '{key}' must be a string")
        else:
            out[str(key)] = text
    return out


def _properties(raw: Any, errors: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        errors.append("Properties must be an object")
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:  # the library writes unset properties as null
            continue
        text = _scalar(value)
        if text is None:
            errors.append(
                f"the property '{key}' must be a string (a template keeps secrets in Sensitive parameters)"
            )
        elif str(key) not in _REFERENCE_KEYS:
            out[str(key)] = text
    return out


def _packages(raw: Any, errors: list[str]) -> list[dict[str, Any]]:
    """Package references, kept as sent: no worker fetches packages yet, so a step is refused their use."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        errors.append("Packages must be a list of package references")
        return []
    return [dict(item) for item in raw]


# --- Using a template in a step ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateUse:
    """What an action asks of a template: its number (``ActionTemplates-n``) and the version to run,
    None when the action names none (it then gets the template's current version)."""

    number: int
    version: int | None


def template_use(properties: Mapping[str, Any], label: str, errors: list[str]) -> TemplateUse | None:
    """The template an action's properties name, None when they name none (or name it wrongly, which is
    an error in ``errors``)."""
    given = properties.get(TEMPLATE_ID)
    if given is None:
        return None
    number = parse_id(Collection.ACTION_TEMPLATES, given) if isinstance(given, str) else None
    if number is None:
        errors.append(
            f"{label}: {TEMPLATE_ID} must name a step template like ActionTemplates-1, not {given!r}"
        )
        return None
    raw_version = properties.get(TEMPLATE_VERSION)
    if raw_version is None or (isinstance(raw_version, str) and not raw_version.strip()):
        return TemplateUse(number, None)
    text = raw_version.strip() if isinstance(raw_version, str) else ""
    if not text.isascii() or not text.isdigit() or int(text) > 2**31 - 1:
        errors.append(f"{label}: {TEMPLATE_VERSION} must be a whole number, not {raw_version!r}")
        return None
    return TemplateUse(number, int(text))


def runnable_problem(template: Mapping[str, Any]) -> str | None:
    """Why a step cannot use this template version here, or None when it can."""
    name = template.get("Name") or "?"
    action_type = template.get("ActionType") or ""
    properties = template.get("Properties") or {}
    if action_type != SCRIPT_ACTION:
        return (
            f"the step template '{name}' is of type {action_type}, which cannot run here: "
            f"only {SCRIPT_ACTION} templates in Bash or Python can"
        )
    syntax = (properties.get(SCRIPT_SYNTAX) or "").strip() or DEFAULT_SYNTAX
    if syntax.casefold() == "powershell":
        return (
            f"the step template '{name}' is a PowerShell script, which cannot run: no worker offers pwsh "
            "yet; use a Bash or Python template"
        )
    if syntax.casefold() not in {s.casefold() for s in SUPPORTED_SYNTAXES}:
        return f"the step template '{name}' is a {syntax} script; only Bash and Python scripts run here"
    source = (properties.get(SCRIPT_SOURCE) or "").strip() or "Inline"
    if source.casefold() != "inline":
        return f"the step template '{name}' takes its script from a {source}, which no worker can fetch yet"
    if template.get("Packages"):
        return f"the step template '{name}' references packages, which no worker can fetch yet"
    if not (properties.get(SCRIPT_BODY) or "").strip():
        return f"the step template '{name}' has no script body"
    return None


def apply_template(
    action: dict[str, Any],
    template: Mapping[str, Any],
    version: int,
    previous: Mapping[str, Any] | None = None,
) -> None:
    """Make ``action`` run ``template`` at ``version`` (the caller checked :func:`runnable_problem`).

    ``template`` (and ``previous``, the version the action used before, if it used this template) are
    version documents with sensitive defaults in the clear, ``{HasValue, NewValue}``; the action's
    sensitive values are left in that form for the caller to seal.
    """
    properties: dict[str, Any] = action["Properties"]
    own = template.get("Properties") or {}
    for key in (previous or {}).get("Properties") or {}:
        if key not in own and key not in STEP_OWNED:
            properties.pop(key, None)
    for key, value in own.items():
        if key not in STEP_OWNED or key not in properties:
            properties[key] = value
    action["ActionType"] = template.get("ActionType") or SCRIPT_ACTION
    number = parse_id(Collection.ACTION_TEMPLATES, str(properties.get(TEMPLATE_ID, "")))
    if number is not None:
        properties[TEMPLATE_ID] = format_id(Collection.ACTION_TEMPLATES, number)
    properties[TEMPLATE_VERSION] = str(version)
    earlier = _defaults(previous)
    for parameter in template.get("Parameters") or ():
        name = parameter["Name"]
        given = _take(properties, name)
        if given is not None and name.casefold() in earlier and _same(given, earlier[name.casefold()]):
            given = None  # the old version's default, which the new version's replaces
        properties[name] = parameter_value(parameter, given)


def parameter_value(parameter: Mapping[str, Any], given: Any) -> Any:
    """The property a parameter becomes: the step's value (``given``, None when it set none), else the
    default, else empty; a sensitive parameter's is always ``{HasValue, NewValue}``."""
    value = given if given is not None else parameter.get("DefaultValue")
    if not is_sensitive(parameter):
        if isinstance(value, Mapping) and sensitive_fields(value) is not None:
            return dict(value)  # the step chose to keep its own value secret
        return value if isinstance(value, str) else ""
    fields = sensitive_fields(value)
    if fields is not None:
        return {"HasValue": bool(fields.get("hasvalue")) or bool(fields.get("newvalue")), **_new(fields)}
    text = value if isinstance(value, str) else ""
    return {"HasValue": bool(text), "NewValue": text or None}


def version_document(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What a version keeps: everything a step copies, with the name and description of that time."""
    keys = (
        "Name",
        "Description",
        "ActionType",
        "CommunityActionTemplateId",
        "Properties",
        "Parameters",
        "Packages",
    )
    return {key: fields.get(key) for key in keys}


def _new(fields: Mapping[str, Any]) -> dict[str, Any]:
    new = fields.get("newvalue")
    return {"NewValue": new if isinstance(new, str) else None}


def _defaults(document: Mapping[str, Any] | None) -> dict[str, Any]:
    if document is None:
        return {}
    return {str(p["Name"]).casefold(): parameter_value(p, None) for p in document.get("Parameters") or ()}


def _take(properties: dict[str, Any], name: str) -> Any:
    """Remove and answer the step's value for a parameter, its name matched exactly or else in any case
    (variable names are case-insensitive), None when it sets none."""
    if name not in properties:
        name = next((key for key in properties if key.casefold() == name.casefold()), name)
    return properties.pop(name, None)


def _same(given: Any, default: Any) -> bool:
    return _plain(given) == _plain(default) and _plain(given) is not None


def _plain(value: Any) -> str | None:
    fields = sensitive_fields(value)
    if fields is None:
        return value if isinstance(value, str) else None
    new = fields.get("newvalue")
    if isinstance(new, str):
        return new
    return "" if fields.get("hasvalue") is False else None


# --- Field helpers -------------------------------------------------------------------------------


def _fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).casefold(): v for k, v in doc.items()}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _required_text(value: Any, name: str, limit: int, errors: list[str]) -> str:
    text = _text(value)
    if not text:
        errors.append(f"Please provide the template's {name}")
    elif len(text) > limit:
        errors.append(f"{name} is longer than {limit} characters")
    return text


def _scalar(value: Any) -> str | None:
    """A value as the described system's string: booleans in .NET spelling, numbers as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    return None
