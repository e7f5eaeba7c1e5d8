"""Where each action runs: the execution-location table, pools, workers, skips and target filters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from argonaut.domain.placement import (
    DeploymentContext,
    Placement,
    PlacementKind,
    Plan,
    PlannedAction,
    PoolInfo,
    TargetInfo,
    plan_deployment,
)
from argonaut.domain.processes import Action, Step
from argonaut.domain.workers import BuiltInWorker, HealthStatus, WorkerCandidate

H = HealthStatus
ENV = "Environments-1"
DEFAULT_POOL = "WorkerPools-1"
CTX = DeploymentContext(
    environment_id=ENV,
    channel_id="Channels-1",
    specific_machine_ids=frozenset(),
    excluded_machine_ids=frozenset(),
    skip_action_ids=frozenset(),
    default_pool_id=DEFAULT_POOL,
    built_in_enabled=True,
)


def wk(n: int, health: HealthStatus = H.HEALTHY, leases: int = 0, cap: int = 10) -> WorkerCandidate:
    return WorkerCandidate(f"Workers-{n}", f"w{n}", health, False, active_leases=leases, max_leases=cap)


def pools(
    default: tuple[WorkerCandidate, ...] = (wk(1),), other: tuple[WorkerCandidate, ...] = ()
) -> dict[str, PoolInfo]:
    return {
        DEFAULT_POOL: PoolInfo(DEFAULT_POOL, "Default Worker Pool", True, default),
        "WorkerPools-2": PoolInfo("WorkerPools-2", "Linux", False, other or (wk(2),)),
        "WorkerPools-3": PoolInfo("WorkerPools-3", "Cloud", False, (wk(3),)),
    }


def tgt(
    n: int,
    name: str,
    roles: str = "web",
    style: str = "TentaclePassive",
    env: str = ENV,
    health: HealthStatus = H.HEALTHY,
    disabled: bool = False,
    pool: str | None = None,
) -> TargetInfo:
    return TargetInfo(
        f"Machines-{n}", name, frozenset(roles.split(",")), frozenset({env}), disabled, health, style, pool
    )


def act(
    name: str = "Run",
    action_type: str = "Octopus.Script",
    on_server: bool = False,
    **fields: object,
) -> Action:
    props = {"Octopus.Action.RunOnServer": "true" if on_server else "false"}
    return replace(Action(f"id-{name}", name, action_type, properties=props), **fields)  # type: ignore[arg-type]


def stp(roles: str = "", *actions: Action, name: str = "Step", window: str = "") -> Step:
    props = {"Octopus.Action.TargetRoles": roles, "Octopus.Action.MaxParallelism": window}
    return Step(f"id-{name}", name, properties=props, actions=actions or (act(name),))


def plan_one(
    step: Step,
    targets: list[TargetInfo] | None = None,
    pool_map: dict[str, PoolInfo] | None = None,
    ctx: DeploymentContext = CTX,
) -> PlannedAction:
    plan = plan_deployment([step], targets or [], pools() if pool_map is None else pool_map, ctx)
    [planned] = plan.steps[0].actions
    return planned


def where(planned: PlannedAction) -> list[tuple[PlacementKind, str]]:
    return [(p.kind, p.label) for p in planned.placements]


K = PlacementKind
WEB01 = tgt(1, "Web01")
SSH01 = tgt(2, "Ssh01", style="Ssh")
CLOUD1 = tgt(3, "Cloud1", style="None")


@pytest.mark.parametrize(
    ("step", "targets", "expected", "problem"),
    [
        (stp("web", act(on_server=False)), [WEB01], [(K.TARGET, "Web01")], None),
        (stp("web", act(on_server=False)), [SSH01], [(K.TARGET, "Ssh01")], None),
        (
            stp("web", act(on_server=False)),
            [CLOUD1],
            [(K.WORKER_FOR_TARGET, "worker 'w1' on behalf of 'Cloud1'")],
            None,
        ),
        (
            stp("web", act(on_server=False)),
            [WEB01, CLOUD1],
            [(K.WORKER_FOR_TARGET, "worker 'w1' on behalf of 'Cloud1'"), (K.TARGET, "Web01")],
            None,
        ),
        (stp("", act(on_server=True)), [WEB01], [(K.WORKER, "worker 'w1'")], None),
        (
            stp("web", act(on_server=True)),
            [WEB01, SSH01],
            [
                (K.WORKER_FOR_TARGET, "worker 'w1' on behalf of 'Ssh01'"),
                (K.WORKER_FOR_TARGET, "worker 'w1' on behalf of 'Web01'"),
            ],
            None,
        ),
        (
            stp("", act(on_server=False)),
            [WEB01],
            [],
            "step 'Step' has no target roles and does not run on a worker",
        ),
        (stp("web", act("Approve", "Octopus.Manual")), [WEB01], [(K.SERVER, "the server")], None),
        (stp("", act("Mail", "Octopus.Email")), [], [(K.SERVER, "the server")], None),
        (
            stp("", act("Child", "Octopus.DeployRelease", on_server=True)),
            [],
            [(K.SERVER, "the server")],
            None,
        ),
        (stp("nobody", act("Approve", "Octopus.Manual")), [WEB01], [(K.SERVER, "the server")], None),
    ],
)
def test_execution_location(
    step: Step, targets: list[TargetInfo], expected: list[tuple[PlacementKind, str]], problem: str | None
) -> None:
    planned = plan_one(step, targets)
    assert planned.skipped is None
    assert where(planned) == expected
    assert planned.problem == problem


def test_placements_name_target_pool_and_worker() -> None:
    planned = plan_one(stp("web", act()), [WEB01, CLOUD1])
    cloud, web = planned.placements
    assert cloud == Placement(
        K.WORKER_FOR_TARGET, "Machines-3", "Cloud1", DEFAULT_POOL, wk(1), "worker 'w1' on behalf of 'Cloud1'"
    )
    assert web == Placement(K.TARGET, "Machines-1", "Web01", None, None, "Web01")


@pytest.mark.parametrize(
    ("action_pool", "target_pool", "expected_pool", "expected_worker"),
    [
        (None, "WorkerPools-3", "WorkerPools-3", "w3"),  # the step kept the default: the target's pool wins
        (DEFAULT_POOL, "WorkerPools-3", "WorkerPools-3", "w3"),  # naming the default pool is the default
        ("WorkerPools-2", "WorkerPools-3", "WorkerPools-2", "w2"),  # an explicit other pool wins
        (None, None, DEFAULT_POOL, "w1"),
        ("WorkerPools-2", None, "WorkerPools-2", "w2"),
    ],
)
def test_cloud_target_pool_override(
    action_pool: str | None, target_pool: str | None, expected_pool: str, expected_worker: str
) -> None:
    cloud = tgt(3, "Cloud1", style="None", pool=target_pool)
    planned = plan_one(stp("web", act(worker_pool_id=action_pool)), [cloud])
    [p] = planned.placements
    assert (p.pool_id, p.worker.name if isinstance(p.worker, WorkerCandidate) else None) == (
        expected_pool,
        expected_worker,
    )


def test_cloud_override_does_not_apply_to_a_step_without_targets() -> None:
    [p] = plan_one(
        stp("", act(on_server=True)), [tgt(3, "Cloud1", style="None", pool="WorkerPools-3")]
    ).placements
    assert p.pool_id == DEFAULT_POOL


@pytest.mark.parametrize(
    ("default_workers", "built_in", "worker", "label", "problem"),
    [
        ((), True, BuiltInWorker(), "the built-in worker", None),
        (
            (),
            False,
            None,
            "no worker in pool 'Default Worker Pool'",
            "no healthy worker available in pool 'Default Worker Pool' (the built-in worker is disabled)",
        ),
        ((wk(1, H.UNHEALTHY),), True, None, "no worker in pool 'Default Worker Pool'", "no healthy worker"),
        ((wk(1, H.UNAVAILABLE), wk(4)), True, wk(4), "worker 'w4'", None),
    ],
)
def test_default_pool_and_built_in_worker(
    default_workers: tuple[WorkerCandidate, ...],
    built_in: bool,
    worker: WorkerCandidate | BuiltInWorker | None,
    label: str,
    problem: str | None,
) -> None:
    ctx = replace(CTX, built_in_enabled=built_in)
    planned = plan_one(stp("", act(on_server=True)), [], pools(default_workers), ctx)
    [p] = planned.placements
    assert (p.kind, p.pool_id, p.worker, p.label) == (K.WORKER, DEFAULT_POOL, worker, label)
    if problem is None:
        assert planned.problem is None
    else:
        assert planned.problem is not None and problem in planned.problem


def test_built_in_worker_on_behalf_of_a_cloud_target() -> None:
    [p] = plan_one(stp("web", act()), [CLOUD1], pools(())).placements
    assert (p.worker, p.label) == (BuiltInWorker(), "the built-in worker on behalf of 'Cloud1'")


def test_no_healthy_worker_in_a_chosen_pool_is_a_problem_not_the_built_in_worker() -> None:
    pool_map = pools(other=(wk(2, H.UNHEALTHY), wk(5, H.UNKNOWN)))
    plan = plan_deployment([stp("", act(on_server=True, worker_pool_id="WorkerPools-2"))], [], pool_map, CTX)
    assert len(plan.problems) == 1 and "no healthy worker available in pool 'Linux'" in plan.problems[0]
    assert plan.unchecked_worker_ids == ("Workers-5",)
    assert plan.busy is False


def test_busy_pool_is_flagged() -> None:
    pool_map = pools(other=(wk(2, leases=1, cap=1),))
    plan = plan_deployment([stp("", act(on_server=True, worker_pool_id="WorkerPools-2"))], [], pool_map, CTX)
    assert plan.problems == ["every healthy worker in pool 'Linux' is busy"]
    assert plan.busy is True


@pytest.mark.parametrize(
    ("workers", "expected"),
    [
        ((wk(1), wk(2)), ["w1", "w2", "w1", "w2"]),
        ((wk(2), wk(1)), ["w1", "w2", "w1", "w2"]),  # ties go by id, whatever the order given
        ((wk(1, leases=2), wk(2)), ["w2", "w2", "w1", "w2"]),  # least busy first, counting our own
        ((wk(1, cap=1), wk(2, cap=1)), ["w1", "w2", "w1", "w2"]),  # our own do not count against the cap
        ((wk(1, H.UNHEALTHY), wk(2)), ["w2", "w2", "w2", "w2"]),
    ],
)
def test_workers_are_spread(workers: tuple[WorkerCandidate, ...], expected: list[str]) -> None:
    clouds = [tgt(10 + i, f"Cloud{i}", style="None") for i in range(4)]
    planned = plan_one(stp("web", act()), clouds, pools(workers))
    assert planned.problem is None
    assert [
        p.worker.name if isinstance(p.worker, WorkerCandidate) else None for p in planned.placements
    ] == expected


def test_spreading_continues_across_steps_and_returns_the_given_candidates() -> None:
    workers = (wk(1), wk(2))
    steps = [stp("", act("A", on_server=True), name="A"), stp("", act("B", on_server=True), name="B")]
    plan = plan_deployment(steps, [], pools(workers), CTX)
    chosen = [s.actions[0].placements[0].worker for s in plan.steps]
    assert chosen == list(workers)
    assert chosen[0] is workers[0]


@pytest.mark.parametrize(
    ("values", "pool_id", "problem"),
    [
        ({"Pool": "WorkerPools-2"}, "WorkerPools-2", None),
        ({"Pool": "linux"}, "WorkerPools-2", None),  # a pool's name is accepted too
        ({"Pool": " WorkerPools-3 "}, "WorkerPools-3", None),
        ({}, None, "the worker pool variable 'Pool' of step 'Run' has no value in this deployment"),
        ({"Pool": ""}, None, "the worker pool variable 'Pool' of step 'Run' has no value in this deployment"),
        (
            {"Pool": "WorkerPools-9"},
            "WorkerPools-9",
            "the worker pool 'WorkerPools-9' of step 'Run' does not exist",
        ),
    ],
)
def test_worker_pool_variable(values: dict[str, str], pool_id: str | None, problem: str | None) -> None:
    ctx = replace(CTX, pool_variable_values=values)
    # The variable wins over the action's pool id.
    planned = plan_one(
        stp("", act(on_server=True, worker_pool_variable="Pool", worker_pool_id=DEFAULT_POOL)), ctx=ctx
    )
    [p] = planned.placements
    assert (p.pool_id, planned.problem) == (pool_id, problem)
    assert (p.worker is None) == (problem is not None)


def test_unknown_pool_id_is_a_problem() -> None:
    planned = plan_one(stp("", act(on_server=True, worker_pool_id="WorkerPools-77")))
    assert planned.problem == "the worker pool 'WorkerPools-77' of step 'Run' does not exist"


def test_unknown_cloud_target_pool_is_a_problem() -> None:
    planned = plan_one(stp("web", act()), [tgt(3, "Cloud1", style="None", pool="WorkerPools-77")])
    assert planned.problem == "the worker pool 'WorkerPools-77' of step 'Run' does not exist"
    assert planned.placements[0].label == "no worker pool on behalf of 'Cloud1'"


@pytest.mark.parametrize(
    ("action", "ctx", "reason"),
    [
        (act(is_disabled=True), CTX, "disabled"),
        (act(is_disabled=True, is_required=True), CTX, "disabled"),
        (act(), replace(CTX, skip_action_ids=frozenset({"id-Run"})), "skipped by request"),
        (act(environments=("Environments-2",)), CTX, "not for environment 'Environments-1'"),
        (act(environments=("Environments-2", ENV)), CTX, None),
        (act(excluded_environments=(ENV,)), CTX, "excluded from environment 'Environments-1'"),
        (act(excluded_environments=("Environments-2",)), CTX, None),
        (act(channels=("Channels-2",)), CTX, "not for this channel"),
        (act(channels=("Channels-2", "Channels-1")), CTX, None),
        (act(channels=("Channels-2",)), replace(CTX, channel_id=None), None),  # a runbook has no channel
    ],
)
def test_skips(action: Action, ctx: DeploymentContext, reason: str | None) -> None:
    planned = plan_one(stp("web", action), [WEB01], ctx=ctx)
    assert planned.skipped == reason
    assert planned.problem is None
    assert len(planned.placements) == (0 if reason else 1)


def test_step_whose_roles_match_no_target_is_skipped() -> None:
    plan = plan_deployment(
        [stp("app, db", act())], [WEB01, tgt(5, "Db", "db", env="Environments-2")], pools(), CTX
    )
    [planned] = plan.steps[0].actions
    assert planned.skipped == "no deployment target in this environment has the role(s) 'app', 'db'"
    assert plan.problems == [] and plan.target_ids == ()


def test_required_step_cannot_be_skipped() -> None:
    ctx = replace(CTX, skip_action_ids=frozenset({"id-Run"}))
    planned = plan_one(stp("web", act(is_required=True)), [WEB01], ctx=ctx)
    assert planned.skipped is None
    assert planned.problem == "step 'Run' is required and cannot be skipped"
    assert where(planned) == [(K.TARGET, "Web01")]


TARGETS = [
    tgt(1, "Web01"),
    tgt(2, "web02", roles="WEB"),
    tgt(3, "Web03", roles="Web,db"),
    tgt(4, "Db01", roles="db"),
    tgt(5, "Web04", disabled=True),
    tgt(6, "Web05", env="Environments-2"),
]


@pytest.mark.parametrize(
    ("roles", "specific", "excluded", "expected"),
    [
        ("web", (), (), ["Web01", "web02", "Web03"]),
        ("WEB", (), (), ["Web01", "web02", "Web03"]),
        (" db , Web ", (), (), ["Db01", "Web01", "web02", "Web03"]),
        ("web", ("Machines-2", "Machines-4"), (), ["web02"]),
        ("web", (), ("Machines-1",), ["web02", "Web03"]),
        ("web", ("Machines-1", "Machines-2"), ("Machines-1",), ["web02"]),
        ("web", ("Machines-5", "Machines-6"), (), []),  # disabled or in another environment
    ],
)
def test_target_selection(
    roles: str, specific: tuple[str, ...], excluded: tuple[str, ...], expected: list[str]
) -> None:
    ctx = replace(CTX, specific_machine_ids=frozenset(specific), excluded_machine_ids=frozenset(excluded))
    planned = plan_one(stp(roles, act()), TARGETS, ctx=ctx)
    assert [p.target_name for p in planned.placements] == expected
    assert (planned.skipped is not None) == (not expected)


@pytest.mark.parametrize(
    ("health", "problem", "unchecked"),
    [
        (H.HEALTHY, None, ()),
        (H.HAS_WARNINGS, None, ()),
        (H.UNKNOWN, None, ("Machines-1",)),
        (H.UNHEALTHY, "deployment target 'Web01' is Unhealthy and cannot run step 'Run'", ()),
        (H.UNAVAILABLE, "deployment target 'Web01' is Unavailable and cannot run step 'Run'", ()),
    ],
)
def test_target_health(health: HealthStatus, problem: str | None, unchecked: tuple[str, ...]) -> None:
    plan = plan_deployment([stp("web", act())], [tgt(1, "Web01", health=health)], pools(), CTX)
    assert plan.problems == ([problem] if problem else [])
    assert plan.unchecked_target_ids == unchecked
    assert plan.target_ids == ("Machines-1",)


def test_skipped_actions_do_not_check_their_targets() -> None:
    plan = plan_deployment(
        [stp("web", act(is_disabled=True))], [tgt(1, "Web01", health=H.UNAVAILABLE)], pools(), CTX
    )
    assert plan.problems == [] and plan.target_ids == ()


def test_numbering_parallelism_and_plan_summary() -> None:
    steps = [
        stp("web", act("A"), act("B"), name="Parent", window="2"),
        stp("", act("C", on_server=True), name="C", window="#{Window}"),
        stp("db", act("D"), name="D"),
    ]
    unavailable = tgt(4, "Db01", roles="db", health=H.UNAVAILABLE)
    plan: Plan = plan_deployment(steps, [WEB01, CLOUD1, unavailable], pools(), CTX)
    rows = [(s.number, a.number, a.action.name, a.max_parallelism) for s in plan.steps for a in s.actions]
    assert rows == [(1, "1.1", "A", 2), (1, "1.2", "B", 2), (2, "2", "C", 10), (3, "3", "D", 10)]
    assert plan.target_ids == ("Machines-3", "Machines-1", "Machines-4")
    assert plan.problems == ["deployment target 'Db01' is Unavailable and cannot run step 'D'"]
    assert plan.busy is False and plan.unchecked_worker_ids == ()
