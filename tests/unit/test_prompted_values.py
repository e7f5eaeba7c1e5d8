"""Required prompted variables: which a run lacks a value for, as tables of a variable set and values."""

from __future__ import annotations

from typing import Any

import pytest

from argonaut.domain.prompted_values import missing_prompted_values


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
