"""Required prompted variables: which a run lacks a value for, as tables of a variable set and values."""

from __future__ import annotations

from typing import Any

import pytest

from argonaut.domain.prompted_values import missing_prompted_values, prompt_form
from argonaut.domain.variables import ScopeField, Variable


def prompted(name: str, required: bool = True, value: str | None = None, **more: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Value": value,
        "Prompt": {"Label": more.pop("label", name), "Required": required},
        **more,
    }


@pytest.mark.parametrize(
    ("variables", "given", "missing"),
    [
        ([prompted("Reason")], {}, ["'Reason'"]),
        ([prompted("Reason")], {"Reason": "  "}, ["'Reason'"]),
        ([prompted("Reason")], {"reason": "outage"}, []),
        ([prompted("Reason", required=False)], {}, []),
        ([prompted("Reason", value="routine")], {}, []),
        ([prompted("Reason", label="Why?")], {}, ["'Reason' (Why?)"]),
        # Scoped to another environment: not asked for here.
        ([prompted("Reason", Scope={"Environment": ["Environments-2"]})], {}, []),
        ([prompted("Reason", Scope={"Environment": ["environments-1"]})], {}, ["'Reason'"]),
        # A sensitive default is kept encrypted; one stored counts as a value.
        ([prompted("Key", IsSensitive=True, Secret="cipher")], {}, []),
        ([prompted("Key", IsSensitive=True)], {}, ["'Key'"]),
        # Another value of the same name that applies here is a default too; each name is listed once.
        ([prompted("Reason"), {"Name": "Reason", "Value": "routine"}], {}, []),
        ([prompted("Reason"), prompted("Reason"), prompted("Who")], {}, ["'Reason'", "'Who'"]),
    ],
)
def test_missing_prompted_values(
    variables: list[dict[str, Any]], given: dict[str, str], missing: list[str]
) -> None:
    problems = missing_prompted_values(variables, "Environments-1", given)
    assert len(problems) == len(missing), problems
    for problem, name in zip(problems, missing, strict=True):
        assert name in problem and problem.startswith("FormValues: the prompted variable")


def _variable(
    name: str,
    value: str | None,
    *,
    sensitive: bool = False,
    envs: tuple[str, ...] = (),
    prompt: dict[str, object] | None = None,
) -> Variable:
    scope = {ScopeField.ENVIRONMENT: frozenset(envs)} if envs else {}
    return Variable(f"id-{name}-{len(envs)}", name, value, sensitive, scope, prompt=prompt)


def test_the_preview_form_asks_for_each_prompt_that_applies_with_its_default_unless_sensitive() -> None:
    variables = [
        _variable("Plain", "x"),
        _variable("Reason", "routine", prompt={"Label": "Why now?", "Required": True}),
        _variable("Reason", "other", prompt={"Label": "ignored: the first of a name wins"}),
        _variable("Token", "secret", sensitive=True, prompt={"Required": False}),
        _variable("ProdOnly", "p", envs=("Environments-2",), prompt={"Required": True}),
    ]
    form = prompt_form(variables, "environments-1")
    assert [e["Name"] for e in form["Elements"]] == ["Reason", "Token"]
    reason = form["Elements"][0]["Control"]
    assert (reason["Label"], reason["Required"], reason["IsSensitive"]) == ("Why now?", True, False)
    assert form["Elements"][1]["Control"]["IsSensitive"] is True
    assert form["Values"] == {"Reason": "routine"}  # never the sensitive default
    assert [e["Name"] for e in prompt_form(variables, "Environments-2")["Elements"]] == [
        "Reason",
        "Token",
        "ProdOnly",
    ]
