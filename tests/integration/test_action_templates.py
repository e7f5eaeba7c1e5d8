"""Step templates end to end, on a real server: a template exported from the described system's
community library (OctopusDeploy/Library, unmodified copies under ``tests/fixtures/step-templates``)
imports as it is, runs as a deployment step with one parameter set by the step and one left to a
default that reads ``#{Octopus.Environment.Name}``, keeps the version the step names while the template
moves on, and keeps sensitive parameters out of every answer and every log line. Its scripts find the
helpers they were written for, down to what a variable that does not exist reads as."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_deployments import Project, ok

from conftest import ServerProcess, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

FIXTURES = Path(__file__).parents[1] / "fixtures" / "step-templates"
TEMPLATE_ID = "Octopus.Action.Template.Id"
TEMPLATE_VERSION = "Octopus.Action.Template.Version"
BODY = "Octopus.Action.Script.ScriptBody"
SENSITIVE = {"Octopus.ControlType": "Sensitive"}


def library(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def templated_step(name: str, template_id: str, version: int | None, **values: Any) -> dict[str, Any]:
    """A step running a template on the built-in worker; ``values`` are the parameters it sets."""
    properties = {"Octopus.Action.RunOnServer": "true", TEMPLATE_ID: template_id, **values}
    if version is not None:
        properties[TEMPLATE_VERSION] = str(version)
    return {
        "Name": name,
        "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Properties": properties}],
    }


def own_template(
    name: str, body: str, parameters: list[dict[str, Any]], syntax: str = "Bash"
) -> dict[str, Any]:
    return {
        "Name": name,
        "ActionType": "Octopus.Script",
        "Properties": {"Octopus.Action.Script.Syntax": syntax, BODY: body},
        "Parameters": parameters,
    }


class Templates:
    def __init__(self, project: Project) -> None:
        self.client = project.client
        self.base = f"/api/{project.space}/actiontemplates"

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(ok(self.client.post(self.base, json=body), 201))

    def get(self, template_id: str, suffix: str = "") -> httpx.Response:
        return self.client.get(f"{self.base}/{template_id}{suffix}")

    def put(self, template_id: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.put(f"{self.base}/{template_id}", json=body)


def process_action(project: Project) -> dict[str, Any]:
    url = f"/api/{project.space}/deploymentprocesses/{project.project['DeploymentProcessId']}"
    return dict(ok(project.client.get(url))["Steps"][0]["Actions"][0])


def test_a_library_template_runs_with_its_defaults_and_keeps_the_version_its_step_names(
    server: ServerProcess,
) -> None:
    project = Project(server.client, [unique("Staging")])
    (staging,) = project.environments
    templates = Templates(project)
    exported = library("bash-http-test-url")
    # The library's template as it is, but for one default that reads the environment at run time.
    for parameter in exported["Parameters"]:
        if parameter["Name"] == "uri":
            parameter["DefaultValue"] = f"{server.url}/no-such-page/#{{Octopus.Environment.Name}}"
    template = templates.create(exported)
    assert template["Id"].startswith("ActionTemplates-") and template["Version"] == 0
    assert template["CommunityActionTemplateId"] == exported["Id"]
    assert "$Meta" not in template and "Category" not in template
    assert template["Properties"][BODY] == exported["Properties"][BODY]

    expected = str(httpx.get(f"{server.url}/no-such-page/{staging}").status_code)
    project.set_steps([templated_step("Check", template["Id"], 0, expectedCode=expected)])
    properties = process_action(project)["Properties"]
    assert properties[BODY] == exported["Properties"][BODY]  # copied when the process was saved
    assert properties["expectedCode"] == expected and properties["timeout"] == "30"
    assert properties["uri"].endswith("/no-such-page/#{Octopus.Environment.Name}")

    task, raw = project.deploy_and_wait(project.release("1.0.0"), staging)
    assert task["State"] == "Success", raw
    assert f"Starting verification request to {server.url}/no-such-page/{staging}" in raw  # the default
    assert f"Expecting response code {expected}" in raw  # the step's own value
    assert f"Found status code {expected}" in raw

    # The template moves on; the step keeps running version 0 until it is moved.
    changed = dict(template)
    changed["Properties"] = {
        **template["Properties"],
        BODY: 'echo "template version 1"\n' + exported["Properties"][BODY],
    }
    assert ok(templates.put(template["Id"], changed))["Version"] == 1
    assert (
        ok(templates.get(template["Id"], "/versions/0"))["Properties"][BODY] == exported["Properties"][BODY]
    )
    assert ok(templates.get(template["Id"], "/versions/1"))["Version"] == 1
    usage = ok(templates.get(template["Id"], "/usage"))
    assert [(u["ProjectId"], u["ActionName"], u["Version"]) for u in usage] == [
        (project.project["Id"], "Check", "0")
    ]
    task, raw = project.deploy_and_wait(project.release("1.0.1"), staging)
    assert task["State"] == "Success" and "template version 1" not in raw, raw

    url = f"/api/{project.space}/deploymentprocesses/{project.project['DeploymentProcessId']}"
    process = ok(project.client.get(url))
    process["Steps"][0]["Actions"][0]["Properties"][TEMPLATE_VERSION] = "1"
    ok(project.client.put(url, json=process))
    task, raw = project.deploy_and_wait(project.release("1.0.2"), staging)
    assert task["State"] == "Success" and "template version 1" in raw, raw


def test_sensitive_parameters_are_masked_in_the_log_and_never_answered(server: ServerProcess) -> None:
    project = Project(server.client, [unique("Dev")])
    (dev,) = project.environments
    templates = Templates(project)
    slack = templates.create(library("slack-send-simple-notification-bash"))
    hook = next(p for p in slack["Parameters"] if p["Name"] == "ssn_HookUrl")
    assert hook["DefaultValue"] == {"HasValue": False, "NewValue": None, "Hint": None}

    body = (
        'echo "token is $(get_octopusvariable Api.Token)"\n'
        'echo "inline #{Api.Token} and #{Api.Other}"\n'
        'echo "other is $(get_octopusvariable Api.Other)" >&2\n'
    )
    parameters = [
        {"Name": "Api.Token", "DefaultValue": "default-s3cret-token", "DisplaySettings": SENSITIVE},
        {"Name": "Api.Other", "DefaultValue": None, "DisplaySettings": SENSITIVE},
    ]
    template = templates.create(own_template(unique("secretive"), body, parameters))
    for answer in (
        template,
        ok(templates.get(template["Id"])),
        ok(templates.get(template["Id"], "/versions/0")),
    ):
        assert answer["Parameters"][0]["DefaultValue"] == {"HasValue": True, "NewValue": None, "Hint": None}
    listed = project.client.get(f"{templates.base}/all").text + project.client.get(templates.base).text
    assert "default-s3cret-token" not in listed
    # Sent back as read, the default is kept (a new version, still holding it).
    assert ok(templates.put(template["Id"], ok(templates.get(template["Id"]))))["Version"] == 1

    other = {"HasValue": True, "NewValue": "step-s3cret-other"}
    project.set_steps([templated_step("Secrets", template["Id"], 1, **{"Api.Other": other})])
    url = f"/api/{project.space}/deploymentprocesses/{project.project['DeploymentProcessId']}"
    shown = project.client.get(url)
    assert "default-s3cret-token" not in shown.text and "step-s3cret-other" not in shown.text
    properties = shown.json()["Steps"][0]["Actions"][0]["Properties"]
    assert properties["Api.Token"]["HasValue"] is True and properties["Api.Other"]["HasValue"] is True
    ok(project.client.put(url, json=shown.json()))  # the round trip keeps both secrets

    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Success", raw
    assert "token is ********" in raw and "inline ******** and ********" in raw and "other is ********" in raw
    assert "default-s3cret-token" not in raw and "step-s3cret-other" not in raw


def test_template_scripts_read_a_missing_variable_as_the_described_systems_helpers_do(
    server: ServerProcess,
) -> None:
    project = Project(server.client, [unique("Dev")])
    (dev,) = project.environments
    templates = Templates(project)
    bash = templates.create(
        own_template(
            unique("bash-missing"),
            'value=$(get_octopusvariable "Not.There"); echo "bash missing=[$value] status=$?"\n'
            'echo "bash param=[$(get_octopusvariable Greeting)]"\n',
            [{"Name": "Greeting", "DefaultValue": "hello"}],
        )
    )
    python = templates.create(
        own_template(
            unique("python-missing"),
            "print('python missing=[%s]' % get_octopusvariable('Not.There'))\n"
            "print('python get=%r' % octopusvariables.get('Not.There'))\n"
            "try:\n    octopusvariables['Not.There']\n"
            "except KeyError:\n    print('python index raises KeyError')\n"
            "print('python param=[%s]' % get_octopusvariable('Greeting'))\n",
            [{"Name": "Greeting", "DefaultValue": "hello"}],
            syntax="Python",
        )
    )
    project.set_steps(
        [
            templated_step("Bash helpers", bash["Id"], None),  # no version: the current one, pinned
            templated_step("Python helpers", python["Id"], 0, Greeting="hi from the step"),
        ]
    )
    assert process_action(project)["Properties"][TEMPLATE_VERSION] == "0"
    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Success", raw
    for line in (
        "bash missing=[] status=0",
        "bash param=[hello]",
        "python missing=[]",
        "python get=None",
        "python index raises KeyError",
        "python param=[hi from the step]",
    ):
        assert line in raw, raw


def test_what_a_step_template_refuses(server: ServerProcess) -> None:
    project = Project(server.client, [unique("Dev")])
    templates = Templates(project)
    powershell = templates.create(
        own_template(unique("pwsh"), "Write-Host hi", [], syntax="PowerShell")  # imports...
    )
    url = f"/api/{project.space}/deploymentprocesses/{project.project['DeploymentProcessId']}"
    process = ok(project.client.get(url))

    def refused(steps: list[dict[str, Any]], expected: str) -> None:
        response = project.client.put(url, json={**process, "Steps": steps})
        assert response.status_code == 400 and expected in response.text, response.text

    refused(  # ...but no step can run it
        [templated_step("Pwsh", powershell["Id"], 0)],
        "is a PowerShell script, which cannot run: no worker offers pwsh yet",
    )
    refused([templated_step("Ghost", "ActionTemplates-999999", 0)], "does not exist in this space")
    refused([templated_step("Later", powershell["Id"], 5)], "has no version 5")
    refused(
        [templated_step("Bad", powershell["Id"], None, **{TEMPLATE_VERSION: "latest"})],
        "must be a whole number",
    )

    other = Project(server.client, [unique("Dev")])  # another space's template is no template here
    assert Templates(other).get(powershell["Id"]).status_code == 404

    name_taken = project.client.post(
        templates.base, json={**own_template(powershell["Name"].upper(), "true", [])}
    )
    assert name_taken.status_code == 409, name_taken.text
    retyped = templates.put(powershell["Id"], {"ActionType": "Octopus.Email"})
    assert retyped.status_code == 400 and "ActionType cannot change" in retyped.text
    assert templates.get(powershell["Id"], "/versions/not-a-number").status_code == 404
    clash = templates.put(powershell["Id"], {"Parameters": [{"Name": BODY}]})
    assert clash.status_code == 400 and "has the name of a property the template sets" in clash.text

    bash = templates.create(own_template(unique("in-use"), "echo in use", []))
    ok(project.client.put(url, json={**process, "Steps": [templated_step("Uses it", bash["Id"], 0)]}))
    in_use = project.client.delete(f"{templates.base}/{bash['Id']}")
    assert in_use.status_code == 400 and "'Uses it'" in in_use.text, in_use.text
    process = ok(project.client.get(url))
    ok(project.client.put(url, json={**process, "Steps": []}))
    ok(project.client.delete(f"{templates.base}/{bash['Id']}"))
    assert templates.get(bash["Id"]).status_code == 404
