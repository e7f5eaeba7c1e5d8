"""A release goes only where its lifecycle lets it, and a refusal says what has to happen first."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from argonaut.domain.lifecycles import (
    EnvironmentRef,
    Phase,
    automatic_environments,
    effective_phases,
    parse_phases,
    phases_from_json,
    progression,
    refusal,
)

# Sort order deliberately differs from id order, so the tests notice which one is used.
DEV = EnvironmentRef("Environments-3", "Dev", 1)
TEST = EnvironmentRef("Environments-1", "Test", 2)
PROD = EnvironmentRef("Environments-2", "Prod", 3)
UAT = EnvironmentRef("Environments-4", "UAT", 2)
STAGING = EnvironmentRef("Environments-5", "Staging", 4)
SPACE = (PROD, DEV, TEST)
WIDE = (PROD, DEV, TEST, UAT, STAGING)

D, T, P, U, S = DEV.id, TEST.id, PROD.id, UAT.id, STAGING.id

DEFAULT: tuple[Phase, ...] = ()
ONE_OF_TWO = (
    Phase("p1", "Development", automatic=(D,)),
    Phase("p2", "Testing", optional=(T, U), minimum_environments_before_promotion=1),
    Phase("p3", "Production", optional=(P,)),
)
OPTIONAL_TEST = (
    Phase("p1", "Development", optional=(D,)),
    Phase("p2", "Testing", optional=(T,), is_optional=True),
    Phase("p3", "Production", optional=(P,)),
)
CATCH_ALL = (
    Phase("p1", "Development", optional=(D,)),
    Phase("p2", "Everything else"),
    Phase("p3", "Production", optional=(P,)),
)
LAST_CATCH_ALL = (
    Phase("p1", "Development", optional=(D,)),
    Phase("p2", "Everything else"),
)
SINGLE = (Phase("p1", "Anywhere", optional=(D, T, P)),)
ONLY_DEV_PROD = (Phase("p1", "Development", optional=(D,)), Phase("p2", "Production", optional=(P,)))
SHOUTED = (
    Phase("p1", "Development", optional=(D.upper(),)),
    Phase("p2", "Production", optional=(P.lower(),)),
)
TWO_OF_THREE = (
    Phase("p1", "QA", optional=(D, T, U), minimum_environments_before_promotion=2),
    Phase("p2", "Production", optional=(P,)),
)
TOO_DEMANDING = (
    Phase("p1", "QA", optional=(D, "Environments-99"), minimum_environments_before_promotion=5),
    Phase("p2", "Production", optional=(P,)),
)

EFFECTIVE = [
    (
        "no phases: one per environment by sort order",
        DEFAULT,
        SPACE,
        [("Dev", (D,)), ("Test", (T,)), ("Prod", (P,))],
    ),
    ("ties in sort order are broken by id", DEFAULT, (UAT, TEST), [("Test", (T,)), ("UAT", (U,))]),
    ("no phases and no environments", DEFAULT, (), []),
    (
        "listed environments sorted by sort order",
        (Phase("p", "All", optional=(P, T, D)),),
        SPACE,
        [("All", (D, T, P))],
    ),
    (
        "catch-all takes what no other phase lists",
        CATCH_ALL,
        WIDE,
        [("Development", (D,)), ("Everything else", (T, U, S)), ("Production", (P,))],
    ),
    (
        "catch-all last takes the rest",
        LAST_CATCH_ALL,
        SPACE,
        [("Development", (D,)), ("Everything else", (T, P))],
    ),
    (
        "second catch-all is left empty",
        (*LAST_CATCH_ALL, Phase("p3", "More")),
        SPACE,
        [("Development", (D,)), ("Everything else", (T, P)), ("More", ())],
    ),
    (
        "unknown environments are ignored",
        (Phase("p", "X", optional=("Environments-99", D)),),
        SPACE,
        [("X", (D,))],
    ),
    (
        "ids match case-insensitively and answer the space's spelling",
        SHOUTED,
        SPACE,
        [("Development", (D,)), ("Production", (P,))],
    ),
]


@pytest.mark.parametrize(
    ("case", "phases", "environments", "expected"), EFFECTIVE, ids=[r[0] for r in EFFECTIVE]
)
def test_effective_phases(
    case: str,
    phases: tuple[Phase, ...],
    environments: tuple[EnvironmentRef, ...],
    expected: list[tuple[str, tuple[str, ...]]],
) -> None:
    resolved = effective_phases(phases, environments)
    assert [(phase.name, phase.environment_ids) for phase in resolved] == expected


def test_effective_phase_keeps_automatic_and_rules() -> None:
    (first, second, _) = effective_phases(ONE_OF_TWO, WIDE)
    assert first.automatic == (D,)
    assert second.automatic == ()
    assert (second.minimum_environments_before_promotion, second.required, second.is_optional) == (
        1,
        1,
        False,
    )


ALLOWED = [
    ("default: only the first environment", DEFAULT, SPACE, [], (D,)),
    ("default: after Dev, Test", DEFAULT, SPACE, [D], (D, T)),
    ("default: after Dev and Test, Prod", DEFAULT, SPACE, [D, T], (D, T, P)),
    ("default: a later success alone does not open anything", DEFAULT, SPACE, [T], (D,)),
    ("default: new environments join", DEFAULT, WIDE, [D, T, U], (D, T, U, P)),
    ("1 of 2: first phase only", ONE_OF_TWO, WIDE, [], (D,)),
    ("1 of 2: both of the phase open", ONE_OF_TWO, WIDE, [D], (D, T, U)),
    ("1 of 2: one is enough", ONE_OF_TWO, WIDE, [D, U], (D, T, U, P)),
    ("2 of 3: one is not enough", TWO_OF_THREE, WIDE, [T], (D, T, U)),
    ("2 of 3: two are", TWO_OF_THREE, WIDE, [T, U], (D, T, U, P)),
    ("minimum above the phase's size is capped", TOO_DEMANDING, SPACE, [D], (D, P)),
    ("optional phase opens with the one before it", OPTIONAL_TEST, SPACE, [], (D,)),
    ("optional phase can be skipped", OPTIONAL_TEST, SPACE, [D], (D, T, P)),
    ("optional phase may still be deployed", OPTIONAL_TEST, SPACE, [D, T], (D, T, P)),
    (
        "leading optional phases open the next",
        (
            Phase("a", "A", optional=(D,), is_optional=True),
            Phase("b", "B", optional=(T,), is_optional=True),
            Phase("c", "C", optional=(P,)),
        ),
        SPACE,
        [],
        (D, T, P),
    ),
    ("catch-all must be completed in full", CATCH_ALL, WIDE, [D, T], (D, T, U, S)),
    ("catch-all completed opens Production", CATCH_ALL, WIDE, [D, T, U, S], (D, T, U, S, P)),
    ("earlier phases stay open", DEFAULT, SPACE, [D, T, P], (D, T, P)),
    ("single phase: anywhere at any time", SINGLE, SPACE, [], (D, T, P)),
    ("not-in-lifecycle environments are never allowed", ONLY_DEV_PROD, SPACE, [D], (D, P)),
    ("succeeded ids compare case-insensitively", DEFAULT, SPACE, [D.lower()], (D, T)),
    ("phase ids compare case-insensitively", SHOUTED, SPACE, [D], (D, P)),
    ("no environments at all", DEFAULT, (), [], ()),
]


@pytest.mark.parametrize(
    ("case", "phases", "environments", "succeeded", "expected"), ALLOWED, ids=[r[0] for r in ALLOWED]
)
def test_allowed(
    case: str,
    phases: tuple[Phase, ...],
    environments: tuple[EnvironmentRef, ...],
    succeeded: list[str],
    expected: tuple[str, ...],
) -> None:
    assert progression(phases, environments, succeeded).allowed == expected


def test_progression_reports_each_phase() -> None:
    state = progression(ONE_OF_TWO, WIDE, [D, U.lower()])
    rows = [
        (row.name, row.environment_ids, row.deployed, row.complete, row.is_current) for row in state.phases
    ]
    assert rows == [
        ("Development", (D,), (D,), True, False),
        ("Testing", (T, U), (U,), True, False),
        ("Production", (P,), (), False, True),
    ]


def test_current_is_the_last_phase_once_everything_is_done() -> None:
    state = progression(DEFAULT, SPACE, [D, T, P])
    assert [row.is_current for row in state.phases] == [False, False, True]
    assert all(row.complete for row in state.phases)


def msg(target: str, requirement: str) -> str:
    return f"Release cannot be deployed to '{target}' yet: the lifecycle requires {requirement} first"


REFUSALS = [
    ("default: Dev first is fine", DEFAULT, SPACE, [], D, None),
    ("default: Test before Dev", DEFAULT, SPACE, [], T, msg("Test", "a successful deployment to 'Dev'")),
    ("default: Prod names Test", DEFAULT, SPACE, [D], P, msg("Prod", "a successful deployment to 'Test'")),
    ("default: Prod after Test", DEFAULT, SPACE, [D, T], P, None),
    ("redeploy to Dev after Prod", DEFAULT, SPACE, [D, T, P], D, None),
    ("redeploy to Test after Prod", DEFAULT, SPACE, [D, T, P], T.upper(), None),
    (
        "1 of 2 names both",
        ONE_OF_TWO,
        WIDE,
        [D],
        P,
        msg("Prod", "a successful deployment to one of 'Test' or 'UAT'"),
    ),
    (
        "2 of 3 names the count",
        TWO_OF_THREE,
        WIDE,
        [],
        P,
        msg("Prod", "successful deployments to 2 of 'Dev', 'Test' or 'UAT'"),
    ),
    (
        "2 of 3 names only what is missing",
        TWO_OF_THREE,
        WIDE,
        [T],
        P,
        msg("Prod", "a successful deployment to one of 'Dev' or 'UAT'"),
    ),
    (
        "all of a phase names every missing one",
        CATCH_ALL,
        WIDE,
        [D, U],
        P,
        msg("Prod", "successful deployments to 'Test' and 'Staging'"),
    ),
    (
        "three missing",
        CATCH_ALL,
        WIDE,
        [D],
        P,
        msg("Prod", "successful deployments to 'Test', 'UAT' and 'Staging'"),
    ),
    ("skipped optional phase", OPTIONAL_TEST, SPACE, [D], P, None),
    (
        "optional phase does not wait for itself",
        OPTIONAL_TEST,
        SPACE,
        [],
        P,
        msg("Prod", "a successful deployment to 'Dev'"),
    ),
    (
        "not in the lifecycle",
        ONLY_DEV_PROD,
        SPACE,
        [D],
        T,
        "Release cannot be deployed to 'Test': 'Test' is not in the lifecycle 'Hotfix'",
    ),
    (
        "unknown environment",
        DEFAULT,
        SPACE,
        [],
        "Environments-99",
        "Release cannot be deployed to 'Environments-99': 'Environments-99' is not in the lifecycle 'Hotfix'",
    ),
    (
        "case-insensitive target",
        SHOUTED,
        SPACE,
        [],
        P.lower(),
        msg("Prod", "a successful deployment to 'Dev'"),
    ),
]


@pytest.mark.parametrize(
    ("case", "phases", "environments", "succeeded", "target", "expected"),
    REFUSALS,
    ids=[r[0] for r in REFUSALS],
)
def test_refusal(
    case: str,
    phases: tuple[Phase, ...],
    environments: tuple[EnvironmentRef, ...],
    succeeded: list[str],
    target: str,
    expected: str | None,
) -> None:
    assert refusal(phases, environments, succeeded, target, lifecycle_name="Hotfix") == expected


AUTOMATIC = [
    ("nothing automatic by convention", DEFAULT, SPACE, [], ()),
    ("first phase automatic on creation", ONE_OF_TWO, WIDE, [], (D,)),
    ("done once it succeeded", ONE_OF_TWO, WIDE, [D], ()),
    (
        "later phase automatic once open",
        (Phase("a", "A", optional=(D,)), Phase("b", "B", automatic=(T,))),
        SPACE,
        [D],
        (T,),
    ),
    (
        "not before its phase opens",
        (Phase("a", "A", optional=(D,)), Phase("b", "B", automatic=(T,))),
        SPACE,
        [],
        (),
    ),
    (
        "optional phases never deploy on their own",
        (Phase("a", "A", automatic=(D,), is_optional=True), Phase("b", "B", automatic=(T,))),
        SPACE,
        [],
        (T,),
    ),
]


@pytest.mark.parametrize(
    ("case", "phases", "environments", "succeeded", "expected"), AUTOMATIC, ids=[r[0] for r in AUTOMATIC]
)
def test_automatic_environments(
    case: str,
    phases: tuple[Phase, ...],
    environments: tuple[EnvironmentRef, ...],
    succeeded: list[str],
    expected: tuple[str, ...],
) -> None:
    assert automatic_environments(phases, environments, succeeded) == expected


FULL = {
    "Id": "phase-1",
    "Name": "Dev",
    "AutomaticDeploymentTargets": ["Environments-1"],
    "OptionalDeploymentTargets": [],
    "MinimumEnvironmentsBeforePromotion": 0,
    "IsOptionalPhase": False,
    "IsPriorityPhase": False,
    "ReleaseRetentionPolicy": None,
    "TentacleRetentionPolicy": None,
}

NORMALISED = [
    ("defaults filled", [{"Id": "phase-1", "Name": "Dev"}], [{**FULL, "AutomaticDeploymentTargets": []}]),
    (
        "keys case-insensitive",
        [{"id": "phase-1", "NAME": " Dev ", "automaticdeploymenttargets": ["Environments-1"]}],
        [FULL],
    ),
    (
        "nulls become defaults",
        [
            {
                "Id": "phase-1",
                "Name": "Dev",
                "AutomaticDeploymentTargets": ["Environments-1"],
                "OptionalDeploymentTargets": None,
                "MinimumEnvironmentsBeforePromotion": None,
                "IsOptionalPhase": None,
            }
        ],
        [FULL],
    ),
    (
        "values kept",
        [
            {
                **FULL,
                "MinimumEnvironmentsBeforePromotion": 1,
                "IsOptionalPhase": True,
                "IsPriorityPhase": True,
                "ReleaseRetentionPolicy": {"Strategy": "Forever"},
            }
        ],
        [
            {
                **FULL,
                "MinimumEnvironmentsBeforePromotion": 1,
                "IsOptionalPhase": True,
                "IsPriorityPhase": True,
                "ReleaseRetentionPolicy": {"Strategy": "Forever"},
            }
        ],
    ),
    (
        "repeat within one list dropped",
        [{**FULL, "AutomaticDeploymentTargets": ["Environments-1", "ENVIRONMENTS-1"]}],
        [FULL],
    ),
    ("unknown keys dropped", [{**FULL, "Extra": 1}], [FULL]),
    ("no phases", [], []),
]


@pytest.mark.parametrize(("case", "raw", "expected"), NORMALISED, ids=[r[0] for r in NORMALISED])
def test_parse_phases_normalises(
    case: str, raw: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    assert parse_phases(raw) == (expected, [])


def test_missing_id_gets_a_uuid() -> None:
    phases, errors = parse_phases([{"Name": "Dev"}, {"Name": "Test", "Id": ""}])
    assert errors == []
    assert len({phase["Id"] for phase in phases}) == 2
    for phase in phases:
        uuid.UUID(phase["Id"])


NEGATIVE = "Phase 'Dev': MinimumEnvironmentsBeforePromotion cannot be negative (0 means all environments)"

ERRORS = [
    ("missing name", [{"Id": "a"}], ["Phase 1 must have a Name"]),
    ("blank name", [{"Name": "Dev"}, {"Name": "  "}], ["Phase 2 must have a Name"]),
    (
        "negative minimum",
        [{"Name": "Dev", "MinimumEnvironmentsBeforePromotion": -1}],
        [NEGATIVE],
    ),
    (
        "minimum not a number",
        [{"Name": "Dev", "MinimumEnvironmentsBeforePromotion": "2"}],
        ["Phase 'Dev': MinimumEnvironmentsBeforePromotion must be a whole number"],
    ),
    (
        "minimum a boolean",
        [{"Name": "Dev", "MinimumEnvironmentsBeforePromotion": True}],
        ["Phase 'Dev': MinimumEnvironmentsBeforePromotion must be a whole number"],
    ),
    (
        "environment in two phases",
        [
            {"Name": "Dev", "AutomaticDeploymentTargets": ["Environments-1"]},
            {"Name": "Test", "OptionalDeploymentTargets": ["environments-1"]},
        ],
        ["Environment 'environments-1' is listed in both phase 'Dev' and phase 'Test'"],
    ),
    (
        "automatic and optional in one phase",
        [
            {
                "Name": "Dev",
                "AutomaticDeploymentTargets": ["Environments-1"],
                "OptionalDeploymentTargets": ["Environments-1"],
            }
        ],
        ["Environment 'Environments-1' is listed as both automatic and optional in phase 'Dev'"],
    ),
    (
        "duplicate names",
        [{"Name": "Dev"}, {"Name": "dev"}, {"Name": "DEV"}],
        ["Phase names must be unique: 'dev' is used more than once"],
    ),
    (
        "duplicate ids",
        [{"Id": "x", "Name": "Dev"}, {"Id": "x", "Name": "Test"}],
        ["Phase ids must be unique: 'x' is used more than once"],
    ),
    ("non-string id", [{"Id": 7, "Name": "Dev"}], ["Phase 'Dev': Id must be a string"]),
    (
        "non-string environment id",
        [{"Name": "Dev", "OptionalDeploymentTargets": [3]}],
        ["Phase 'Dev': OptionalDeploymentTargets must contain environment ids (non-empty strings), not 3"],
    ),
    (
        "targets not a list",
        [{"Name": "Dev", "AutomaticDeploymentTargets": "Environments-1"}],
        ["Phase 'Dev': AutomaticDeploymentTargets must be a list of environment ids"],
    ),
    (
        "flag not a boolean",
        [{"Name": "Dev", "IsOptionalPhase": "yes"}],
        ["Phase 'Dev': IsOptionalPhase must be true or false"],
    ),
    (
        "retention not an object",
        [{"Name": "Dev", "ReleaseRetentionPolicy": 5}],
        ["Phase 'Dev': ReleaseRetentionPolicy must be an object or null"],
    ),
    ("phase not an object", [{"Name": "Dev"}, "Test"], ["Phase 2 must be an object"]),
    ("phases not a list", "Dev", ["Phases must be a list of phases"]),
    (
        "every problem at once",
        [{"Id": 1}, {"Name": "Dev", "MinimumEnvironmentsBeforePromotion": -2}],
        [
            "Phase 1 must have a Name",
            "Phase 1: Id must be a string",
            NEGATIVE,
        ],
    ),
]


@pytest.mark.parametrize(("case", "raw", "expected"), ERRORS, ids=[r[0] for r in ERRORS])
def test_parse_phases_errors(case: str, raw: Any, expected: list[str]) -> None:
    assert parse_phases(raw)[1] == expected


def test_stored_json_round_trips() -> None:
    raw = [
        {**FULL, "OptionalDeploymentTargets": ["Environments-2"], "MinimumEnvironmentsBeforePromotion": 1},
        {**FULL, "Id": "phase-2", "Name": "Prod", "AutomaticDeploymentTargets": [], "IsOptionalPhase": True},
    ]
    phases, errors = parse_phases(raw)
    assert errors == []
    assert phases_from_json(phases) == [
        Phase("phase-1", "Dev", ("Environments-1",), ("Environments-2",), 1, False),
        Phase("phase-2", "Prod", (), (), 0, True),
    ]
