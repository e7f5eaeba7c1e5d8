"""What a project's variables may be scoped to, checked when the set is saved and listed for clients.

Scope values are ids (roles are names): environments and deployment targets of the space, channels and
step actions of the project, and the project itself as the deployment process's owner. An id that names
nothing would be a scope that never matches, a silent mistake, so it is refused, unless the stored set
already held it: a client's GET-then-PUT must still succeed after someone deleted that environment.
Tenants do not exist here, so Tenant and TenantTag scopes are refused.

``ScopeValues`` (the lookup lists the described system sends with a variable set) is built from the same
queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id
from argonaut.domain.owned_ids import Owned, owned_id
from argonaut.domain.processes import split_roles
from argonaut.domain.variables import ScopeField, Variable
from argonaut.service.checks import resolve_ids
from argonaut.store import processes_repo, projects_repo, references
from argonaut.store.connection import Conn

_BY_ID = {
    ScopeField.ENVIRONMENT: (Collection.ENVIRONMENTS, "environment"),
    ScopeField.MACHINE: (Collection.MACHINES, "deployment target"),
    ScopeField.CHANNEL: (Collection.CHANNELS, "channel of this project"),
}


@dataclass(frozen=True, slots=True)
class ScopeChecker:
    project_id: str
    project_name: str
    named: Mapping[ScopeField, Mapping[int, str]]  # environments, targets, channels: id -> name
    actions: Mapping[str, str]  # action id, case-folded -> as the process spells it
    action_names: Mapping[str, str]  # action id as the process spells it -> action name
    step_roles: Sequence[str]
    before: Mapping[ScopeField, frozenset[str]]  # case-folded values the stored set already held

    @classmethod
    async def load(cls, conn: Conn, space_id: int, variable_set: RowMapping) -> ScopeChecker:
        project_number = int(variable_set["project_id"])
        project = await projects_repo.get_project(conn, space_id, project_number)
        process = await processes_repo.get_process(conn, owned_id(Owned.PROCESS, project_number))
        steps: Sequence[Mapping[str, Any]] = process["steps"] if process is not None else []
        action_names = {
            str(action["Id"]): str(action["Name"]) for step in steps for action in step.get("Actions") or ()
        }
        roles = [
            role
            for step in steps
            for role in split_roles(str((step.get("Properties") or {}).get("Octopus.Action.TargetRoles", "")))
        ]
        before: dict[ScopeField, set[str]] = {}
        for entry in variable_set["variables"]:
            for key, values in (entry.get("Scope") or {}).items():
                before.setdefault(ScopeField(key), set()).update(str(v).casefold() for v in values)
        return cls(
            project_id=format_id(Collection.PROJECTS, project_number),
            project_name=str(project["name"]) if project is not None else "",
            named={
                ScopeField.ENVIRONMENT: await references.environment_names(conn, space_id),
                ScopeField.MACHINE: await references.target_names(conn, space_id),
                ScopeField.CHANNEL: await references.channel_names(conn, project_number),
            },
            actions={action_id.casefold(): action_id for action_id in action_names},
            action_names=action_names,
            step_roles=roles + await references.target_roles(conn, space_id),
            before={key: frozenset(values) for key, values in before.items()},
        )

    def scope(self, variable: Variable, errors: list[str]) -> dict[str, list[str]]:
        """The variable's scope in stored form (canonical ids, values sorted), errors appended."""
        label = f"Variable '{variable.name}'"
        answer: dict[str, list[str]] = {}
        for key, values in variable.scope.items():
            ordered = sorted(values, key=str.casefold)
            where = f"{label}: Scope {key.value}"
            tolerated = self.before.get(key, frozenset())
            if key in _BY_ID:
                collection, noun = _BY_ID[key]
                kept = resolve_ids(
                    collection, ordered, self.named[key], where, errors, noun=noun, tolerated=tolerated
                )
            elif key is ScopeField.ACTION:
                kept = self._known(
                    ordered, self.actions, where, "step of this project's process", tolerated, errors
                )
            elif key is ScopeField.PROCESS_OWNER:
                owners = {self.project_id.casefold(): self.project_id}
                kept = self._known(ordered, owners, where, "process of this project", tolerated, errors)
            elif key is ScopeField.ROLE:
                kept = _distinct(ordered)
            else:
                errors.append(f"{where}: this server has no tenants, so variables cannot be scoped to them")
                continue
            if kept:
                answer[key.value] = kept
        return answer

    @staticmethod
    def _known(
        values: Sequence[str],
        known: Mapping[str, str],
        where: str,
        noun: str,
        tolerated: frozenset[str],
        errors: list[str],
    ) -> list[str]:
        kept: list[str] = []
        for value in values:
            spelled = known.get(value.casefold()) or (value if value.casefold() in tolerated else None)
            if spelled is None:
                errors.append(f"{where}: '{value}' is not a {noun}")
            elif spelled not in kept:
                kept.append(spelled)
        return kept

    def scope_values(self, stored: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """The described system's ``ScopeValues``: what a client may pick from, with names to show."""
        roles = list(self.step_roles)
        for entry in stored:
            roles.extend((entry.get("Scope") or {}).get(ScopeField.ROLE.value, ()))
        return {
            "Environments": _pairs(Collection.ENVIRONMENTS, self.named[ScopeField.ENVIRONMENT]),
            "Machines": _pairs(Collection.MACHINES, self.named[ScopeField.MACHINE]),
            "Actions": [{"Id": action_id, "Name": name} for action_id, name in self.action_names.items()],
            "Roles": [{"Id": role, "Name": role} for role in sorted(_distinct(roles), key=str.casefold)],
            "Channels": _pairs(Collection.CHANNELS, self.named[ScopeField.CHANNEL]),
            "TenantTags": [],
            "Processes": [{"Id": self.project_id, "Name": self.project_name, "ProcessType": "Deployment"}],
        }


def _pairs(collection: Collection, names: Mapping[int, str]) -> list[dict[str, Any]]:
    return [{"Id": format_id(collection, number), "Name": name} for number, name in names.items()]


def _distinct(values: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if value.strip():
            seen.setdefault(value.strip().casefold(), value.strip())
    return list(seen.values())
