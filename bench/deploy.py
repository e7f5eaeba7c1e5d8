"""Deployments to real agents over real TLS: wall time and server CPU of a step on a target.

A deployment is the work the server exists for: a release's process run step by step, each step on every
target in its roles, through the same engine as ad-hoc scripts and health checks. What it costs the
server per step per target decides how many targets one node can deploy to at once, and how much a
one-step deployment adds on top of running the same script ad hoc shows the weight of the deployment
machinery itself (release snapshot, variables, placement, the step cursor). Against one server
(``--task-cap 50``):

1. A 3-step deployment (``echo step N on #{Octopus.Machine.Name}``, role ``web``, each step on every
   target, default window of 10) to 10 deployment targets that are real agent processes, 5 listening
   and 5 polling, all in one environment. A new release per run, created before the clock starts; from
   POST /deployments to the finished task as the client sees it (the stream's final line), 3 warm-ups
   then 15 measured runs in a row. Server CPU (utime + stime of its process, in clock ticks of 10 ms)
   over the same interval, summed over the measured runs and divided by runs x 3 steps x 10 targets.
   Work the server does after the final line lands outside that interval, so the table also gives the
   CPU of the whole measured loop (releases included) per deployment, and the time the server was
   runnable but waited for a core (``/proc/PID/task/*/schedstat``): 10 agents, their scripts and the
   server share this machine's cores, and on few cores that wait, not the server's work, sets the wall
   time.
2. A 1-step deployment to 1 target (one more listening agent, role ``one``, a project of its own) beside
   the ad-hoc ``echo hello`` on the same agent, registered also as a worker in a pool of its own
   (``TargetType: Workers``): POST to finished task, 5 warm-ups of each, then 30 runs of each,
   alternating so both see the same conditions; the ratio of the p50s.

    .venv/bin/python bench/deploy.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _agents import SPACE, add_worker, api, follow, new_pool, run_task, subscription_id  # noqa: E402
from _http import RawClient  # noqa: E402
from _server import RunningServer, cpu_seconds, percentile, rss_mb, table  # noqa: E402
from agents import AgentProcess, make_agent, run_sections, script  # noqa: E402
from argonaut.agent import config as agent_config  # noqa: E402

TASK_CAP = 50
LISTENING_TARGETS = 5
POLLING_TARGETS = 5
STEPS = 3
FLEET_WARMUPS, FLEET_RUNS = 3, 15
SINGLE_WARMUPS, SINGLE_RUNS = 5, 30
CPU_GOAL_MS = 2.0  # issue 13 (3 before)
RATIO_GOAL = 2.0
WAIT_S = 120.0
SINGLE_NAME = "bench-single"


# -- plumbing --------------------------------------------------------------------------------------------


def endpoint(agent: AgentProcess, subscription: str = "") -> dict[str, str]:
    """A listening agent's endpoint, or a polling one's when ``subscription`` is given."""
    if subscription:
        return {
            "CommunicationStyle": "TentacleActive",
            "Uri": subscription,
            "Thumbprint": agent.certificate.thumbprint,
        }
    return {
        "CommunicationStyle": "TentaclePassive",
        "Uri": f"https://127.0.0.1:{agent.port}/",
        "Thumbprint": agent.certificate.thumbprint,
    }


async def add_target(client: RawClient, name: str, environment: str, role: str, ep: dict[str, str]) -> str:
    body = {"Name": name, "EnvironmentIds": [environment], "Roles": [role], "Endpoint": ep}
    return str((await api(client, "POST", f"{SPACE}/machines", body, expect=201))["Id"])


async def wait_targets_healthy(client: RawClient, environment: str, role: str, wanted: int) -> float:
    """Seconds until ``wanted`` targets of ``role`` are Healthy and no task is queued or running."""
    query = f"{SPACE}/machines?environmentIds={environment}&roles={role}"
    started = time.perf_counter()
    while time.perf_counter() - started < WAIT_S:
        healthy = await api(client, "GET", f"{query}&healthStatuses=Healthy&take=0")
        if healthy["TotalResults"] >= wanted:
            busy = await api(client, "GET", f"{SPACE}/tasks?states=Queued,Executing,Cancelling&take=0")
            if busy["TotalResults"] == 0:
                return time.perf_counter() - started
        await asyncio.sleep(0.1)
    page = await api(client, "GET", f"{query}&take=100")
    seen = [f"{m['Name']}: {m['HealthStatus']} ({m.get('StatusSummary')})" for m in page["Items"]]
    raise RuntimeError(f"targets of role {role} not all Healthy after {WAIT_S:g}s: {seen}")


async def wait_worker_healthy(client: RawClient, pool: str) -> None:
    started = time.perf_counter()
    while time.perf_counter() - started < WAIT_S:
        page = await api(client, "GET", f"{SPACE}/workers?workerPoolIds={pool}&healthStatuses=Healthy&take=0")
        if page["TotalResults"] >= 1:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the worker of {pool} is not Healthy after {WAIT_S:g}s")


def run_queue_wait_s(pid: int) -> float:
    """Seconds the process's threads have spent runnable but waiting for a core (``schedstat``)."""
    total = 0
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{thread}/schedstat").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e9


