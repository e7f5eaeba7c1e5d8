"""``argonaut team``: groups of users and the roles they hold, in a space or system-wide."""

from __future__ import annotations

from typing import Any

import click

from argonaut.cli.client.environments import find_environments
from argonaut.cli.client.http import ApiSession, find_one
from argonaut.cli.client.options import with_api
from argonaut.cli.client.output import Column, Output, field
from argonaut.cli.client.projects import all_projects, find_project
from argonaut.cli.client.users import find_user

COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Name", field("Name")),
    ("Space", field("SpaceId")),
    ("Members", field("MemberUserIds")),
    ("Description", field("Description")),
]
ROLE_COLUMNS: list[Column] = [
    ("Id", field("Id")),
    ("Team", field("TeamId")),
    ("Role", field("UserRoleId")),
    ("Space", field("SpaceId")),
    ("Projects", field("ProjectIds")),
    ("Environments", field("EnvironmentIds")),
]


def space_teams(api: ApiSession) -> list[dict[str, Any]]:
    """The space's teams and the system teams."""
    teams: list[dict[str, Any]] = api.get_all_pages(api.in_space("teams"))
    return teams


def find_team(api: ApiSession, text: str) -> dict[str, Any]:
    return find_one(space_teams(api), text, "team", f"space {api.space['Name']}")


@click.group("team")
def team() -> None:
    """List and create teams, add members, give them roles."""


@team.command("list")
@with_api()
def list_teams(api: ApiSession, out: Output) -> None:
    """List the space's teams and the system teams."""
    out.items(space_teams(api), COLUMNS, "There are no teams.")


@team.command("create")
@click.argument("name")
@click.option("--description", "-d", metavar="TEXT", help="What the team is for")
@click.option("--system", is_flag=True, help="A system team (in no space)")
@with_api()
def create_team(name: str, description: str | None, system: bool, api: ApiSession, out: Output) -> None:
    """Create a team named NAME in the space (or system-wide with --system)."""
    body: dict[str, Any] = {"Name": name, "Description": description, "MemberUserIds": []}
    created: dict[str, Any] = api.post("/api/teams" if system else api.in_space("teams"), body)
    out.item(created, COLUMNS)


@team.command("add-member")
@click.argument("team_ref", metavar="TEAM")
@click.argument("user_refs", metavar="USER...", nargs=-1, required=True)
@with_api()
def add_member(team_ref: str, user_refs: tuple[str, ...], api: ApiSession, out: Output) -> None:
    """Add users (user names or Ids) to a team (a name or an Id)."""
    found = find_team(api, team_ref)
    members = list(found.get("MemberUserIds") or [])
    for ref in user_refs:
        user_id = str(find_user(api, ref)["Id"])
        if user_id not in members:
            members.append(user_id)
    changed: dict[str, Any] = api.put(f"/api/teams/{found['Id']}", {**found, "MemberUserIds": members})
    out.done(changed, f"Team {found['Name']} ({found['Id']}) has {len(members)} member(s)")


@team.command("add-role")
@click.argument("team_ref", metavar="TEAM")
@click.argument("role_ref", metavar="ROLE")
@click.option("--system", is_flag=True, help="Hold the role system-wide instead of in the space")
@click.option("--project", "projects", multiple=True, metavar="PROJECT", help="Only for this project")
@click.option(
    "--environment", "environments", multiple=True, metavar="ENVIRONMENT", help="Only in this environment"
)
@with_api()
def add_role(
    team_ref: str,
    role_ref: str,
    system: bool,
    projects: tuple[str, ...],
    environments: tuple[str, ...],
    api: ApiSession,
    out: Output,
) -> None:
    """Give a team a role (a name like "Project Deployer", or an Id) in the space."""
    found = find_team(api, team_ref)
    role = find_one(api.get_all_pages("/api/userroles"), role_ref, "user role")
    known_projects = all_projects(api) if projects else []
    body = {
        "UserRoleId": role["Id"],
        "SpaceId": None if system else api.space["Id"],
        "ProjectIds": [find_project(api, p, known_projects)["Id"] for p in projects],
        "EnvironmentIds": [e["Id"] for e in find_environments(api, environments)] if environments else [],
    }
    held: dict[str, Any] = api.post(f"/api/teams/{found['Id']}/scopeduserroles", body)
    out.done(held, f"Team {found['Name']} holds {role['Name']} ({held.get('Id')})")
