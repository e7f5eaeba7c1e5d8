"""Project groups and projects.

A project is made together with what the described system makes with it, in the same transaction:
its deployment process ``deploymentprocess-Projects-n`` (Version 0, no steps), its variable set
``variableset-Projects-n`` (Version 0, no variables) and its Default channel. So no client ever sees a
project without them.

``fields`` holds the PascalCase fields the client sent (nested objects only with the keys it sent);
an update changes those and keeps the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import RowMapping

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.service.errors import Invalid, NotFound
from argonaut.service.processes import process_id_of
from argonaut.service.variables import variable_set_id_of
from argonaut.store import lifecycles_repo, processes_repo, project_groups_repo, projects_repo
from argonaut.store.common import Refused, slugify
from argonaut.store.connection import Conn

VERSION_TEMPLATE = "#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}"
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Fields kept in the project's JSON document, with the described system's defaults.
_DOCUMENT_FIELDS = (
    "DefaultGuidedFailureMode",
    "ProjectConnectivityPolicy",
    "VersioningStrategy",
    "ReleaseNotesTemplate",
    "DefaultToSkipIfAlreadyInstalled",
    "DeploymentChangesTemplate",
)


def default_document() -> dict[str, Any]:
    return {
        "DefaultGuidedFailureMode": "EnvironmentDefault",
        "ProjectConnectivityPolicy": {
            "SkipMachineBehavior": "None",
            "TargetRoles": [],
            "AllowDeploymentsToNoTargets": False,
            "ExcludeUnhealthyTargets": False,
        },
        "VersioningStrategy": {
            "Template": VERSION_TEMPLATE,
            "DonorPackage": None,
            "DonorPackageStepId": None,
        },
        "ReleaseNotesTemplate": None,
        "DefaultToSkipIfAlreadyInstalled": False,
        "DeploymentChangesTemplate": None,
    }


# --- Project groups ---------------------------------------------------------------------------------


async def create_group(conn: Conn, space_id: int, fields: Mapping[str, Any], by: str) -> int:
    name = _required_name(fields, "project group")
    return await project_groups_repo.create_group(conn, space_id, name, fields.get("Description"), by)


async def update_group(conn: Conn, space_id: int, group_id: int, fields: Mapping[str, Any], by: str) -> None:
    await _group(conn, space_id, group_id)
    values: dict[str, Any] = {}
    if fields.get("Name"):
        values["name"] = fields["Name"]
    if "Description" in fields:
        values["description"] = fields["Description"]
    await project_groups_repo.update_group(conn, space_id, group_id, values, by)


async def delete_group(conn: Conn, space_id: int, group_id: int) -> None:
    """New projects land in the Default Project Group when they name none, so it stays."""
    group = await _group(conn, space_id, group_id)
    if group["is_default"]:
        raise Refused("The Default Project Group of a space cannot be deleted: new projects land in it")
    await project_groups_repo.delete_group(conn, space_id, group_id)


async def _group(conn: Conn, space_id: int, group_id: int) -> RowMapping:
    row = await project_groups_repo.get(conn, space_id, group_id)
    if row is None:
        raise NotFound(format_id(Collection.PROJECT_GROUPS, group_id))
    return row


# --- Projects ---------------------------------------------------------------------------------------


async def find_project(conn: Conn, space_id: int, id_or_slug: str) -> RowMapping:
    """A project of the space by its id (``Projects-3``) or its slug, as the described system's routes
    take either; ``NotFound`` names what was asked for."""
    number = parse_id(Collection.PROJECTS, id_or_slug)
    row = await projects_repo.get_project(conn, space_id, number) if number is not None else None
    if row is None:  # a project named "Projects 2" has the slug projects-2
        row = await projects_repo.find_project_by_slug(conn, space_id, id_or_slug)
    if row is None:
        raise NotFound(id_or_slug)
    return row


async def create_project(conn: Conn, space_id: int, fields: Mapping[str, Any], by: str) -> int:
    """Create a project with its process, variable set and Default channel.

    The described system requires ``ProjectGroupId`` and ``LifecycleId``; here a project that names
    none goes to the space's Default Project Group and follows its Default Lifecycle, which is what
    people creating their first project expect (and what the portal pre-selects).
    """
    name = _required_name(fields, "project")
    _check_unsupported(fields)
    group_id = await _reference(conn, space_id, fields.get("ProjectGroupId"), Collection.PROJECT_GROUPS)
    lifecycle_id = await _reference(conn, space_id, fields.get("LifecycleId"), Collection.LIFECYCLES)
    slug = await _slug(conn, space_id, fields.get("Slug") or name, None, explicit=bool(fields.get("Slug")))
    values = {
        "name": name,
        "slug": slug,
        "description": fields.get("Description"),
        "project_group_id": group_id,
        "lifecycle_id": lifecycle_id,
        "is_disabled": bool(fields.get("IsDisabled")),
        "document": _document(fields, default_document()),
    }
    project_id = await projects_repo.create_project(conn, space_id, values, by)
    owner = format_id(Collection.PROJECTS, project_id)
    await processes_repo.create_process(conn, process_id_of(project_id), space_id, project_id, owner, by)
    await processes_repo.create_variable_set(
        conn, variable_set_id_of(project_id), space_id, project_id, owner, by
    )
    channel: dict[str, Any] = {
        "name": projects_repo.DEFAULT_CHANNEL,
        "slug": slugify(projects_repo.DEFAULT_CHANNEL),
        "description": None,
        "lifecycle_id": None,
        "is_default": True,
        "document": {},
    }
    await projects_repo.create_channel(conn, space_id, project_id, channel, by)
    return project_id


async def update_project(
    conn: Conn, space_id: int, project: RowMapping, fields: Mapping[str, Any], by: str
) -> None:
    _check_unsupported(fields)
    project_id = int(project["id"])
    values: dict[str, Any] = {"document": _document(fields, project["document"] or {})}
    if fields.get("Name"):
        values["name"] = fields["Name"]
    if "Description" in fields:
        values["description"] = fields["Description"]
    if fields.get("IsDisabled") is not None:
        values["is_disabled"] = bool(fields["IsDisabled"])
    if fields.get("ProjectGroupId"):
        values["project_group_id"] = await _reference(
            conn, space_id, fields["ProjectGroupId"], Collection.PROJECT_GROUPS
        )
    if fields.get("LifecycleId"):
        values["lifecycle_id"] = await _reference(
            conn, space_id, fields["LifecycleId"], Collection.LIFECYCLES
        )
    if fields.get("Slug") and fields["Slug"] != project["slug"]:
        values["slug"] = await _slug(conn, space_id, fields["Slug"], project_id, explicit=True)
    await projects_repo.update_project(conn, space_id, project_id, values, by)


async def delete_project(conn: Conn, space_id: int, project: RowMapping) -> None:
    await projects_repo.delete_project(conn, space_id, int(project["id"]))


def _required_name(fields: Mapping[str, Any], noun: str) -> str:
    name = fields.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid(f"Please provide a Name for the {noun}")
    return name.strip()


def _check_unsupported(fields: Mapping[str, Any]) -> None:
    """Refuse what would be accepted and then silently not honoured."""
    mode = fields.get("TenantedDeploymentMode")
    if mode not in (None, "", "Untenanted"):
        raise Invalid(f"TenantedDeploymentMode '{mode}' is not supported: this server has no tenants")
    if fields.get("IncludedLibraryVariableSetIds"):
        raise Invalid(
            "IncludedLibraryVariableSetIds must be empty: this server has no library variable sets yet"
        )


def _document(fields: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    document = {**default_document(), **current}
    for key in _DOCUMENT_FIELDS:
        if key not in fields:
            continue
        given = fields[key]
        if isinstance(given, Mapping) and isinstance(document.get(key), Mapping):
            document[key] = {**document[key], **given}
        elif given is not None or key in ("ReleaseNotesTemplate", "DeploymentChangesTemplate"):
            document[key] = given
    return document


async def _reference(conn: Conn, space_id: int, text: Any, collection: Collection) -> int:
    """The id of a group or lifecycle the project names, or the space's default one when it names none."""
    repo: Any = project_groups_repo if collection is Collection.PROJECT_GROUPS else lifecycles_repo
    noun = "project group" if collection is Collection.PROJECT_GROUPS else "lifecycle"
    if not text:
        row = await repo.default(conn, space_id)
        if row is None:
            raise Invalid(f"This space has no default {noun}: name one")
        return int(row["id"])
    number = parse_id(collection, str(text))
    if number is None or await repo.get(conn, space_id, number) is None:
        raise Invalid(f"The {noun} '{text}' does not exist in this space")
    return number


async def _slug(conn: Conn, space_id: int, text: str, project_id: int | None, *, explicit: bool) -> str:
    """Slugs name projects in routes, so they are unique per space. One made from the name gets ``-2``,
    ``-3``… when taken; one the client chose must be free and well formed."""
    if explicit:
        slug = text.strip()
        if not _SLUG.match(slug) or len(slug) > 400:
            raise Invalid(
                f"The slug '{slug}' must be lower-case letters and digits separated by single dashes"
            )
        if await projects_repo.slug_taken(conn, space_id, slug, project_id):
            raise Invalid(f"The slug '{slug}' is already used by another project in this space")
        return slug
    base = slugify(text)[:390].strip("-") or "project"
    slug, suffix = base, 1
    while await projects_repo.slug_taken(conn, space_id, slug, project_id):
        suffix += 1
        slug = f"{base}-{suffix}"
    return slug