async def raw_log(node: RunningServer, task_id: str) -> str:
    """A task's plain-text log (RawClient reads JSON only); never inside a timed interval."""
    request = urllib.request.Request(
        f"{node.url}/api/tasks/{task_id}/raw", headers={"X-Octopus-ApiKey": node.key}
    )

    def read() -> str:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.read().decode())

    return await asyncio.to_thread(read)


async def check_ran(node: RunningServer, task_id: str, steps: int, names: list[str]) -> None:
    """A step with no target in its roles is skipped and the deployment still succeeds: check that every
    step printed its line on every target."""
    raw = await raw_log(node, task_id)
    wanted = [f"step {n} on {name}" for n in range(1, steps + 1) for name in names]
    missing = [line for line in wanted if line not in raw]
    if missing:
        raise RuntimeError(f"deployment {task_id} did not print {missing}:\n{raw[-4000:]}")


@dataclass
class Project:
    id: str
    environment: str
    releases: int = 0

    @classmethod
    async def create(cls, client: RawClient, name: str, environment: str, role: str, steps: int) -> Project:
        project = await api(client, "POST", f"{SPACE}/projects", {"Name": name}, expect=201)
        url = f"{SPACE}/deploymentprocesses/{project['DeploymentProcessId']}"
        process = await api(client, "GET", url)
        process["Steps"] = [
            {
                "Name": f"Step {n}",
                "Properties": {"Octopus.Action.TargetRoles": role},
                "Actions": [
                    {
                        "Name": f"Step {n}",
                        "ActionType": "Octopus.Script",
                        "Properties": {
                            "Octopus.Action.Script.ScriptBody": f"echo step {n} on #{{Octopus.Machine.Name}}"
                        },
                    }
                ],
            }
            for n in range(1, steps + 1)
        ]
        await api(client, "PUT", url, process)  # sends back the Version it read
        return cls(str(project["Id"]), environment)

    async def release(self, client: RawClient) -> str:
        self.releases += 1
        body = {"ProjectId": self.id, "Version": f"1.0.{self.releases}"}
        return str((await api(client, "POST", f"{SPACE}/releases", body, expect=201))["Id"])

    async def deploy(self, client: RawClient, node: RunningServer) -> tuple[float, float, str]:
        """Deploy a new release and follow it to the end: (milliseconds, server CPU seconds, task id),
        both from POST /deployments to the stream's final line; the release is made before either."""
        release = await self.release(client)
        body = {"ReleaseId": release, "EnvironmentId": self.environment}
        cpu = cpu_seconds(node.pid)
        started = time.perf_counter()
        deployment = await api(client, "POST", f"{SPACE}/deployments", body, expect=201)
        final = await follow(client, str(deployment["TaskId"]))
        elapsed = (time.perf_counter() - started) * 1000
        cpu = cpu_seconds(node.pid) - cpu
        task_id = str(deployment["TaskId"])
        if final.get("State") != "Success":
            raw = await raw_log(node, task_id)
            raise RuntimeError(f"deployment {task_id} ended {final.get('State')}: {final}\n{raw[-4000:]}")
        return elapsed, cpu, task_id


