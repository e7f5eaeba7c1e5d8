"""Lifecycles: which environments a release may be deployed to, as pure functions.

A lifecycle is an ordered list of phases. A release may go to any environment of an *open* phase: the first
phase is always open, and the phase after an open one opens once that phase is complete (enough of its
environments have a successful deployment of the release) or is optional. Earlier phases stay open, so a
release can always be redeployed to where it has been.

Choices where the described system leaves room:

- A lifecycle with no phases follows the convention of one phase per environment of the space, ordered by
  ``SortOrder`` then id, so environments created later join without anyone editing the lifecycle.
- A phase that lists no environments ("any environment") covers the space's environments that no *other*
  phase lists, earlier or later. The documentation says "not added in previous phases"; reading it
  literally would put an environment listed in a later phase into the catch-all as well and so let a
  release reach Production before the phase that names Production. Excluding every listed environment
  keeps the invariant that an environment belongs to exactly one phase. When several phases list nothing,
  the first one takes the leftovers and the others end up empty.
- ``MinimumEnvironmentsBeforePromotion`` of 0 means "all"; a minimum larger than the phase (environments
  deleted since, or a catch-all that turned out small) is capped at the phase's size, and an empty phase is
  complete, so a stale lifecycle never blocks a release for good.
- Progress is judged strictly in phase order: a successful deployment in a later phase does not open it
  while an earlier required phase is incomplete (it may be left over from a lifecycle that was edited).
- Environment ids compare case-insensitively; answers use the space's own spelling of each id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_AUTOMATIC = "AutomaticDeploymentTargets"
_OPTIONAL = "OptionalDeploymentTargets"
_MINIMUM = "MinimumEnvironmentsBeforePromotion"
_BOOLEANS = ("IsOptionalPhase", "IsPriorityPhase")
_RETENTION = ("ReleaseRetentionPolicy", "TentacleRetentionPolicy")


@dataclass(frozen=True, slots=True)
class Phase:
    id: str
    name: str
    automatic: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    minimum_environments_before_promotion: int = 0
    is_optional: bool = False


@dataclass(frozen=True, slots=True)
class EnvironmentRef:
    id: str
    name: str
    sort_order: int


@dataclass(frozen=True, slots=True)
class EffectivePhase:
    """A phase resolved against the space's environments: conventions applied, unknown ids dropped."""

    name: str
    environment_ids: tuple[str, ...]
    automatic: tuple[str, ...]
    minimum_environments_before_promotion: int
    is_optional: bool

    @property
    def required(self) -> int:
        """Successful environments needed to complete the phase; capped so a shrunken phase can't block."""
        count = len(self.environment_ids)
        minimum = self.minimum_environments_before_promotion
        return count if minimum <= 0 else min(minimum, count)


@dataclass(frozen=True, slots=True)
class PhaseProgress:
    name: str
    environment_ids: tuple[str, ...]
    deployed: tuple[str, ...]  # environments of the phase with a successful deployment of the release
    required: int
    is_optional: bool
    complete: bool
    is_current: bool  # the furthest phase the release may be deployed to


@dataclass(frozen=True, slots=True)
class Progression:
    allowed: tuple[str, ...]
    phases: tuple[PhaseProgress, ...]


# --- Validation of what clients send ------------------------------------------------------------------


