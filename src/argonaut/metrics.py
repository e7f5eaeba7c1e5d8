"""The node's Prometheus metrics: the objects every recording layer shares, on one registry per node.

Why a module of its own, low in the layers (beside ``protocol`` and ``config``): the queue and the
action runner (``orchestrator``) record into it, the composition root (``server``) wires the comms
links into it and the API (``api/routes_metrics.py``) renders it, so it must sit below all of them and
import nothing of ours. It does no I/O: prometheus-client's objects are counters in memory, and what the
store knows (tasks queued and executing, health counts) is handed in by the scraping route just before
it renders, so the numbers are exact at scrape time without a gauge to keep in step with every state
change.

Why a registry per node rather than prometheus-client's global one: tests and several apps in one
process would otherwise collide on metric names (``Duplicated timeseries``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# Seconds; a built-in ``echo`` is claimed in about a millisecond and runs in a few, a deployment step for
# minutes: the buckets span both.
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """What the store holds at scrape time, read in one grouped query per table (``metrics_repo``)."""

    # (state, task type, space id text) -> tasks
    tasks: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    # (kind: Worker | Target, health status) -> machines, disabled ones left out
    health: Mapping[tuple[str, str], int] = field(default_factory=dict)


class _AtScrape(Collector):
    """Families computed when scraped: the store's counts handed in by the route, and the live agent
    links counted from the comms side (a dict walk, no statement)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        counts = self._metrics.counts
        tasks = GaugeMetricFamily(
            "argonaut_tasks",
            "Tasks not yet finished, by state (Queued, Executing, Cancelling), type and space.",
            labels=["state", "type", "space"],
        )
        for (state, kind, space), n in sorted(counts.tasks.items()):
            tasks.add_metric([state, kind, space], n)
        yield tasks
        health = GaugeMetricFamily(
            "argonaut_machines_health",
            "Enabled workers and deployment targets by health status.",
            labels=["kind", "status"],
        )
        for (kind, status), n in sorted(counts.health.items()):
            health.add_metric([kind, status], n)
        yield health
        agents = GaugeMetricFamily(
            "argonaut_agents_connected",
            "Agents linked to this node now, by communication style (polling, listening).",
            labels=["style"],
        )
        links = self._metrics.agent_links() if self._metrics.agent_links is not None else {}
        for style in ("polling", "listening"):
            agents.add_metric([style], links.get(style, 0))
        yield agents


class Metrics:
    """One node's metrics. Recording is a counter bump or a histogram observation (well under a
    microsecond), so the hot paths (claiming, every log line) pay nearly nothing for it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # RSS, CPU seconds, open files (Linux /proc), and the Python version: what an operator asks first.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.claim_latency = Histogram(
            "argonaut_task_claim_latency_seconds",
            "From a task's queue time to this node claiming it.",
            ["type"],
            buckets=_SLOW,
            registry=self.registry,
        )
        self.script_duration = Histogram(
            "argonaut_script_duration_seconds",
            "From dispatching a script to its exit, by where it ran (BuiltIn, Agent, Ssh).",
            ["kind"],
            buckets=_FAST,
            registry=self.registry,
        )
        self.lease_wait = Histogram(
            "argonaut_lease_wait_seconds",
            "Time a task waited for a worker or deployment target another task held (only waits counted).",
            ["lease"],
            buckets=_SLOW,
            registry=self.registry,
        )
        self.log_lines = Counter(
            "argonaut_task_log_lines",
            "Task log lines written by this node.",
            registry=self.registry,
        )
        self.heartbeats = Counter(
            "argonaut_node_heartbeats",
            "Heartbeats this node wrote to the store.",
            registry=self.registry,
        )
        self.last_heartbeat = Gauge(
            "argonaut_node_last_heartbeat_timestamp_seconds",
            "When this node last wrote its heartbeat (Unix time).",
            registry=self.registry,
        )
        self.counts = StoreCounts()
        # Set by the composition root: live agent links by style, counted at scrape time.
        self.agent_links: Callable[[], Mapping[str, int]] | None = None
        self.registry.register(_AtScrape(self))

    def render(self, counts: StoreCounts) -> bytes:
        """The text exposition, with the store's counts read just before. Synchronous from here on: no
        other scrape can interleave between setting the counts and rendering them."""
        self.counts = counts
        return generate_latest(self.registry)