async def start_agents(
    client: RawClient, node: RunningServer, root: Path, thumbprint: str, started: list[AgentProcess]
) -> tuple[list[AgentProcess], list[tuple[AgentProcess, str]], AgentProcess]:
    """The 5 listening and 5 polling fleet agents (polling ones with their subscriptions) and the one
    agent of section 2; each is added to ``started`` before it starts, so the caller stops it."""
    listening = [make_agent(root, f"listen-{n}", thumbprint) for n in range(LISTENING_TARGETS)]
    polling = []
    for n in range(POLLING_TARGETS):
        sub = subscription_id()
        server = agent_config.PollingServer(node.url, "127.0.0.1", node.comms_port, sub, thumbprint)
        polling.append((make_agent(root, f"poll-{n}", thumbprint, server), sub))
    single = make_agent(root, "single", thumbprint)
    everyone = [*listening, *(a for a, _ in polling), single]
    for agent in everyone:
        started.append(agent)
        agent.start()
    await asyncio.gather(*(agent.wait_started() for agent in everyone))
    return listening, polling, single


# -- 1. a 3-step deployment to 10 targets ----------------------------------------------------------------


async def fleet_deployment(
    client: RawClient, node: RunningServer, project: Project, agents: list[AgentProcess], names: list[str]
) -> list[list[object]]:
    for _ in range(FLEET_WARMUPS):
        _, _, task_id = await project.deploy(client, node)
    await check_ran(node, task_id, STEPS, names)
    agents_cpu = sum(a.cpu_seconds() for a in agents)
    client_cpu = time.process_time()
    loop_cpu = cpu_seconds(node.pid)
    waited = run_queue_wait_s(node.pid)
    runs = [await project.deploy(client, node) for _ in range(FLEET_RUNS)]
    waited = run_queue_wait_s(node.pid) - waited
    loop_cpu = cpu_seconds(node.pid) - loop_cpu
    agents_cpu = sum(a.cpu_seconds() for a in agents) - agents_cpu
    client_cpu = time.process_time() - client_cpu
    walls = [ms for ms, _, _ in runs]
    server_cpu = sum(cpu for _, cpu, _ in runs)
    units = FLEET_RUNS * STEPS * len(agents)  # step-on-a-target runs measured
    return [
        ["wall time p50 (ms)", percentile(walls, 50), ""],
        ["wall time p95 (ms)", percentile(walls, 95), ""],
        ["wall time max (ms)", max(walls), ""],
        ["server CPU per deployment, mean (ms)", server_cpu * 1000 / FLEET_RUNS, ""],
        ["  the same with making its release (ms)", loop_cpu * 1000 / FLEET_RUNS, ""],
        ["server runnable, waiting for a core, per deployment (ms)", waited * 1000 / FLEET_RUNS, ""],
        ["server CPU per step per target (ms)", server_cpu * 1000 / units, f"<= {CPU_GOAL_MS:g}"],
        [f"agents' CPU per step per target, all {len(agents)} (ms)", agents_cpu * 1000 / units, ""],
        ["benchmark client's CPU per deployment (ms)", client_cpu * 1000 / FLEET_RUNS, ""],
    ]


# -- 2. a 1-step deployment to 1 target beside the ad-hoc script -----------------------------------------


async def single_target(
    client: RawClient, node: RunningServer, project: Project, worker_id: str
) -> tuple[list[float], list[float], list[float], list[float]]:
    """(deployment ms, ad-hoc ms, deployment server CPU s, ad-hoc server CPU s) per run."""
    adhoc = script(TargetType="Workers", MachineIds=[worker_id])

    async def one_adhoc() -> tuple[float, float]:
        cpu = cpu_seconds(node.pid)
        ms, task = await run_task(client, adhoc)
        cpu = cpu_seconds(node.pid) - cpu
        if task.get("State") != "Success":
            raise RuntimeError(f"the ad-hoc script ended {task.get('State')}: {task}")
        return ms, cpu

    for _ in range(SINGLE_WARMUPS):
        _, _, task_id = await project.deploy(client, node)
        await one_adhoc()
    await check_ran(node, task_id, 1, [SINGLE_NAME])
    deploy_ms, adhoc_ms, deploy_cpu, adhoc_cpu = [], [], [], []
    for n in range(SINGLE_RUNS):
        # Alternate which goes first, so neither always follows the other.
        if n % 2:
            a_ms, a_cpu = await one_adhoc()
            d_ms, d_cpu, _ = await project.deploy(client, node)
        else:
            d_ms, d_cpu, _ = await project.deploy(client, node)
            a_ms, a_cpu = await one_adhoc()
        deploy_ms.append(d_ms)
        deploy_cpu.append(d_cpu)
        adhoc_ms.append(a_ms)
        adhoc_cpu.append(a_cpu)
    return deploy_ms, adhoc_ms, deploy_cpu, adhoc_cpu