def parse_phases(raw: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Normalise a lifecycle body's ``Phases`` and collect every problem at once.

    All errors are reported together so a client fixes its document in one round trip. Whether the listed
    environments exist is left to the caller, which has the store.
    """
    if not isinstance(raw, list | tuple):
        return [], ["Phases must be a list of phases"]
    phases: list[dict[str, Any]] = []
    errors: list[str] = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            errors.append(f"Phase {position} must be an object")
            continue
        phase, problems = _parse_phase(item, position)
        phases.append(phase)
        errors.extend(problems)
    errors.extend(_duplicate_names(phases))
    errors.extend(_duplicate_ids(phases))
    errors.extend(_shared_environments(phases))
    return phases, errors


def _parse_phase(item: Mapping[str, Any], position: int) -> tuple[dict[str, Any], list[str]]:
    fields = {str(key).casefold(): value for key, value in item.items()}
    errors: list[str] = []
    name = fields.get("name")
    if isinstance(name, str) and name.strip():
        name = name.strip()
        label = f"Phase '{name}'"
    else:
        label = f"Phase {position}"
        errors.append(f"{label} must have a Name")
        name = ""
    phase_id = fields.get("id")
    if phase_id is None or phase_id == "":
        phase_id = str(uuid.uuid4())
    elif not isinstance(phase_id, str):
        errors.append(f"{label}: Id must be a string")
    phase: dict[str, Any] = {"Id": phase_id, "Name": name}
    for key in (_AUTOMATIC, _OPTIONAL):
        phase[key] = _parse_ids(fields.get(key.casefold()), f"{label}: {key}", errors)
    phase[_MINIMUM] = _parse_minimum(fields.get(_MINIMUM.casefold()), label, errors)
    for key in _BOOLEANS:
        value = fields.get(key.casefold())
        if value is not None and not isinstance(value, bool):
            errors.append(f"{label}: {key} must be true or false")
        phase[key] = value is True
    for key in _RETENTION:
        value = fields.get(key.casefold())
        if value is not None and not isinstance(value, Mapping):
            errors.append(f"{label}: {key} must be an object or null")
        phase[key] = dict(value) if isinstance(value, Mapping) else None
    return phase, errors


def _parse_ids(value: Any, where: str, errors: list[str]) -> list[str]:
    """Keep the first spelling of each id: a repeat inside one list is harmless, so it is dropped quietly."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors.append(f"{where} must be a list of environment ids")
        return []
    ids: list[str] = []
    seen: set[str] = set()
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            errors.append(f"{where} must contain environment ids (non-empty strings), not {entry!r}")
            continue
        if entry.casefold() not in seen:
            seen.add(entry.casefold())
            ids.append(entry)
    return ids


def _parse_minimum(value: Any, label: str, errors: list[str]) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{label}: {_MINIMUM} must be a whole number")
        return 0
    if value < 0:
        errors.append(f"{label}: {_MINIMUM} cannot be negative (0 means all environments)")
        return 0
    return value


def _duplicate_names(phases: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"Phase names must be unique: '{name}' is used more than once"
        for name in _repeated(str(phase["Name"]) for phase in phases if phase["Name"])
    ]


def _duplicate_ids(phases: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"Phase ids must be unique: '{phase_id}' is used more than once"
        for phase_id in _repeated(phase["Id"] for phase in phases if isinstance(phase["Id"], str))
    ]


def _repeated(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    reported: set[str] = set()
    repeated: list[str] = []
    for value in values:
        folded = value.casefold()
        if folded in seen and folded not in reported:
            reported.add(folded)
            repeated.append(value)
        seen.add(folded)
    return repeated


def _shared_environments(phases: Sequence[Mapping[str, Any]]) -> list[str]:
    """An environment in two places would make its phase, and so the release's promotion, ambiguous."""
    errors: list[str] = []
    owner: dict[str, tuple[int, str]] = {}
    for position, phase in enumerate(phases, start=1):
        label = f"phase '{phase['Name']}'" if phase["Name"] else f"phase {position}"
        automatic = {env.casefold() for env in phase[_AUTOMATIC]}
        for env in phase[_OPTIONAL]:
            if env.casefold() in automatic:
                errors.append(f"Environment '{env}' is listed as both automatic and optional in {label}")
        for env in [*phase[_AUTOMATIC], *phase[_OPTIONAL]]:
            first, first_label = owner.setdefault(env.casefold(), (position, label))
            if first != position:
                errors.append(f"Environment '{env}' is listed in both {first_label} and {label}")
    return errors


def phases_from_json(raw: Sequence[Mapping[str, Any]]) -> list[Phase]:
    """Read phases as stored by :func:`parse_phases`; defaults only guard against older documents."""
    return [
        Phase(
            id=str(item.get("Id") or ""),
            name=str(item.get("Name") or ""),
            automatic=tuple(item.get(_AUTOMATIC) or ()),
            optional=tuple(item.get(_OPTIONAL) or ()),
            minimum_environments_before_promotion=int(item.get(_MINIMUM) or 0),
            is_optional=bool(item.get("IsOptionalPhase", False)),
        )
        for item in raw
    ]


# --- Resolution and progression ------------------------------------------------------------------------


def _ordered(environments: Iterable[EnvironmentRef]) -> list[EnvironmentRef]:
    return sorted(environments, key=lambda env: (env.sort_order, env.id.casefold(), env.id))


def effective_phases(phases: Sequence[Phase], environments: Sequence[EnvironmentRef]) -> list[EffectivePhase]:
    """Resolve conventions once, so progression and messages never disagree about who is in which phase."""
    ordered = _ordered(environments)
    if not phases:
        return [EffectivePhase(env.name, (env.id,), (), 0, False) for env in ordered]
    listed = {env.casefold() for phase in phases for env in (*phase.automatic, *phase.optional)}
    claimed: set[str] = set()
    resolved: list[EffectivePhase] = []
    for phase in phases:
        if phase.automatic or phase.optional:
            wanted = {env.casefold() for env in (*phase.automatic, *phase.optional)}
        else:
            wanted = {env.id.casefold() for env in ordered} - listed - claimed
        members = tuple(env.id for env in ordered if env.id.casefold() in wanted - claimed)
        claimed.update(env.casefold() for env in members)
        automatic = {env.casefold() for env in phase.automatic}
        resolved.append(
            EffectivePhase(
                name=phase.name,
                environment_ids=members,
                automatic=tuple(env for env in members if env.casefold() in automatic),
                minimum_environments_before_promotion=phase.minimum_environments_before_promotion,
                is_optional=phase.is_optional,
            )
        )
    return resolved


def _progress(resolved: Sequence[EffectivePhase], succeeded: Iterable[str]) -> list[PhaseProgress]:
    done = {env.casefold() for env in succeeded}
    deployed = [tuple(env for env in phase.environment_ids if env.casefold() in done) for phase in resolved]
    complete = [len(ids) >= phase.required for phase, ids in zip(resolved, deployed, strict=True)]
    current = -1
    for index, phase in enumerate(resolved):
        current = index
        if not (complete[index] or phase.is_optional):
            break
    return [
        PhaseProgress(
            name=phase.name,
            environment_ids=phase.environment_ids,
            deployed=deployed[index],
            required=phase.required,
            is_optional=phase.is_optional,
            complete=complete[index],
            is_current=index == current,
        )
        for index, phase in enumerate(resolved)
    ]


def progression(
    phases: Sequence[Phase], environments: Sequence[EnvironmentRef], succeeded: Iterable[str]
) -> Progression:
    """Where a release stands; ``succeeded`` holds the environments with a successful deployment of it."""
    rows = _progress(effective_phases(phases, environments), succeeded)
    allowed: list[str] = []
    for row in rows:
        allowed.extend(env for env in row.environment_ids if env not in allowed)
        if row.is_current:
            break
    return Progression(allowed=tuple(allowed), phases=tuple(rows))


def refusal(
    phases: Sequence[Phase],
    environments: Sequence[EnvironmentRef],
    succeeded: Iterable[str],
    environment_id: str,
    lifecycle_name: str,
) -> str | None:
    """Say why a deployment must wait, naming what would unblock it, so the 400 is actionable."""
    state = progression(phases, environments, succeeded)
    wanted = environment_id.casefold()
    if any(env.casefold() == wanted for env in state.allowed):
        return None
    names = {env.id.casefold(): env.name for env in environments}
    target = names.get(wanted, environment_id)
    if not any(env.casefold() == wanted for row in state.phases for env in row.environment_ids):
        return (
            f"Release cannot be deployed to '{target}': '{target}' is not in the lifecycle '{lifecycle_name}'"
        )
    current = next(row for row in state.phases if row.is_current)
    waiting = [names[env.casefold()] for env in current.environment_ids if env not in current.deployed]
    needed = current.required - len(current.deployed)
    requirement = _needs(needed, waiting)
    return f"Release cannot be deployed to '{target}' yet: the lifecycle requires {requirement} first"


def _needs(needed: int, waiting: Sequence[str]) -> str:
    if needed >= len(waiting):
        noun = "a successful deployment" if len(waiting) == 1 else "successful deployments"
        return f"{noun} to {_join(waiting, 'and')}"
    if needed == 1:
        return f"a successful deployment to one of {_join(waiting, 'or')}"
    return f"successful deployments to {needed} of {_join(waiting, 'or')}"


def _join(names: Sequence[str], conjunction: str) -> str:
    quoted = [f"'{name}'" for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} {conjunction} {quoted[-1]}"


def automatic_environments(
    phases: Sequence[Phase], environments: Sequence[EnvironmentRef], succeeded: Iterable[str]
) -> tuple[str, ...]:
    """Automatic targets the release has reached but not yet succeeded in, to be deployed without a user.

    Optional phases are left out, as in the described system: a phase meant to be skippable should not
    start work on its own. Deployments already queued or running are the caller's to exclude.
    """
    done = {env.casefold() for env in succeeded}
    resolved = effective_phases(phases, environments)
    rows = _progress(resolved, done)
    answer: list[str] = []
    for phase, row in zip(resolved, rows, strict=True):
        if not phase.is_optional:
            answer.extend(env for env in phase.automatic if env.casefold() not in done)
        if row.is_current:
            break
    return tuple(answer)
