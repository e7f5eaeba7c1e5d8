"""Deployment processes: normalising what clients PUT, reading it back, run conditions, parallel groups."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from argonaut.domain.processes import (
    Action,
    StartTrigger,
    Step,
    StepCondition,
    normalize_steps,
    parallel_groups,
    parse_steps,
    should_run,
)

SCRIPT_PROPS = {"Octopus.Action.Script.ScriptBody": "echo hi", "Octopus.Action.Script.Syntax": "Bash"}


def script(name: str = "Run", **extra: Any) -> dict[str, Any]:
    return {"Name": name, "ActionType": "Octopus.Script", "Properties": dict(SCRIPT_PROPS), **extra}


def step(name: str = "Run", actions: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Actions": [script(name)] if actions is None else actions, **extra}


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def test_defaults_are_filled_in_octopus_shape() -> None:
    steps, errors = normalize_steps([{"Name": "Say Hello!", "Actions": [script("Say Hello!")]}])
    assert errors == []
    [s] = steps
    assert list(s) == [
        "Id",
        "Name",
        "Slug",
        "Condition",
        "StartTrigger",
        "PackageRequirement",
        "Properties",
        "Actions",
    ]
    assert is_uuid(s["Id"])
    assert (s["Name"], s["Slug"], s["Condition"], s["StartTrigger"], s["PackageRequirement"]) == (
        "Say Hello!",
        "say-hello",
        "Success",
        "StartAfterPrevious",
        "LetOctopusDecide",
    )
    assert s["Properties"] == {}
    [a] = s["Actions"]
    assert is_uuid(a["Id"]) and a["Id"] != s["Id"]
    assert {k: v for k, v in a.items() if k not in ("Id", "Properties")} == {
        "Name": "Say Hello!",
        "Slug": "say-hello",
        "ActionType": "Octopus.Script",
        "Notes": None,
        "IsDisabled": False,
        "IsRequired": False,
        "WorkerPoolId": None,
        "WorkerPoolVariable": None,
        "Container": {"Image": None, "FeedId": None, "GitUrl": None, "Dockerfile": None},
        "Environments": [],
        "ExcludedEnvironments": [],
        "Channels": [],
        "TenantTags": [],
        "Condition": "Success",
        "Packages": [],
        "CanBeUsedForProjectVersioning": False,
    }


def test_given_values_are_kept_and_keys_match_case_insensitively() -> None:
    raw = [
        {
            "id": "s1",
            "NAME": "Deploy",
            "slug": "old-slug",
            "condition": "always",
            "StartTrigger": "StartWithPrevious",
            "Unknown": "dropped",
            "Properties": {"Octopus.Action.TargetRoles": "web"},
            "actions": [
                {
                    "ID": "a1",
                    "name": "Deploy",
                    "actiontype": "Octopus.Script",
                    "isdisabled": True,
                    "IsRequired": "True",
                    "WorkerPoolId": "WorkerPools-2",
                    "environments": ["Environments-1"],
                    "channels": ["Channels-1"],
                    "Bogus": 1,
                    "packages": [{"PackageId": "app", "FeedId": "feeds-builtin"}],
                    "Properties": SCRIPT_PROPS,
                }
            ],
        }
    ]
    [s], errors = normalize_steps(raw)
    assert errors == []
    assert "Unknown" not in s and (s["Id"], s["Slug"], s["Condition"]) == ("s1", "old-slug", "Always")
    assert s["StartTrigger"] == "StartWithPrevious"
    [a] = s["Actions"]
    assert "Bogus" not in a
    assert (a["Id"], a["IsDisabled"], a["IsRequired"], a["WorkerPoolId"]) == (
        "a1",
        True,
        True,
        "WorkerPools-2",
    )
    assert (a["Environments"], a["Channels"]) == (["Environments-1"], ["Channels-1"])
    [p] = a["Packages"]
    assert (p["Name"], p["PackageId"], p["FeedId"], p["AcquisitionLocation"]) == (
        "",
        "app",
        "feeds-builtin",
        "Server",
    )
    assert is_uuid(p["Id"])


def test_property_values_become_strings_and_sensitive_values_are_kept() -> None:
    secret = {"HasValue": True, "NewValue": "s3cret"}
    props = {**SCRIPT_PROPS, "Flag": True, "Off": False, "Count": 3, "Secret": secret}
    [s], errors = normalize_steps([step(actions=[script(Properties=props)])])
    assert errors == []
    stored = s["Actions"][0]["Properties"]
    assert (stored["Flag"], stored["Off"], stored["Count"], stored["Secret"]) == (
        "True",
        "False",
        "3",
        secret,
    )
    [parsed] = parse_steps([s])
    assert parsed.actions[0].properties["Secret"] == "s3cret"
    assert parsed.actions[0].properties["Flag"] == "True"


ERROR_CASES: list[tuple[str, Any, str]] = [
    ("steps not a list", {"Name": "x"}, "Steps must be a list"),
    ("step not an object", ["x"], "step #1 must be an object"),
    ("step without name", [{"Actions": [script()]}], "step #1 has no Name"),
    ("step without actions", [{"Name": "S", "Actions": []}], "step 'S' has no actions"),
    ("actions missing", [{"Name": "S"}], "step 'S' has no actions"),
    (
        "action without name",
        [step("S", [{"ActionType": "Octopus.Script", "Properties": SCRIPT_PROPS}])],
        "action #1 of step 'S' has no Name",
    ),
    ("action without type", [step("S", [{"Name": "A"}])], "action 'A' of step 'S' has no ActionType"),
    (
        "duplicate action names",
        [step("S1", [script("Deploy")]), step("S2", [script("deploy")])],
        "the action name 'deploy' is used more than once",
    ),
    (
        "duplicate step names",
        [step("S"), step("s", [script("Other")])],
        "the step name 's' is used more than once",
    ),
    (
        "duplicate step ids",
        [step("A", Id="x"), step("B", Id="x")],
        "the step Id 'x' is used more than once",
    ),
    (
        "duplicate action ids",
        [step("A", [script("A", Id="y")]), step("B", [script("B", Id="y")])],
        "the action Id 'y' is used more than once",
    ),
    ("bad condition", [step("S", Condition="Sometimes")], "step 'S': Condition 'Sometimes' is not one of"),
    ("bad start trigger", [step("S", StartTrigger="Later")], "step 'S': StartTrigger 'Later' is not one of"),
    (
        "bad package requirement",
        [step("S", PackageRequirement="Never")],
        "step 'S': PackageRequirement 'Never' is not one of",
    ),
    (
        "variable condition without expression",
        [step("S", Condition="Variable")],
        "step 'S' has Condition Variable but no Octopus.Step.ConditionVariableExpression",
    ),
    (
        "max parallelism zero",
        [step("S", Properties={"Octopus.Action.MaxParallelism": "0"})],
        "step 'S': Octopus.Action.MaxParallelism must be a positive whole number",
    ),
    (
        "max parallelism text",
        [step("S", Properties={"Octopus.Action.MaxParallelism": "many"})],
        "step 'S': Octopus.Action.MaxParallelism must be a positive whole number",
    ),
    (
        "max parallelism negative number",
        [step("S", Properties={"Octopus.Action.MaxParallelism": -2})],
        "step 'S': Octopus.Action.MaxParallelism must be a positive whole number",
    ),
    (
        "script without body",
        [step("S", [script("S", Properties={"Octopus.Action.Script.Syntax": "Bash"})])],
        "action 'S' of step 'S' runs an inline script but has no Octopus.Action.Script.ScriptBody",
    ),
    (
        "inline script without body",
        [step("S", [script("S", Properties={"Octopus.Action.Script.ScriptSource": "Inline"})])],
        "has no Octopus.Action.Script.ScriptBody",
    ),
    (
        "bad script source",
        [step("S", [script("S", Properties={**SCRIPT_PROPS, "Octopus.Action.Script.ScriptSource": "Ftp"})])],
        "Octopus.Action.Script.ScriptSource must be Inline, Package or GitRepository",
    ),
    (
        "powershell",
        [step("S", [script("S", Properties={**SCRIPT_PROPS, "Octopus.Action.Script.Syntax": "PowerShell"})])],
        "action 'S' of step 'S': PowerShell scripts cannot run: no worker offers pwsh yet",
    ),
    (
        "csharp",
        [step("S", [script("S", Properties={**SCRIPT_PROPS, "Octopus.Action.Script.Syntax": "CSharp"})])],
        "CSharp scripts are not supported",
    ),
    (
        "fsharp",
        [step("S", [script("S", Properties={**SCRIPT_PROPS, "Octopus.Action.Script.Syntax": "fsharp"})])],
        "FSharp scripts are not supported",
    ),
    (
        "unknown syntax",
        [step("S", [script("S", Properties={**SCRIPT_PROPS, "Octopus.Action.Script.Syntax": "Cobol"})])],
        "unknown script syntax 'Cobol'",
    ),
    (
        "property a list",
        [step("S", Properties={"Octopus.Action.TargetRoles": ["web"]})],
        "step 'S': property 'Octopus.Action.TargetRoles' must be a string",
    ),
    (
        "property null",
        [step("S", [script("S", Properties={**SCRIPT_PROPS, "X": None})])],
        "action 'S' of step 'S': property 'X' must be a string",
    ),
    (
        "property an unknown object",
        [step("S", Properties={"X": {"Value": "v"}})],
        "step 'S': property 'X' must be a string",
    ),
    ("properties not an object", [step("S", Properties=["x"])], "step 'S': Properties must be an object"),
    (
        "manual without instructions",
        [step("S", [{"Name": "S", "ActionType": "Octopus.Manual"}])],
        "action 'S' of step 'S' is a manual intervention without Octopus.Action.Manual.Instructions",
    ),
    (
        "bad bool",
        [step("S", [script("S", IsDisabled="maybe")])],
        "action 'S' of step 'S': IsDisabled must be",
    ),
    ("bad list", [step("S", [script("S", Environments="Environments-1")])], "Environments must be a list"),
    ("bad id", [step("S", Id=5)], "step 'S': Id must be a string"),
    (
        "container image",
        [step("S", [script("S", Container={"Image": "ubuntu", "FeedId": "feeds-docker"})])],
        "asks for an execution container",
    ),
    ("package without id", [step("S", [script("S", Packages=[{"Name": ""}])])], "has no PackageId"),
    (
        "bad acquisition location",
        [step("S", [script("S", Packages=[{"PackageId": "p", "AcquisitionLocation": "Moon"}])])],
        "AcquisitionLocation 'Moon' is not one of",
    ),
    (
        "bad action condition",
        [step("S", [script("S", Condition="Failure")])],
        "action 'S' of step 'S': Condition 'Failure' is not one of Success, Variable",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_validation_errors(raw: Any, expected: str) -> None:
    _, errors = normalize_steps(raw)
    assert len(errors) == 1, errors
    assert expected in errors[0]


@pytest.mark.parametrize(
    "extra",
    [
        {"Octopus.Action.MaxParallelism": "#{Window}"},
        {"Octopus.Action.MaxParallelism": "3"},
        {"Octopus.Action.MaxParallelism": 3},
        {"Octopus.Action.MaxParallelism": ""},
    ],
)
def test_max_parallelism_accepted(extra: dict[str, Any]) -> None:
    assert normalize_steps([step("S", Properties=extra)])[1] == []


@pytest.mark.parametrize(
    "props",
    [
        {"Octopus.Action.Script.ScriptBody": "print(1)", "Octopus.Action.Script.Syntax": "python"},
        {"Octopus.Action.Script.ScriptBody": "echo"},  # no syntax: Bash
        {"Octopus.Action.Script.ScriptSource": "Package", "Octopus.Action.Script.ScriptFileName": "run.sh"},
    ],
)
def test_scripts_accepted(props: dict[str, str]) -> None:
    assert normalize_steps([step("S", [script("S", Properties=props)])])[1] == []


def test_variable_condition_with_expression_is_accepted() -> None:
    raw = step("S", Condition="Variable", Properties={"Octopus.Step.ConditionVariableExpression": "#{Go}"})
    assert normalize_steps([raw])[1] == []


def test_several_errors_are_all_reported() -> None:
    _, errors = normalize_steps([{"Actions": [{}]}, {"Name": "B"}])
    assert errors == [
        "step #1 has no Name",
        "action #1 of step #1 has no Name",
        "action #1 of step #1 has no ActionType",
        "step 'B' has no actions",
    ]


def test_parse_steps_round_trip() -> None:
    props = {
        "Octopus.Action.TargetRoles": " web, DB ,,web ",
        "Octopus.Action.MaxParallelism": "2",
        "Octopus.Step.ConditionVariableExpression": "#{Go}",
    }
    action_props = {"Octopus.Action.RunOnServer": "True", "Octopus.Action.Script.ScriptBody": "echo"}
    raw = step(
        "S",
        [script("S", Properties=action_props, WorkerPoolVariable="Pool", ExcludedEnvironments=["E-2"])],
        Condition="Variable",
        Properties=props,
    )
    stored, errors = normalize_steps([raw])
    assert errors == []
    [s] = parse_steps(stored)
    assert (s.name, s.condition, s.start_trigger) == (
        "S",
        StepCondition.VARIABLE,
        StartTrigger.START_AFTER_PREVIOUS,
    )
    assert (s.target_roles, s.max_parallelism, s.condition_expression) == (("web", "DB"), 2, "#{Go}")
    [a] = s.actions
    assert (a.run_on_server, a.runs_in_server, a.is_script, a.syntax, a.script_body) == (
        True,
        False,
        True,
        "Bash",
        "echo",
    )
    assert (a.worker_pool_variable, a.worker_pool_id, a.excluded_environments) == ("Pool", None, ("E-2",))


@pytest.mark.parametrize(
    ("action_type", "props", "run_on_server", "in_server", "syntax"),
    [
        ("Octopus.Script", {}, False, False, "Bash"),
        ("Octopus.Script", {"Octopus.Action.RunOnServer": "false"}, False, False, "Bash"),
        ("Octopus.Script", {"Octopus.Action.RunOnServer": "true"}, True, False, "Bash"),
        ("Octopus.Script", {"Octopus.Action.Script.Syntax": "python"}, False, False, "Python"),
        ("Octopus.Manual", {}, False, True, "Bash"),
        ("Octopus.Email", {}, False, True, "Bash"),
        ("Octopus.DeployRelease", {}, False, True, "Bash"),
        ("Octopus.Certificate.Import", {}, False, True, "Bash"),
        ("Octopus.TentaclePackage", {}, False, False, "Bash"),
    ],
)
def test_action_properties(
    action_type: str, props: dict[str, str], run_on_server: bool, in_server: bool, syntax: str
) -> None:
    a = Action("a", "A", action_type, properties=props)
    assert (a.run_on_server, a.runs_in_server, a.syntax) == (run_on_server, in_server, syntax)
    assert a.is_script == (action_type == "Octopus.Script")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("5", 5), (" 1 ", 1), ("0", None), ("-1", None), ("#{W}", None), ("x", None), ("²", None)],
)
def test_step_max_parallelism(value: str, expected: int | None) -> None:
    assert Step("s", "S", properties={"Octopus.Action.MaxParallelism": value}).max_parallelism == expected


@pytest.mark.parametrize(
    ("condition", "failed", "variable", "expected"),
    [
        (StepCondition.SUCCESS, False, None, True),
        (StepCondition.SUCCESS, True, None, False),
        (StepCondition.FAILURE, False, None, False),
        (StepCondition.FAILURE, True, None, True),
        (StepCondition.ALWAYS, False, None, True),
        (StepCondition.ALWAYS, True, None, True),
        (StepCondition.VARIABLE, False, True, True),
        (StepCondition.VARIABLE, True, True, True),
        (StepCondition.VARIABLE, False, False, False),
        (StepCondition.VARIABLE, False, None, False),
    ],
)
def test_should_run(condition: StepCondition, failed: bool, variable: bool | None, expected: bool) -> None:
    assert should_run(condition, failed, variable) is expected


def _steps(triggers: str) -> list[Step]:
    """'AWA' = StartAfterPrevious, StartWithPrevious, StartAfterPrevious; steps named by position."""
    trigger = {"A": StartTrigger.START_AFTER_PREVIOUS, "W": StartTrigger.START_WITH_PREVIOUS}
    return [Step(str(i), str(i), start_trigger=trigger[t]) for i, t in enumerate(triggers, start=1)]


@pytest.mark.parametrize(
    ("triggers", "groups"),
    [
        ("", []),
        ("A", [["1"]]),
        ("AA", [["1"], ["2"]]),
        ("AW", [["1", "2"]]),
        ("W", [["1"]]),
        ("WW", [["1", "2"]]),
        ("AWWAW", [["1", "2", "3"], ["4", "5"]]),
        ("AAW", [["1"], ["2", "3"]]),
    ],
)
def test_parallel_groups(triggers: str, groups: list[list[str]]) -> None:
    assert [[s.name for s in g] for g in parallel_groups(_steps(triggers))] == groups
