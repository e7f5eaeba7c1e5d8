"""Step templates and every version each ever had.

A template row holds its current version; ``action_template_versions`` holds each version's document
(the current one too), written in the transaction that makes it, so a step that names a version finds
it however many edits came after. Moving to the next version is one ``UPDATE … SET version = version +
1 RETURNING version``: two edits at once on PostgreSQL take turns on the row lock and get two versions,
neither lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping

from argonaut.store.connection import Conn
from argonaut.store.named import SpaceScoped, new_row
from argonaut.store.tables import action_template_versions, action_templates, processes, projects, runbooks
from argonaut.store.timeutil import utcnow

_templates = SpaceScoped(action_templates, "step template")
get = _templates.get
find_by_name = _templates.find_by_name
list_templates = _templates.page


async def create_template(
    conn: Conn,
    space_id: int,
    values: Mapping[str, Any],
    version: int,
    version_document: Mapping[str, Any],
    by: str,
) -> int:
    """A new template at ``version`` (``values``: name, description, action_type, document) and that
    version's row; answers its number."""
    await _templates.ensure_name_free(conn, space_id, values["name"])
    number = await _templates.insert(conn, new_row(space_id, values["name"], by, **values, version=version))
    await _add_version(conn, number, version, version_document)
    return number


async def update_template(
    conn: Conn,
    space_id: int,
    number: int,
    values: dict[str, Any],
    version_document: Mapping[str, Any],
    by: str,
) -> int:
    """Save ``values`` as the template's next version and keep that version's document; answers the
    new version."""
    await _templates.prepare_update(conn, space_id, number, values)
    values.update(last_modified_on=utcnow(), last_modified_by=by)
    with _templates.writing_name(str(values.get("name", ""))):
        result = await conn.execute(
            update(action_templates)
            .where(action_templates.c.id == number)
            .values(**values, version=action_templates.c.version + 1)
            .returning(action_templates.c.version)
        )
    version = int(result.scalar_one())
    await _add_version(conn, number, version, version_document)
    return version


async def get_version(conn: Conn, number: int, version: int) -> RowMapping | None:
    query = select(action_template_versions).where(
        action_template_versions.c.template_id == number, action_template_versions.c.version == version
    )
    return (await conn.execute(query)).mappings().first()


async def delete_template(conn: Conn, space_id: int, number: int) -> None:
    """The template and its versions (the foreign key cascades)."""
    await conn.execute(
        delete(action_templates).where(
            action_templates.c.space_id == space_id, action_templates.c.id == number
        )
    )


async def live_processes(conn: Conn, space_id: int) -> Sequence[RowMapping]:
    """The space's processes that can still change (not release or runbook snapshots), with their
    project's name and slug and, for a runbook's process, the runbook's id and name: what a usage
    report or a refused delete names."""
    query = (
        select(
            processes.c.id,
            processes.c.owner_id,
            processes.c.project_id,
            processes.c.steps,
            projects.c.name.label("project_name"),
            projects.c.slug.label("project_slug"),
            runbooks.c.id.label("runbook_id"),
            runbooks.c.name.label("runbook_name"),
        )
        .join(projects, projects.c.id == processes.c.project_id)
        .outerjoin(runbooks, runbooks.c.process_id == processes.c.id)
        .where(processes.c.space_id == space_id, processes.c.frozen.is_(False))
        .order_by(projects.c.name_key, processes.c.id)
    )
    return (await conn.execute(query)).mappings().all()


async def _add_version(conn: Conn, number: int, version: int, document: Mapping[str, Any]) -> None:
    await conn.execute(
        insert(action_template_versions).values(
            template_id=number, version=version, document=dict(document), created=utcnow()
        )
    )
