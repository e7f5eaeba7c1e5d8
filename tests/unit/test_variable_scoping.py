"""Variable validation, scoping and precedence, as tables of candidates, a context and the winner."""

from __future__ import annotations

from typing import Any

import pytest

from argonaut.domain.variables import (
    ScopeContext,
    ScopeField,
    Variable,
    all_values,
    matches,
    output_variable_names,
    resolve,
    specificity,
    validate_variable_set,
    values,
)

E, M, R, A = ScopeField.ENVIRONMENT, ScopeField.MACHINE, ScopeField.ROLE, ScopeField.ACTION
C, P, T, TT = ScopeField.CHANNEL, ScopeField.PROCESS_OWNER, ScopeField.TENANT, ScopeField.TENANT_TAG

EV1, EV2, MC1, CH1, PR1, TN1 = (
    "Environments-1",
    "Environments-2",
    "Machines-1",
    "Channels-1",
    "Projects-1",
    "Tenants-1",
)

# A step of Projects-1 in EV1 and CH1, run on MC1 (roles web and cache), targeting role web, for TN1.
FULL = ScopeContext(
    environment_id=EV1,
    machine_id=MC1,
    machine_roles=frozenset({"web", "cache"}),
    step_roles=frozenset({"web"}),
    action_id="a1b2",
    channel_id=CH1,
    process_owner_id=PR1,
    tenant_id=TN1,
    tenant_tags=frozenset({"Region/EU"}),
)
# The same deployment, a step on a worker: no machine, no roles, no tenant.
WORKER = ScopeContext(environment_id=EV1, action_id="a1b2", channel_id=CH1, process_owner_id=PR1)

Scope = dict[ScopeField, list[str]]


def var(value: str, scope: Scope | None = None, name: str = "Conn", sensitive: bool = False) -> Variable:
    return Variable(
        id=f"id-{value}",
        name=name,
        value=value,
        is_sensitive=sensitive,
        scope={key: frozenset(ids) for key, ids in (scope or {}).items()},
    )


