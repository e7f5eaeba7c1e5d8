"""Step templates: creating (or importing from the community library), editing into new versions,
deleting what no process uses, and expanding the steps that use one when their process is saved.

Every save is a new ``Version`` (the first is 0, as in the described system), and every version is
kept, so a step keeps the script of the version it names until it is moved to another. Sensitive
parameter defaults are encrypted with the master key, shown as ``{HasValue, NewValue: null}`` and kept
when a client sends ``HasValue: true`` back without a value (the rules of ``sensitive_values``).

The pure rules (the template's shape, what a step gets from it) are ``domain/templates.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.domain.processes import TEMPLATE_ID
from argonaut.domain.templates import (
    FIRST_VERSION,
    TEMPLATE_VERSION,
    apply_template,
    clashing_names,
    is_sensitive,
    normalize_template,
    runnable_problem,
    template_use,
    version_document,
)
from argonaut.security.master_key import SecretBox
from argonaut.service.checks import raise_if
from argonaut.service.errors import NotFound
from argonaut.service.sensitive_values import hidden, opened, sealed, sensitive_fields, stored_secret
from argonaut.store import action_templates_repo
from argonaut.store.common import Refused
from argonaut.store.connection import Conn

_STORED = ("CommunityActionTemplateId", "Properties", "Parameters", "Packages")


@dataclass(frozen=True, slots=True)
class Usage:
    """One action of a live process that uses a template."""

    process_id: str
    owner_id: str
    project_id: int
    project_name: str
    project_slug: str
    runbook_name: str | None
    step_id: str
    step_name: str
    action_id: str
    action_name: str
    version: str


# --- Templates -----------------------------------------------------------------------------------


async def find_template(conn: Conn, space_id: int, template_id: str) -> RowMapping:
    number = parse_id(Collection.ACTION_TEMPLATES, template_id)
    row = await action_templates_repo.get(conn, space_id, number) if number is not None else None
    if row is None:
        raise NotFound(template_id)
    return row


async def create_template(
    conn: Conn, space_id: int, fields: Mapping[str, Any], secrets: SecretBox, by: str
) -> int:
    """A new template from what a client sent (a community library export as it is, or our own shape)."""
    document, errors = normalize_template(fields, creating=True)
    raise_if(errors)
    _seal_defaults(document["Parameters"], (), secrets)
    values = {
        "name": document["Name"],
        "description": document["Description"],
        "action_type": document["ActionType"],
        "document": {key: document[key] for key in _STORED},
    }
    return await action_templates_repo.create_template(
        conn, space_id, values, FIRST_VERSION, version_document(document), by
    )


async def update_template(
    conn: Conn, space_id: int, row: RowMapping, fields: Mapping[str, Any], secrets: SecretBox, by: str
) -> int:
    """Save what the client sent over ``row`` as the next version (fields left out are kept); answers it.
    ``ActionType`` and ``CommunityActionTemplateId`` are the ones it was created with."""
    changes, errors = normalize_template(fields, creating=False)
    given_type = changes.pop("ActionType", None)
    if given_type and given_type != row["action_type"]:
        errors.append(
            f"A step template's ActionType cannot change (this one is {row['action_type']}): "
            "create a new template instead"
        )
    current = _document(row)
    merged = {**current, **changes}
    errors.extend(clashing_names(merged["Properties"], merged["Parameters"]))
    raise_if(errors)
    if "Parameters" in changes:
        _seal_defaults(merged["Parameters"], current["Parameters"], secrets)
    values = {
        "name": merged["Name"],
        "description": merged["Description"],
        "document": {key: merged[key] for key in _STORED},
    }
    return await action_templates_repo.update_template(
        conn, space_id, int(row["id"]), values, version_document(merged), by
    )


async def delete_template(conn: Conn, space_id: int, row: RowMapping) -> None:
    """Refused while a live process uses it (a release's snapshot holds its own copy and needs none)."""
    users = await template_usage(conn, space_id, int(row["id"]))
    if users:
        named = ", ".join(f"'{u.action_name}' in {u.project_name}" for u in users[:5])
        more = f" and {len(users) - 5} more" if len(users) > 5 else ""
        raise Refused(
            f"The step template '{row['name']}' is used by {named}{more}: "
            "remove those steps before deleting it"
        )
    await action_templates_repo.delete_template(conn, space_id, int(row["id"]))


async def find_version(conn: Conn, row: RowMapping, version: str) -> RowMapping:
    """A version of the template ``row``: its ``action_template_versions`` row."""
    found = None
    if version.isascii() and version.isdigit() and len(version) <= 9:
        found = await action_templates_repo.get_version(conn, int(row["id"]), int(version))
    if found is None:
        raise NotFound(f"{format_id(Collection.ACTION_TEMPLATES, int(row['id']))}/versions/{version}")
    return found


async def template_usage(conn: Conn, space_id: int, number: int) -> list[Usage]:
    """Every action of the space's live processes (deployment and runbook) that uses the template."""
    found: list[Usage] = []
    for process in await action_templates_repo.live_processes(conn, space_id):
        for step in process["steps"] or ():
            for action in step.get("Actions") or ():
                properties = action.get("Properties") or {}
                named = properties.get(TEMPLATE_ID)
                if not isinstance(named, str) or parse_id(Collection.ACTION_TEMPLATES, named) != number:
                    continue
                found.append(
                    Usage(
                        process_id=str(process["id"]),
                        owner_id=str(process["owner_id"]),
                        project_id=int(process["project_id"]),
                        project_name=str(process["project_name"]),
                        project_slug=str(process["project_slug"]),
                        runbook_name=process["runbook_name"],
                        step_id=str(step.get("Id") or ""),
                        step_name=str(step.get("Name") or ""),
                        action_id=str(action.get("Id") or ""),
                        action_name=str(action.get("Name") or ""),
                        version=str(properties.get(TEMPLATE_VERSION) or ""),
                    )
                )
    return found


def public_parameters(parameters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Parameters as clients see them: a sensitive default only says whether it is set."""
    return [
        {**p, "DefaultValue": hidden(p.get("DefaultValue"))} if is_sensitive(p) else dict(p)
        for p in parameters
    ]


# --- Steps that use a template -------------------------------------------------------------------


async def expand_template_steps(
    conn: Conn,
    space_id: int,
    steps: list[dict[str, Any]],
    before: Sequence[Mapping[str, Any]],
    secrets: SecretBox,
    errors: list[str],
) -> None:
    """Give every action of ``steps`` (normalised, about to be saved over ``before``) that names a step
    template that version's properties and a property per parameter; problems go to ``errors``.

    Sensitive values are left as ``{HasValue, NewValue}`` in the clear for the caller to seal with the
    step's other sensitive properties.
    """
    earlier = {str(a.get("Id")): a for s in before for a in s.get("Actions") or ()}
    versions = _Versions(conn, secrets)
    for step in steps:
        for action in step["Actions"]:
            label = f"action '{action['Name'] or action['Id']}'"
            use = template_use(action["Properties"], label, errors)
            if use is None:
                continue
            row = await action_templates_repo.get(conn, space_id, use.number)
            template_id = format_id(Collection.ACTION_TEMPLATES, use.number)
            if row is None:
                errors.append(f"{label}: the step template '{template_id}' does not exist in this space")
                continue
            version = use.version if use.version is not None else int(row["version"])
            document = await versions.get(use.number, version)
            if document is None:
                errors.append(
                    f"{label}: the step template '{row['name']}' has no version {version} "
                    f"(its versions are {FIRST_VERSION} to {row['version']})"
                )
                continue
            problem = runnable_problem(document)
            if problem is not None:
                errors.append(f"{label}: {problem}")
                continue
            before_action = earlier.get(str(action["Id"]))
            previous = await versions.previous(before_action, use.number)
            _reopen_kept(action, before_action, document, secrets)
            apply_template(action, document, version, previous)


class _Versions:
    """Version documents read once per save, with sensitive defaults decrypted for the rules."""

    def __init__(self, conn: Conn, secrets: SecretBox) -> None:
        self._conn = conn
        self._secrets = secrets
        self._read: dict[tuple[int, int], dict[str, Any] | None] = {}

    async def get(self, number: int, version: int) -> dict[str, Any] | None:
        if (number, version) not in self._read:
            row = await action_templates_repo.get_version(self._conn, number, version)
            self._read[(number, version)] = None if row is None else self._opened(row["document"])
        return self._read[(number, version)]

    async def previous(self, action: Mapping[str, Any] | None, number: int) -> dict[str, Any] | None:
        """The version of this template the stored action used, if it used this one."""
        if action is None:
            return None
        use = template_use(action.get("Properties") or {}, "", [])
        if use is None or use.number != number or use.version is None:
            return None
        return await self.get(number, use.version)

    def _opened(self, document: Mapping[str, Any]) -> dict[str, Any]:
        parameters = [
            {**p, "DefaultValue": opened(p.get("DefaultValue"), self._secrets)} if is_sensitive(p) else p
            for p in document.get("Parameters") or ()
        ]
        return {**document, "Parameters": parameters}


def _reopen_kept(
    action: dict[str, Any],
    before: Mapping[str, Any] | None,
    document: Mapping[str, Any],
    secrets: SecretBox,
) -> None:
    """A sensitive parameter the client sent back as ``{HasValue: true}`` gets the value stored for it
    before, decrypted, so the template's rules see what the step really holds; with none stored the
    step sets nothing and the default applies."""
    properties = action["Properties"]
    stored = (before or {}).get("Properties") or {}
    for parameter in document.get("Parameters") or ():
        if not is_sensitive(parameter):
            continue
        name = str(parameter["Name"])
        key = next((k for k in properties if k.casefold() == name.casefold()), None)
        if key is None or not _keeps(properties[key]):
            continue
        old = next((v for k, v in stored.items() if k.casefold() == name.casefold()), None)
        secret = stored_secret(old)
        if secret is None:
            del properties[key]
        else:
            properties[key] = {"HasValue": True, "NewValue": secrets.decrypt(secret)}


def _keeps(value: Any) -> bool:
    """Whether a sensitive value asks to keep what is stored (``HasValue: true`` and no ``NewValue``)."""
    fields = sensitive_fields(value)
    return fields is not None and fields.get("newvalue") is None and fields.get("hasvalue") is True


def _seal_defaults(
    parameters: list[dict[str, Any]], before: Sequence[Mapping[str, Any]], secrets: SecretBox
) -> None:
    """Encrypt sensitive defaults in place; one sent back without a value keeps the stored one (the
    parameter matched by Id, else by name)."""
    kept: dict[str, str | None] = {}
    for parameter in before:
        secret = stored_secret(parameter.get("DefaultValue"))
        kept[f"id:{parameter.get('Id')}"] = secret
        kept.setdefault(f"name:{str(parameter.get('Name')).casefold()}", secret)
    for parameter in parameters:
        if not is_sensitive(parameter):
            continue
        secret = kept.get(f"id:{parameter['Id']}") or kept.get(f"name:{parameter['Name'].casefold()}")
        parameter["DefaultValue"] = sealed(parameter["DefaultValue"], secret, secrets)


def _document(row: RowMapping) -> dict[str, Any]:
    stored = row["document"] or {}
    return {
        "Name": row["name"],
        "Description": row["description"],
        "ActionType": row["action_type"],
        "CommunityActionTemplateId": stored.get("CommunityActionTemplateId"),
        "Properties": dict(stored.get("Properties") or {}),
        "Parameters": [dict(p) for p in stored.get("Parameters") or ()],
        "Packages": list(stored.get("Packages") or ()),
    }
