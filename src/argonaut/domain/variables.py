"""Project variables: validation of a variable set, scoping, and which value wins, as in Octopus Deploy.

A variable set holds many values of one name, each scoped to environments, machines, roles, steps and
so on; the value a step sees is the most specific one whose scope matches where and for what the step
runs. Clients and imported projects rely on Octopus's rules, so they are followed here:

* names are case-insensitive; scope values (ids, role names, tenant tags) are too, because clients send
  ``environments-1`` and roles as typed by people;
* values of one scope dimension are OR'ed, dimensions are AND'ed; a dimension the context does not know
  (a machine scope while no machine is involved) does not match;
* precedence is described at :func:`specificity`.

Resolution runs per step per target, so everything case-folding needs is computed once, when a
:class:`Variable` or :class:`ScopeContext` is built, and :func:`resolve` only intersects small sets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ScopeField(StrEnum):
    """The keys of a variable's ``Scope`` in the API.

    Octopus has more (Private, User, Trigger, ParentDeployment, TargetRole, Project), but they are set by
    the server for its own bookkeeping and never accepted from clients, so they are unknown here.
    """

    ENVIRONMENT = "Environment"
    MACHINE = "Machine"
    ROLE = "Role"
    ACTION = "Action"
    CHANNEL = "Channel"
    PROCESS_OWNER = "ProcessOwner"
    TENANT_TAG = "TenantTag"
    TENANT = "Tenant"


VARIABLE_TYPES: tuple[str, ...] = (
    "String",
    "Sensitive",
    "Certificate",
    "AmazonWebServicesAccount",
    "AzureAccount",
    "WorkerPool",
    "UsernamePasswordAccount",
    "GenericOidcAccount",
    "GoogleCloudAccount",
)
_TYPES_FOLDED = {name.casefold(): name for name in VARIABLE_TYPES}
_SCOPE_FIELDS_FOLDED = {member.value.casefold(): member for member in ScopeField}

# Specificity bits, highest precedence first. Lexicographic comparison of "has this dimension" flags
# from the top rank down is the same as comparing these integers, which is cheaper than tuples.
_ACTION = 1 << 8
_MACHINE = 1 << 7
_TARGETED_ROLE = 1 << 6
_ROLE = 1 << 5
_TENANT = 1 << 4
_TENANT_TAG = 1 << 3
_ENVIRONMENT = 1 << 2
_CHANNEL = 1 << 1
_PROCESS_OWNER = 1 << 0

# The bit of each dimension whose rank does not depend on the context; Role is ranked per context.
_FIXED_BITS: dict[ScopeField, int] = {
    ScopeField.ACTION: _ACTION,
    ScopeField.MACHINE: _MACHINE,
    ScopeField.TENANT: _TENANT,
    ScopeField.TENANT_TAG: _TENANT_TAG,
    ScopeField.ENVIRONMENT: _ENVIRONMENT,
    ScopeField.CHANNEL: _CHANNEL,
    ScopeField.PROCESS_OWNER: _PROCESS_OWNER,
}


_FoldedScope = tuple[tuple[ScopeField, frozenset[str]], ...]


def _fold(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.casefold() for value in values)


@dataclass(frozen=True, slots=True)
class Variable:
    """One value of a variable, with its scope as the API spells it (ids, role names, action GUIDs).

    ``scope`` keeps the client's spelling so it can be returned unchanged; matching uses a case-folded
    copy made at construction, so the mapping must not be changed afterwards. A dimension with no values
    is treated as absent (unscoped in it), as an empty list in the API means.

    ``scope`` and ``prompt`` are left out of the hash (mappings are not hashable) but not out of
    equality, so variables can still be put in sets.
    """

    id: str
    name: str
    value: str | None
    is_sensitive: bool
    scope: Mapping[ScopeField, frozenset[str]] = field(hash=False)
    type: str = "String"
    description: str = ""
    prompt: Mapping[str, Any] | None = field(default=None, hash=False)
    _folded_name: str = field(init=False, repr=False, compare=False)
    _folded_scope: _FoldedScope = field(init=False, repr=False, compare=False)
    _fixed_bits: int = field(init=False, repr=False, compare=False)
    _folded_roles: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = tuple(
            (ScopeField(key), _fold(values)) for key, values in self.scope.items() if len(values) > 0
        )
        object.__setattr__(self, "_folded_name", self.name.casefold())
        object.__setattr__(self, "_folded_scope", folded)
        object.__setattr__(self, "_fixed_bits", sum(_FIXED_BITS.get(key, 0) for key, _ in folded))
        object.__setattr__(self, "_folded_roles", dict(folded).get(ScopeField.ROLE))

    @property
    def folded_name(self) -> str:
        """The key under which values of this name compete; Octopus names are case-insensitive."""
        return self._folded_name


@dataclass(frozen=True, slots=True)
class ScopeContext:
    """Where and for what a step runs, as the ids and names variable scopes are compared with.

    ``machine_roles`` are the roles of the machine the step runs on (or on behalf of); ``step_roles``
    are the roles the step targets. Both are needed because a role the step targets outranks a role the
    machine merely has.
    """

    environment_id: str | None = None
    machine_id: str | None = None
    machine_roles: frozenset[str] = frozenset()
    step_roles: frozenset[str] = frozenset()
    action_id: str | None = None
    channel_id: str | None = None
    process_owner_id: str | None = None
    tenant_id: str | None = None
    tenant_tags: frozenset[str] = frozenset()
    _dimensions: dict[ScopeField, frozenset[str]] = field(init=False, repr=False, compare=False)
    _targeted_roles: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        singles = {
            ScopeField.ENVIRONMENT: self.environment_id,
            ScopeField.MACHINE: self.machine_id,
            ScopeField.ACTION: self.action_id,
            ScopeField.CHANNEL: self.channel_id,
            ScopeField.PROCESS_OWNER: self.process_owner_id,
            ScopeField.TENANT: self.tenant_id,
        }
        dimensions = {key: frozenset({value.casefold()}) for key, value in singles.items() if value}
        machine_roles = _fold(self.machine_roles)
        if machine_roles:
            dimensions[ScopeField.ROLE] = machine_roles
        tenant_tags = _fold(self.tenant_tags)
        if tenant_tags:
            dimensions[ScopeField.TENANT_TAG] = tenant_tags
        object.__setattr__(self, "_dimensions", dimensions)
        object.__setattr__(self, "_targeted_roles", machine_roles & _fold(self.step_roles))


def matches(variable: Variable, context: ScopeContext) -> bool:
    """Whether ``variable`` is a candidate in ``context``.

    Every scoped dimension must share a value with the context (AND across dimensions, OR within one).
    A dimension the context has no value for fails, so a machine-scoped value never leaks into a step
    that runs on no machine.
    """
    dimensions = context._dimensions
    for key, scoped in variable._folded_scope:
        present = dimensions.get(key)
        if present is None or scoped.isdisjoint(present):
            return False
    return True


def specificity(variable: Variable, context: ScopeContext) -> int:
    """Sort key of a matching variable: the larger, the more specific; meaningless if it does not match.

    Precedence, high to low, as in Octopus: action, machine, a role on the machine that the step targets,
    a role on the machine, tenant, tenant tag, environment, channel, process owner, unscoped.

    Each of those ranks is a flag, "the variable is scoped in this dimension", and variables compare
    lexicographically over the flags from the highest rank down: the highest-ranked dimension decides,
    and only if both have it (or both lack it) does the next one count. This is how "more dimensions beat
    fewer, like CSS" is read: Environment+Channel beats Environment alone, but Action alone still beats
    Machine+Environment+Channel, because a value written for one step is the most deliberate choice there
    is. It also keeps the order total and explainable, unlike Octopus's legacy summed weights (where
    TenantTag+Environment outranked Tenant). The flags are packed into an ``int`` so the comparison is
    one integer comparison.

    Only which dimensions are scoped counts, never how many values each lists: ``[Dev]`` and
    ``[Dev, Test]`` are equally specific in Dev (the reference ranks dimensions, not values), and the tie
    rule of :func:`resolve` decides between them.

    The Role dimension takes exactly one of its two ranks: "targeted" when any role it lists is both on
    the machine and targeted by the step, else plain "role on the machine". (Setting both flags for a
    targeted role would order every pair the same way.)
    """
    roles = variable._folded_roles
    if roles is None:
        return variable._fixed_bits
    return variable._fixed_bits | (_ROLE if roles.isdisjoint(context._targeted_roles) else _TARGETED_ROLE)


def resolve(variables: Iterable[Variable], context: ScopeContext) -> dict[str, Variable]:
    """The winning variable of each name in ``context``, keyed by the case-folded name.

    Among equally specific candidates the first in ``variables`` wins. Octopus leaves that tie
    undefined; a fixed rule makes deployments repeatable and lets a caller merging several sets put the
    one that should win (the project's own before library sets, as Octopus prefers) first.
    """
    winners: dict[str, tuple[int, Variable]] = {}
    for variable in variables:
        if not matches(variable, context):
            continue
        rank = specificity(variable, context)
        current = winners.get(variable._folded_name)
        if current is None or rank > current[0]:
            winners[variable._folded_name] = (rank, variable)
    return {name: variable for name, (_, variable) in winners.items()}


def values(resolved: Mapping[str, Variable]) -> dict[str, str]:
    """Name to value, with the name spelled as the winning variable writes it (scripts and logs show it).

    A ``None`` value (a sensitive value that was not loaded, or was never set) becomes ``""``: the
    variable exists, and substituting nothing is what Octopus does for an empty value.
    """
    return {variable.name: variable.value or "" for variable in resolved.values()}


def all_values(variables: Iterable[Variable], context: ScopeContext) -> tuple[dict[str, str], frozenset[str]]:
    """The winning values by name, and the names among them whose value is sensitive, for masking."""
    resolved = resolve(variables, context)
    sensitive = frozenset(variable.name for variable in resolved.values() if variable.is_sensitive)
    return values(resolved), sensitive


def output_variable_names(
    action_name: str, machine_name: str | None, name: str, *, machine_id: str | None = None
) -> list[tuple[str, str | None]]:
    """The names under which an output variable a script sets is published, with their machine scope.

    Octopus publishes, for action ``StepA`` on machine ``Web01`` setting ``X``:

    * ``Octopus.Action[StepA].Output[Web01].X``, unscoped, so any later step can read each machine's value;
    * ``Octopus.Action[StepA].Output.X`` scoped to that machine, so a later step on Web01 reads its own;
    * ``Octopus.Action[StepA].Output.X`` unscoped, so steps elsewhere see *a* value (the last machine to
      write it wins; Octopus documents that as non-deterministic).

    A step that ran on no machine (on a worker, for no target) publishes only the unscoped
    ``Octopus.Action[StepA].Output.X``. The scope returned is ``machine_id`` when given, since variable
    scopes hold ids, else the machine's name. Pairs come in publication order: store them in that order
    so the unscoped value is the last write.
    """
    short = f"Octopus.Action[{action_name}].Output.{name}"
    if machine_name is None:
        return [(short, None)]
    return [
        (f"Octopus.Action[{action_name}].Output[{machine_name}].{name}", None),
        (short, machine_id or machine_name),
        (short, None),
    ]


def validate_variable_set(raw: Sequence[Mapping[str, Any]]) -> tuple[list[Variable], list[str]]:
    """Parse the ``Variables`` array of a variable set PUT into variables and readable errors.

    The variable set is replaced as a whole, so every problem is reported at once (one message each,
    naming the variable) instead of stopping at the first; the caller rejects the PUT if any error is
    returned. Variables that parsed are returned either way. Key names match case-insensitively;
    read-only keys (``IsEditable``, ``Links``, ...) are ignored because clients send back what they GET.

    Whether scope ids name existing environments, machines, etc. is not checked here: that needs the
    store, and the caller has it.
    """
    parsed: list[Variable] = []
    errors: list[str] = []
    seen_ids: dict[str, str] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            errors.append(f"Variable #{index + 1} must be an object")
            continue
        variable = _parse_variable(index, item, errors)
        if variable is None:
            continue
        label = _label(index, variable.name)
        first = seen_ids.get(variable.id.casefold())
        if first is not None:
            errors.append(f"{label}: Variable ids must be unique; id '{variable.id}' is also used by {first}")
            continue
        seen_ids[variable.id.casefold()] = label
        parsed.append(variable)
    return parsed, errors


def _label(index: int, name: Any) -> str:
    if isinstance(name, str) and name.strip():
        return f"Variable '{name}' (#{index + 1})"
    return f"Variable #{index + 1}"


def _parse_variable(index: int, item: Mapping[str, Any], errors: list[str]) -> Variable | None:
    """One variable, or None with its errors appended when it cannot be built."""
    keys = {str(key).casefold(): value for key, value in item.items()}
    name = keys.get("name")
    label = _label(index, name)
    problems: list[str] = []
    if not isinstance(name, str) or not name.strip():
        problems.append("Name is required")
    variable_id = keys.get("id")
    if variable_id is None or variable_id == "":
        variable_id = str(uuid.uuid4())
    elif not isinstance(variable_id, str):
        problems.append("Id must be a string")
    value = keys.get("value")
    if value is not None and not isinstance(value, str):
        problems.append("Value must be a string or null")
    description = keys.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("Description must be a string")
    is_sensitive = keys.get("issensitive")
    if is_sensitive is not None and not isinstance(is_sensitive, bool):
        problems.append("IsSensitive must be true or false")
    variable_type = _parse_type(keys.get("type"), bool(is_sensitive), problems)
    scope = _parse_scope(keys.get("scope"), problems)
    prompt = keys.get("prompt")
    if prompt is not None and not isinstance(prompt, Mapping):
        problems.append("Prompt must be an object or null")
    elif prompt is not None and any(key is not ScopeField.ENVIRONMENT for key in scope):
        problems.append("Prompted variables may only be scoped to environments")
    errors.extend(f"{label}: {problem}" for problem in problems)
    if problems:
        return None
    return Variable(
        id=str(variable_id),
        name=str(name),
        value=value,
        is_sensitive=bool(is_sensitive) or variable_type == "Sensitive",
        scope=scope,
        type=variable_type,
        description=description or "",
        prompt=dict(prompt) if prompt is not None else None,
    )


def _parse_type(raw: Any, is_sensitive: bool, problems: list[str]) -> str:
    """The canonical type name. ``IsSensitive`` alone still makes a String sensitive.

    Octopus keeps ``IsSensitive`` only for older clients, which send it with no ``Type`` (so String);
    reading that as Sensitive keeps their secrets secret.
    """
    if raw is None:
        return "Sensitive" if is_sensitive else "String"
    canonical = _TYPES_FOLDED.get(raw.casefold()) if isinstance(raw, str) else None
    if canonical is None:
        problems.append(f"Type must be one of {', '.join(VARIABLE_TYPES)}")
        return "String"
    if canonical == "String" and is_sensitive:
        return "Sensitive"
    return canonical


def _parse_scope(raw: Any, problems: list[str]) -> dict[ScopeField, frozenset[str]]:
    """The scope with canonical keys; empty value lists are dropped, as they scope nothing."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append("Scope must be an object mapping scope names to lists of ids")
        return {}
    scope: dict[ScopeField, frozenset[str]] = {}
    for key, values in raw.items():
        scope_field = _SCOPE_FIELDS_FOLDED.get(key.casefold()) if isinstance(key, str) else None
        if scope_field is None:
            known = ", ".join(member.value for member in ScopeField)
            problems.append(f"unknown scope '{key}'; scopes are {known}")
            continue
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            problems.append(f"Scope {scope_field.value} must be a list of strings")
            continue
        if values:
            scope[scope_field] = scope.get(scope_field, frozenset()) | frozenset(values)
    return scope