@pytest.mark.parametrize(
    ("candidates", "context", "winner"),
    [
        # Every adjacent pair of the precedence list, both orders in the set.
        ([("action", {A: ["a1b2"]}), ("machine", {M: [MC1]})], FULL, "action"),
        ([("machine", {M: [MC1]}), ("action", {A: ["a1b2"]})], FULL, "action"),
        ([("machine", {M: [MC1]}), ("targeted", {R: ["web"]})], FULL, "machine"),
        ([("targeted", {R: ["web"]}), ("machine", {M: [MC1]})], FULL, "machine"),
        ([("role", {R: ["cache"]}), ("targeted", {R: ["web"]})], FULL, "targeted"),
        ([("targeted", {R: ["web"]}), ("role", {R: ["cache"]})], FULL, "targeted"),
        ([("tenant", {T: [TN1]}), ("role", {R: ["cache"]})], FULL, "role"),
        ([("tag", {TT: ["Region/EU"]}), ("tenant", {T: [TN1]})], FULL, "tenant"),
        ([("env", {E: [EV1]}), ("tag", {TT: ["Region/EU"]})], FULL, "tag"),
        ([("role", {R: ["cache"]}), ("env", {E: [EV1]})], FULL, "role"),
        ([("channel", {C: [CH1]}), ("env", {E: [EV1]})], FULL, "env"),
        ([("env", {E: [EV1]}), ("channel", {C: [CH1]})], FULL, "env"),
        ([("owner", {P: [PR1]}), ("channel", {C: [CH1]})], FULL, "channel"),
        ([("unscoped", {}), ("owner", {P: [PR1]})], FULL, "owner"),
        ([("owner", {P: [PR1]}), ("unscoped", {})], FULL, "owner"),
        # Two dimensions beat one of the same top dimension; the next rank down decides.
        ([("env", {E: [EV1]}), ("env+channel", {E: [EV1], C: [CH1]})], FULL, "env+channel"),
        ([("machine+env", {M: [MC1], E: [EV1]}), ("machine", {M: [MC1]})], FULL, "machine+env"),
        ([("role", {R: ["web"]}), ("role+owner", {R: ["web"], P: [PR1]})], FULL, "role+owner"),
        # ...but a higher dimension alone beats any number of lower ones (lexicographic, not a count).
        ([("many", {M: [MC1], E: [EV1], C: [CH1]}), ("action", {A: ["a1b2"]})], FULL, "action"),
        ([("env+channel+owner", {E: [EV1], C: [CH1], P: [PR1]}), ("tag", {TT: ["Region/EU"]})], FULL, "tag"),
        # Non-matching scopes are not candidates, however specific.
        ([("unscoped", {}), ("other-env", {E: [EV2]})], FULL, "unscoped"),
        ([("unscoped", {}), ("other-action", {A: ["zzzz"]}), ("other-role", {R: ["db"]})], FULL, "unscoped"),
        ([("env", {E: [EV1]}), ("machine+other-env", {M: [MC1], E: [EV2]})], FULL, "env"),
        # A dimension the context lacks does not match: no machine, no roles, no tenant on a worker.
        (
            [("unscoped", {}), ("machine", {M: [MC1]}), ("role", {R: ["web"]}), ("tenant", {T: [TN1]})],
            WORKER,
            "unscoped",
        ),
        ([("env", {E: [EV1]}), ("tag", {TT: ["Region/EU"]})], WORKER, "env"),
        # OR within a dimension, AND across dimensions.
        ([("unscoped", {}), ("either-env", {E: [EV2, EV1]})], FULL, "either-env"),
        ([("unscoped", {}), ("either-role", {R: ["db", "cache"]})], FULL, "either-role"),
        ([("unscoped", {}), ("env-and-channel", {E: [EV1], C: ["Channels-2"]})], FULL, "unscoped"),
        # A role the step targets counts as targeted even when the same scope also lists another role.
        ([("role", {R: ["cache"]}), ("mixed", {R: ["cache", "web"]})], FULL, "mixed"),
        # A role the step targets but the machine lacks does not match.
        (
            [("unscoped", {}), ("db", {R: ["db"]})],
            ScopeContext(
                machine_id=MC1, machine_roles=frozenset({"web"}), step_roles=frozenset({"web", "db"})
            ),
            "unscoped",
        ),
        # Case-insensitive roles and ids.
        ([("unscoped", {}), ("role", {R: ["CACHE"]})], FULL, "role"),
        ([("role", {R: ["Cache"]}), ("targeted", {R: ["WEB"]})], FULL, "targeted"),
        ([("unscoped", {}), ("env", {E: ["environments-1"]})], FULL, "env"),
        ([("unscoped", {}), ("env", {E: [EV1]})], ScopeContext(environment_id="ENVIRONMENTS-1"), "env"),
        # Ties: the first in the set wins.
        ([("first", {E: [EV1]}), ("second", {E: [EV1, EV2]})], FULL, "first"),
        ([("first", {}), ("second", {})], FULL, "first"),
        # Nothing matches: no value at all.
        ([("other-env", {E: [EV2]})], FULL, None),
    ],
)
def test_precedence(candidates: list[tuple[str, Scope]], context: ScopeContext, winner: str | None) -> None:
    resolved = resolve([var(value, scope) for value, scope in candidates], context)
    assert values(resolved) == ({"Conn": winner} if winner is not None else {})


def test_names_are_case_insensitive_and_keep_the_winners_spelling() -> None:
    variables = [
        var("unscoped", name="DB.Conn"),
        var("env", {E: ["Environments-1"]}, name="db.conn"),
        var("other", name="Other"),
    ]
    resolved = resolve(variables, FULL)
    assert set(resolved) == {"db.conn", "other"}
    assert values(resolved) == {"db.conn": "env", "Other": "other"}


