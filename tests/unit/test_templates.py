"""Step templates as pure rules: reading a community library export, what an action naming a template
asks for, which templates can run, and what a step gets from the version it names.

The two library exports under ``tests/fixtures/step-templates`` are unmodified copies from
OctopusDeploy/Library (see the README there)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from argonaut.domain.templates import (
    TEMPLATE_ID,
    TEMPLATE_VERSION,
    TemplateUse,
    apply_template,
    community_id,
    normalize_template,
    parameter_value,
    runnable_problem,
    template_use,
    version_document,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "step-templates"
BODY = "Octopus.Action.Script.ScriptBody"
SYNTAX = "Octopus.Action.Script.Syntax"
SENSITIVE = {"Octopus.ControlType": "Sensitive"}


def library(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def template(
    parameters: list[dict[str, Any]] | None = None, body: str = "echo hi", **extra: Any
) -> dict[str, Any]:
    """A version document as the service hands it to the rules (sensitive defaults in the clear)."""
    raw = {
        "Name": "Greeter",
        "ActionType": "Octopus.Script",
        "Properties": {SYNTAX: "Bash", BODY: body, **extra.pop("properties", {})},
        "Parameters": parameters or [],
        **extra,
    }
    document, errors = normalize_template(raw, creating=True)
    assert errors == []
    return version_document(document)


def action(**properties: Any) -> dict[str, Any]:
    return {
        "Id": "a-1",
        "Name": "Use it",
        "ActionType": "Octopus.Script",
        "Properties": {TEMPLATE_ID: "ActionTemplates-7", TEMPLATE_VERSION: "0", **properties},
    }


# --- Reading a library export --------------------------------------------------------------------


def test_a_library_export_reads_as_it_is() -> None:
    raw = library("slack-send-simple-notification-bash")
    document, errors = normalize_template(raw, creating=True)
    assert errors == []
    assert set(document) == {
        "Name",
        "Description",
        "ActionType",
        "CommunityActionTemplateId",
        "Properties",
        "Parameters",
        "Packages",
    }  # $Meta, Category, LastModifiedBy and Version are dropped
    assert document["Name"] == "Slack - Send Simple Notification - Bash"
    assert document["CommunityActionTemplateId"] == raw["Id"]  # the library's GUID
    hook = next(p for p in document["Parameters"] if p["Name"] == "ssn_HookUrl")
    assert hook["DefaultValue"] == {"HasValue": False, "NewValue": None}  # "" in the export
    assert hook["Id"] == "0de9bf5f-302c-4b94-91eb-9e5fb0e37eb4"
    username = next(p for p in document["Parameters"] if p["Name"] == "ssn_Username")
    assert username["DefaultValue"] == "Octopus Deploy"
    assert runnable_problem(version_document(document)) is None


def test_nulls_in_a_library_export_are_left_out_or_unset() -> None:
    document, errors = normalize_template(library("bash-http-test-url"), creating=True)
    assert errors == []
    assert "Octopus.Action.Script.ScriptFileName" not in document["Properties"]
    assert document["Properties"]["Octopus.Action.RunOnServer"] == "false"
    uri = next(p for p in document["Parameters"] if p["Name"] == "uri")
    assert uri["DefaultValue"] is None and uri["Label"] == "URI"


def test_loose_values_become_strings_and_missing_ids_are_given() -> None:
    raw = {
        "name": " Loose ",
        "actiontype": "Octopus.Script",
        "properties": {SYNTAX: "Bash", BODY: "true", "Octopus.Action.Flag": True, "Count": 3},
        "parameters": [
            {"name": "Enabled", "defaultValue": False, "displaySettings": {"Octopus.ControlType": "Checkbox"}}
        ],
    }
    document, errors = normalize_template(raw, creating=True)
    assert errors == []
    assert document["Name"] == "Loose"
    assert document["Properties"]["Octopus.Action.Flag"] == "True"
    assert document["Properties"]["Count"] == "3"
    (enabled,) = document["Parameters"]
    assert enabled["DefaultValue"] == "False" and enabled["Id"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"ActionType": "Octopus.Script"}, "Please provide the template's Name"),
        ({"Name": "T"}, "Please provide the template's ActionType"),
        ({"Name": "T", "ActionType": "x", "Properties": {"k": ["a"]}}, "the property 'k' must be a string"),
        (
            {"Name": "T", "ActionType": "x", "Parameters": [{"Name": "a"}, {"Name": "A"}]},
            "the parameter name 'A' is used more than once",
        ),
        (
            {"Name": "T", "ActionType": "x", "Properties": {"P": "v"}, "Parameters": [{"Name": "P"}]},
            "the parameter 'P' has the name of a property the template sets itself",
        ),
        (
            {
                "Name": "T",
                "ActionType": "x",
                "Parameters": [{"Name": "a", "DefaultValue": {"HasValue": True}}],
            },
            "parameter 'a': a DefaultValue kept secret needs the control type Sensitive",
        ),
        (
            {"Name": "T", "ActionType": "x", "Parameters": [{"Name": "a", "DisplaySettings": []}]},
            "parameter 'a': DisplaySettings must be an object",
        ),
        ({"Name": "T", "ActionType": "x", "Parameters": [{"Label": "no name"}]}, "parameter #1 has no Name"),
        (
            {
                "Name": "T",
                "ActionType": "x",
                "Parameters": [
                    {"Name": "s", "DisplaySettings": SENSITIVE, "DefaultValue": {"HasValue": "yes"}}
                ],
            },
            "parameter 's': DefaultValue must be a string or {HasValue: true|false, NewValue}",
        ),
        ({"Name": "T", "ActionType": "x", "Packages": {}}, "Packages must be a list of package references"),
    ],
)
def test_what_a_template_cannot_be(raw: dict[str, Any], expected: str) -> None:
    _, errors = normalize_template(raw, creating=True)
    assert any(error.startswith(expected) for error in errors), errors


def test_an_update_holds_only_what_was_sent() -> None:
    document, errors = normalize_template({"Description": "new words", "Parameters": None}, creating=False)
    assert errors == [] and document == {"Description": "new words"}  # a null list is left out too


@pytest.mark.parametrize(
    ("given", "raw_id", "expected"),
    [
        (None, "9b4a4d22-0000-4000-8000-000000000001", "9b4a4d22-0000-4000-8000-000000000001"),
        ("CommunityActionTemplates-5", "ActionTemplates-3", "CommunityActionTemplates-5"),
        (None, "ActionTemplates-3", None),  # exported from a server like ours: no library id
        (None, None, None),
        ("  ", "", None),
    ],
)
def test_the_library_id_of_an_import(given: Any, raw_id: Any, expected: str | None) -> None:
    assert community_id(given, raw_id) == expected


# --- What an action asks for ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "expected", "error"),
    [
        ({}, None, None),
        ({TEMPLATE_ID: "ActionTemplates-3", TEMPLATE_VERSION: "2"}, TemplateUse(3, 2), None),
        ({TEMPLATE_ID: "actiontemplates-3", TEMPLATE_VERSION: "0"}, TemplateUse(3, 0), None),
        ({TEMPLATE_ID: "ActionTemplates-3"}, TemplateUse(3, None), None),
        ({TEMPLATE_ID: "ActionTemplates-3", TEMPLATE_VERSION: ""}, TemplateUse(3, None), None),
        ({TEMPLATE_ID: "Projects-3", TEMPLATE_VERSION: "0"}, None, "must name a step template"),
        ({TEMPLATE_ID: "ActionTemplates-3", TEMPLATE_VERSION: "v2"}, None, "must be a whole number"),
        ({TEMPLATE_ID: "ActionTemplates-3", TEMPLATE_VERSION: "-1"}, None, "must be a whole number"),
    ],
)
def test_what_an_action_asks_of_a_template(
    properties: dict[str, Any], expected: TemplateUse | None, error: str | None
) -> None:
    errors: list[str] = []
    assert template_use(properties, "action 'A'", errors) == expected
    assert (error is None and errors == []) or (error is not None and error in errors[0])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"properties": {SYNTAX: "Python"}}, None),
        ({"properties": {SYNTAX: ""}}, None),  # no syntax is Bash, as for any step here
        (
            {"properties": {SYNTAX: "PowerShell"}},
            "is a PowerShell script, which cannot run: no worker offers pwsh",
        ),
        ({"properties": {SYNTAX: "CSharp"}}, "is a CSharp script; only Bash and Python scripts run here"),
        (
            {"ActionType": "Octopus.AzurePowerShell"},
            "is of type Octopus.AzurePowerShell, which cannot run here",
        ),
        (
            {"properties": {"Octopus.Action.Script.ScriptSource": "Package"}},
            "takes its script from a Package",
        ),
        ({"Packages": [{"PackageId": "tool"}]}, "references packages, which no worker can fetch yet"),
        ({"body": "  "}, "has no script body"),
    ],
)
def test_which_templates_a_step_can_run(changes: dict[str, Any], expected: str | None) -> None:
    problem = runnable_problem(template(**changes))
    assert (problem is None) if expected is None else (problem is not None and expected in problem), problem


# --- What a step gets ----------------------------------------------------------------------------


GREETER = [
    {"Name": "Greeting", "DefaultValue": "Hello"},
    {"Name": "Target", "DefaultValue": "#{Octopus.Environment.Name}"},
    {"Name": "Unset"},
    {"Name": "Token", "DefaultValue": "default-secret", "DisplaySettings": SENSITIVE},
    {"Name": "Other Token", "DisplaySettings": SENSITIVE},
]


def test_parameters_become_properties_the_step_value_first() -> None:
    used = action(greeting="Hi", **{BODY: "echo stale", "Octopus.Action.RunOnServer": "true"})
    apply_template(
        used, template(GREETER, body="echo v0", properties={"Octopus.Action.RunOnServer": "false"}), 0
    )
    properties = used["Properties"]
    assert properties[BODY] == "echo v0"  # the template's script, not the step's copy
    assert properties["Octopus.Action.RunOnServer"] == "true"  # where it runs is the step's say
    assert properties["Greeting"] == "Hi" and "greeting" not in properties  # named as the parameter
    assert properties["Target"] == "#{Octopus.Environment.Name}"  # resolved at run time, like any value
    assert properties["Unset"] == ""
    assert properties["Token"] == {"HasValue": True, "NewValue": "default-secret"}
    assert properties["Other Token"] == {"HasValue": False, "NewValue": None}
    assert properties[TEMPLATE_VERSION] == "0" and properties[TEMPLATE_ID] == "ActionTemplates-7"


def test_a_step_template_fills_in_where_it_runs_only_when_the_step_says_nothing() -> None:
    used = action()
    apply_template(used, template(properties={"Octopus.Action.RunOnServer": "false"}), 0)
    assert used["Properties"]["Octopus.Action.RunOnServer"] == "false"


def test_an_empty_string_is_the_steps_value_and_null_takes_the_default() -> None:
    used = action(Greeting="", Target=None)
    apply_template(used, template(GREETER), 0)
    assert used["Properties"]["Greeting"] == ""
    assert used["Properties"]["Target"] == "#{Octopus.Environment.Name}"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("typed-in", {"HasValue": True, "NewValue": "typed-in"}),  # a plain value is kept secret anyway
        ({"HasValue": True, "NewValue": "new"}, {"HasValue": True, "NewValue": "new"}),
        ({"HasValue": True, "NewValue": None}, {"HasValue": True, "NewValue": None}),  # keep the stored one
        ("", {"HasValue": False, "NewValue": None}),
        (None, {"HasValue": True, "NewValue": "default-secret"}),
    ],
)
def test_a_sensitive_parameter_stays_a_sensitive_property(given: Any, expected: dict[str, Any]) -> None:
    token = template(GREETER)["Parameters"][3]
    assert parameter_value(token, given) == expected


def test_a_step_keeps_the_version_it_names_and_moving_it_takes_the_new_defaults() -> None:
    v0 = template(GREETER, body="echo v0", properties={"Octopus.Action.Old": "x"})
    v1 = template(
        [{**GREETER[0], "DefaultValue": "Howdy"}, *GREETER[1:]],
        body="echo v1",
    )
    used = action()
    apply_template(used, v0, 0)
    assert used["Properties"]["Greeting"] == "Hello" and used["Properties"][BODY] == "echo v0"
    # A client reads the step back (defaults included), changes one value and moves it to version 1.
    used["Properties"]["Target"] = "Production"
    used["Properties"][TEMPLATE_VERSION] = "1"
    apply_template(used, v1, 1, previous=v0)
    properties = used["Properties"]
    assert properties[BODY] == "echo v1"
    assert properties["Greeting"] == "Howdy"  # it held v0's default, so it takes v1's
    assert properties["Target"] == "Production"  # the step's own value stays
    assert "Octopus.Action.Old" not in properties  # v1 no longer sets it
    assert properties[TEMPLATE_VERSION] == "1"