# -- main ------------------------------------------------------------------------------------------------


async def sections(node: RunningServer, client: RawClient, root: Path, agents: list[AgentProcess]) -> None:
    cert = await api(client, "GET", "/api/configuration/certificates/certificate-global")
    environment = str(
        (await api(client, "POST", f"{SPACE}/environments", {"Name": "Bench"}, expect=201))["Id"]
    )

    started = time.perf_counter()
    listening, polling, single = await start_agents(client, node, root, str(cert["Thumbprint"]), agents)
    fleet_names = [f"bench-listen-{n}" for n in range(len(listening))]
    fleet_names += [f"bench-poll-{n}" for n in range(len(polling))]
    for name, agent in zip(fleet_names[: len(listening)], listening, strict=True):
        await add_target(client, name, environment, "web", endpoint(agent))
    for name, (agent, sub) in zip(fleet_names[len(listening) :], polling, strict=True):
        await add_target(client, name, environment, "web", endpoint(agent, sub))
    await add_target(client, SINGLE_NAME, environment, "one", endpoint(single))
    pool = await new_pool(client, "Bench single")
    worker_id = await add_worker(client, "bench-single-worker", pool, endpoint(single))
    fleet = [*listening, *(a for a, _ in polling)]
    await wait_targets_healthy(client, environment, "web", len(fleet))
    await wait_targets_healthy(client, environment, "one", 1)
    await wait_worker_healthy(client, pool)
    ready_s = time.perf_counter() - started

    project = await Project.create(client, "Bench 3 steps", environment, "web", STEPS)
    rows = await fleet_deployment(client, node, project, fleet, fleet_names)
    rows.insert(0, ["agents started, registered and Healthy (s)", ready_s, ""])
    table(
        f"1. A {STEPS}-step deployment to {len(fleet)} targets ({LISTENING_TARGETS} listening + "
        f"{POLLING_TARGETS} polling agent processes), POST /deployments to finished task, "
        f"{FLEET_RUNS} runs after {FLEET_WARMUPS} warm-ups",
        ["measure", "value", "goal"],
        rows,
    )

    project = await Project.create(client, "Bench 1 step", environment, "one", 1)
    deploy_ms, adhoc_ms, deploy_cpu, adhoc_cpu = await single_target(client, node, project, worker_id)
    ratio = percentile(deploy_ms, 50) / percentile(adhoc_ms, 50)
    table(
        f"2. On one listening agent, as target and as worker: POST to finished task, {SINGLE_RUNS} runs "
        f"of each (alternating) after {SINGLE_WARMUPS} warm-ups",
        ["run", "p50 (ms)", "p95 (ms)", "max (ms)", "server CPU mean (ms)", "goal"],
        [
            [
                "1-step deployment",
                percentile(deploy_ms, 50),
                percentile(deploy_ms, 95),
                max(deploy_ms),
                sum(deploy_cpu) * 1000 / SINGLE_RUNS,
                "",
            ],
            [
                "ad-hoc `echo hello`",
                percentile(adhoc_ms, 50),
                percentile(adhoc_ms, 95),
                max(adhoc_ms),
                sum(adhoc_cpu) * 1000 / SINGLE_RUNS,
                "",
            ],
            ["deployment / ad-hoc, p50", f"{ratio:.2f}x", "", "", "", f"<= {RATIO_GOAL:g}x"],
        ],
    )

    table("Server", ["measure", "value"], [["RSS at the end (MB)", rss_mb(node.pid)]])


async def main() -> None:
    await run_sections(sections, "argonaut-bench-deploy-", TASK_CAP)


if __name__ == "__main__":
    asyncio.run(main())