def test_all_values_reports_sensitive_winners_only() -> None:
    variables = [
        var("plain", name="Password"),
        var("secret", {E: ["Environments-1"]}, name="Password", sensitive=True),
        var("hidden", {E: ["Environments-2"]}, name="Key", sensitive=True),
        var("shown", name="Key"),
        Variable(id="x", name="Unloaded", value=None, is_sensitive=True, scope={}),
    ]
    found, sensitive = all_values(variables, FULL)
    assert found == {"Password": "secret", "Key": "shown", "Unloaded": ""}
    assert sensitive == frozenset({"Password", "Unloaded"})


def test_empty_scope_lists_scope_nothing() -> None:
    variable = var("v", {M: [], E: ["Environments-1"]})
    assert matches(variable, WORKER)
    assert specificity(variable, WORKER) == specificity(var("w", {E: ["Environments-1"]}), WORKER)


def test_variables_and_contexts_are_hashable_values() -> None:
    assert var("v", {E: ["Environments-1"]}) == var("v", {E: ["Environments-1"]})
    assert len({var("v", {E: ["Environments-1"]}), var("v", {E: ["Environments-1"]})}) == 1
    assert hash(FULL) == hash(ScopeContext(**_context_fields(FULL)))


def _context_fields(context: ScopeContext) -> dict[str, Any]:
    names = (
        "environment_id",
        "machine_id",
        "machine_roles",
        "step_roles",
        "action_id",
        "channel_id",
        "process_owner_id",
        "tenant_id",
        "tenant_tags",
    )
    return {name: getattr(context, name) for name in names}


def row(**fields: Any) -> dict[str, Any]:
    return {"Id": f"id-{fields.get('Name', 'x')}", "Name": "X", "Value": "v", **fields}


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ([row(Name="")], "Variable #1: Name is required"),
        ([row(Name="   ")], "Variable #1: Name is required"),
        ([{"Value": "v"}], "Variable #1: Name is required"),
        (
            [row(Name="A", Id="same"), row(Name="B", Id="SAME")],
            "Variable 'B' (#2): Variable ids must be unique",
        ),
        ([row(Scope={"Project": ["Projects-1"]})], "Variable 'X' (#1): unknown scope 'Project'"),
        ([row(Scope={"Environment": "Environments-1"})], "Scope Environment must be a list of strings"),
        ([row(Scope={"Environment": [1]})], "Scope Environment must be a list of strings"),
        ([row(Scope=["Environments-1"])], "Scope must be an object"),
        (
            [row(Prompt={"Label": "Pick"}, Scope={"Role": ["web"]})],
            "Variable 'X' (#1): Prompted variables may only be scoped to environments",
        ),
        (
            [
                row(
                    Prompt={"Label": "Pick"},
                    Scope={"Environment": ["Environments-1"], "Channel": ["Channels-1"]},
                )
            ],
            "Prompted variables may only be scoped to environments",
        ),
        ([row(Type="Password")], "Variable 'X' (#1): Type must be one of String, Sensitive, Certificate"),
        ([row(Type=3)], "Type must be one of"),
        ([row(Value=5)], "Value must be a string or null"),
        ([row(IsSensitive="yes")], "IsSensitive must be true or false"),
        ([row(Id=7)], "Id must be a string"),
        ([row(Prompt="Pick")], "Prompt must be an object or null"),
        (["not an object"], "Variable #1 must be an object"),
    ],
)
def test_validation_errors(raw: list[Any], error: str) -> None:
    _, errors = validate_variable_set(raw)
    assert len(errors) == 1, errors
    assert error in errors[0]


