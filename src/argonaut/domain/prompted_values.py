"""Which required prompted variables a run lacks a value for, as a pure rule.

A prompted variable asks whoever starts a run for its value (``FormValues``, keyed by the variable's
name). One whose ``Prompt.Required`` is true must end up with a value: the one given, else its stored
default. Checked when the run is created, so the person starting it is told while still looking at the
form, and a scheduled run is refused with the reason instead of running a script with a blank value.
A prompted variable scoped to environments applies only in those (prompts may only be scoped to
environments); the stored entries are a variable set's as ``service/variables.py`` keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argonaut.domain.variables import ScopeField, Variable

SECRET_KEY = "Secret"  # where a stored sensitive entry keeps its (encrypted) value


def _has_default(entry: Mapping[str, Any]) -> bool:
    if entry.get("IsSensitive"):
        return bool(entry.get(SECRET_KEY))
    value = entry.get("Value")
    return isinstance(value, str) and value.strip() != ""


def _applies(entry: Mapping[str, Any], environment_id: str) -> bool:
    scope = entry.get("Scope") or {}
    environments = scope.get(ScopeField.ENVIRONMENT.value) or []
    return not environments or environment_id.casefold() in {str(e).casefold() for e in environments}


def missing_prompted_values(
    variables: Sequence[Mapping[str, Any]], environment_id: str, form_values: Mapping[str, str]
) -> list[str]:
    """One message per required prompted variable that applies in ``environment_id`` and has neither a
    non-blank value in ``form_values`` nor a stored default; each message quotes the variable's name."""
    given = {name.casefold() for name, value in form_values.items() if str(value).strip()}
    required: dict[str, tuple[str, str]] = {}  # folded name -> (name, label), in the set's order
    defaults: set[str] = set()
    for entry in variables:
        name = str(entry.get("Name") or "")
        if not _applies(entry, environment_id):
            continue
        if _has_default(entry):
            defaults.add(name.casefold())
        prompt = entry.get("Prompt")
        if isinstance(prompt, Mapping) and prompt.get("Required"):
            required.setdefault(name.casefold(), (name, str(prompt.get("Label") or "")))
    problems = []
    for folded, (name, label) in required.items():
        if folded not in given and folded not in defaults:
            called = f" ({label})" if label and label != name else ""
            problems.append(f"FormValues: the prompted variable '{name}'{called} requires a value")
    return problems


def prompt_form(variables: Sequence[Variable], environment_id: str) -> dict[str, Any]:
    """The described system's ``Form`` of a deployment preview: one element per prompted variable that
    applies in ``environment_id`` (first of a name wins, as the check above), each keyed by the variable's
    name as ``FormValues`` is, and the non-sensitive defaults as ``Values``. A sensitive default is never
    shown; leaving its field empty keeps it."""
    elements: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    seen: set[str] = set()
    folded_env = environment_id.casefold()
    for variable in variables:
        if variable.prompt is None or variable.name.casefold() in seen:
            continue
        environments = variable.scope.get(ScopeField.ENVIRONMENT) or frozenset()
        if environments and folded_env not in {e.casefold() for e in environments}:
            continue
        seen.add(variable.name.casefold())
        prompt = variable.prompt
        elements.append(
            {
                "Name": variable.name,
                "Control": {
                    "Type": "VariableValue",
                    "Name": variable.name,
                    "Label": str(prompt.get("Label") or variable.name),
                    "Description": str(prompt.get("Description") or ""),
                    "Required": bool(prompt.get("Required")),
                    "IsSensitive": variable.is_sensitive,
                },
                "IsValueRequired": bool(prompt.get("Required")),
            }
        )
        if not variable.is_sensitive and variable.value:
            values[variable.name] = variable.value
    return {"Values": values, "Elements": elements}
