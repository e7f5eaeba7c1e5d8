"""``#{...}`` substitution follows Octostache where scripts depend on it."""

from __future__ import annotations

import pytest

from argonaut.domain.substitution import substitute

VARIABLES = {
    "Name": "World",
    "Greeting": "Hello",
    "Padded": "  spaced out  ",
    "StepName": "Deploy web",
    "Octopus.Action[Deploy web].Output.Url": "https://web.example",
    "My Variable": "with spaces",
    "Nested": "#{Greeting}, #{Name}",
    "Loop.A": "#{Loop.B}",
    "Loop.B": "#{Loop.A}",
    "Self": "#{Self}",
    "Escaped": "##{Name}",
    "Empty": "",
    "Unicode": "Grüße ✓",
}

CASES = [
    ("plain text", "echo hello", "echo hello"),
    ("simple reference", "echo #{Name}", "echo World"),
    ("names are case-insensitive", "#{name} #{NAME} #{nAmE}", "World World World"),
    ("whitespace inside the braces", "#{ Name }", "World"),
    ("several references", "#{Greeting}, #{Name}!", "Hello, World!"),
    ("ToLower", "#{Name | ToLower}", "world"),
    ("ToUpper", "#{Name | ToUpper}", "WORLD"),
    ("Trim", "[#{Padded | Trim}]", "[spaced out]"),
    ("filter names are case-insensitive", "#{Name|toupper}", "WORLD"),
    ("chained filters", "#{Padded | Trim | ToUpper}", "SPACED OUT"),
    ("unknown filter leaves the reference", "#{Name | Reverse}", "#{Name | Reverse}"),
    ("unknown variable left verbatim", "echo #{Missing}", "echo #{Missing}"),
    ("unknown variable with a filter left verbatim", "#{Missing | ToUpper}", "#{Missing | ToUpper}"),
    ("escape", "##{Name}", "#{Name}"),
    ("escape next to a reference", "##{Name} is #{Name}", "#{Name} is World"),
    ("triple hash", "###{Name}", "##{Name}"),
    ("brackets in the name", "#{Octopus.Action[Deploy web].Output.Url}", "https://web.example"),
    ("brackets, other case", "#{octopus.action[deploy WEB].output.url}", "https://web.example"),
    ("reference inside an index", "#{Octopus.Action[#{StepName}].Output.Url}", "https://web.example"),
    ("unresolvable index", "#{Octopus.Action[#{Nope}].Output.Url}", "#{Octopus.Action[#{Nope}].Output.Url}"),
    ("spaces in the name", "#{My Variable}", "with spaces"),
    ("values are expanded too", "#{Nested}", "Hello, World"),
    ("cycles stay verbatim", "#{Loop.A}", "#{Loop.A}"),
    ("self reference stays verbatim", "#{Self}", "#{Self}"),
    ("an escape in a value", "#{Escaped}", "#{Name}"),
    ("empty value", "[#{Empty}]", "[]"),
    ("unicode value", "#{Unicode}", "Grüße ✓"),
    ("unterminated", "echo #{Name", "echo #{Name"),
    ("unterminated then a good one", "#{oops #{Name}", "#{oops World"),
    ("empty expression", "#{}", "#{}"),
    ("bash parameter length is untouched", 'echo "${#array[@]} #{Name}"', 'echo "${#array[@]} World"'),
    ("bash brace groups are untouched", "{ echo a; } #{Name}", "{ echo a; } World"),
    ("stray braces", "#{a{b} #{Name}", "#{a{b} World"),
    ("conditionals are not supported: verbatim", "#{if Name}yes#{/if}", "#{if Name}yes#{/if}"),
]


@pytest.mark.parametrize(("case", "template", "expected"), CASES, ids=[row[0] for row in CASES])
def test_substitute(case: str, template: str, expected: str) -> None:
    assert substitute(template, VARIABLES) == expected


LATER_WINS = [
    ("same name, different case: the later value", {"Name": "first", "NAME": "second"}, "#{name}", "second"),
    ("no variables at all", {}, "#{Name}", "#{Name}"),
]


@pytest.mark.parametrize(
    ("case", "variables", "template", "expected"), LATER_WINS, ids=[row[0] for row in LATER_WINS]
)
def test_variable_sets(case: str, variables: dict[str, str], template: str, expected: str) -> None:
    assert substitute(template, variables) == expected