def test_validation_reports_every_problem_and_keeps_the_good_variables() -> None:
    parsed, errors = validate_variable_set(
        [row(Name="Good"), row(Name="", Id="a"), row(Name="Bad", Type="Nope", Scope={"Bogus": []})]
    )
    assert [variable.name for variable in parsed] == ["Good"]
    assert len(errors) == 3
    assert all("Bad" in error for error in errors[1:])


def test_validation_parses_a_put_body() -> None:
    parsed, errors = validate_variable_set(
        [
            {
                "id": "c0ffee",
                "NAME": "Conn",
                "Value": "x",
                "Description": None,
                "type": "sensitive",
                "IsSensitive": False,
                "scope": {"environment": ["Environments-1"], "ROLE": ["web", "db"], "Machine": []},
                "IsEditable": True,
                "Links": {},
            },
            {"Name": "Old", "Value": "y", "IsSensitive": True},
            {
                "Name": "Ask",
                "Value": None,
                "Prompt": {"Label": "Ask", "Required": True},
                "Scope": {"Environment": ["Environments-1"]},
            },
        ]
    )
    assert errors == []
    conn, old, ask = parsed
    assert conn == Variable(
        id="c0ffee",
        name="Conn",
        value="x",
        is_sensitive=True,
        scope={E: frozenset({"Environments-1"}), R: frozenset({"web", "db"})},
        type="Sensitive",
    )
    assert (old.type, old.is_sensitive, old.scope, old.description) == ("Sensitive", True, {}, "")
    assert len(old.id) == 36  # a fresh uuid4
    assert ask.prompt == {"Label": "Ask", "Required": True}
    assert ask.value is None


def test_validated_variables_resolve() -> None:
    parsed, errors = validate_variable_set(
        [
            {"Name": "Url", "Value": "any"},
            {"Name": "url", "Value": "dev", "Scope": {"Environment": ["environments-1"]}},
        ]
    )
    assert errors == []
    assert all_values(parsed, FULL) == ({"url": "dev"}, frozenset())


@pytest.mark.parametrize(
    ("action", "machine", "machine_id", "expected"),
    [
        (
            "StepA",
            "Web01",
            None,
            [
                ("Octopus.Action[StepA].Output[Web01].X", None),
                ("Octopus.Action[StepA].Output.X", "Web01"),
                ("Octopus.Action[StepA].Output.X", None),
            ],
        ),
        (
            "Deploy web",
            "Web01",
            "Machines-3",
            [
                ("Octopus.Action[Deploy web].Output[Web01].X", None),
                ("Octopus.Action[Deploy web].Output.X", "Machines-3"),
                ("Octopus.Action[Deploy web].Output.X", None),
            ],
        ),
        ("StepA", None, None, [("Octopus.Action[StepA].Output.X", None)]),
    ],
)
def test_output_variable_names(
    action: str, machine: str | None, machine_id: str | None, expected: list[tuple[str, str | None]]
) -> None:
    assert output_variable_names(action, machine, "X", machine_id=machine_id) == expected


def test_machine_scoped_output_wins_on_its_machine_only() -> None:
    published = [
        Variable(
            id=str(i),
            name=name,
            value=value,
            is_sensitive=False,
            scope={M: frozenset({scope})} if scope else {},
        )
        for i, (value, (name, scope)) in enumerate(
            [("1", entry) for entry in output_variable_names("StepA", "Web01", "X", machine_id="Machines-1")]
            + [
                ("2", entry)
                for entry in output_variable_names("StepA", "Web02", "X", machine_id="Machines-2")
            ]
        )
    ]
    on_web01 = values(resolve(published, ScopeContext(machine_id="Machines-1")))
    elsewhere = values(resolve(published, ScopeContext()))
    assert on_web01["Octopus.Action[StepA].Output.X"] == "1"
    assert on_web01["Octopus.Action[StepA].Output[Web02].X"] == "2"
    assert "Octopus.Action[StepA].Output.X" in elsewhere
    assert elsewhere["Octopus.Action[StepA].Output[Web01].X"] == "1"
