"""One server node's parts, built and started in order and stopped in reverse.

The ASGI app's lifespan owns a :class:`Node`; everything a request needs is on ``node.services``.
"""

from __future__ import annotations

import base64
import logging
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import RowMapping

from argonaut.api.services import CACHES, Services
from argonaut.comms.connections import Connections
from argonaut.comms.dispatcher import AgentDispatcher
from argonaut.comms.relay import Relay
from argonaut.config import ServerSettings
from argonaut.domain.ids import Collection, parse_id
from argonaut.domain.tasks import TaskType
from argonaut.metrics import Metrics
from argonaut.orchestrator.action_runner import ActionRunner
from argonaut.orchestrator.adhoc import AdHocScripts
from argonaut.orchestrator.deployments import Deployments
from argonaut.orchestrator.email_step import EmailStep
from argonaut.orchestrator.events import TaskEvents
from argonaut.orchestrator.guidance import FailureGuidance
from argonaut.orchestrator.health import HealthChecks, WorkerHealth
from argonaut.orchestrator.health_schedule import HealthSchedule
from argonaut.orchestrator.interruption_waits import SIGNAL as INTERRUPTION
from argonaut.orchestrator.interruption_waits import InterruptionWaits
from argonaut.orchestrator.manual import ManualIntervention
from argonaut.orchestrator.nodes import NodeHeartbeat
from argonaut.orchestrator.process_run import Tools
from argonaut.orchestrator.prompt_checks import PromptChecks
from argonaut.orchestrator.queue import Executor, TaskQueue
from argonaut.orchestrator.retention import EventRetention, Retention, TaskLogRetention
from argonaut.orchestrator.runner_updates import RunnerUpdates
from argonaut.orchestrator.trigger_schedule import TriggerSchedule
from argonaut.protocol.link import LinkTimings
from argonaut.runner import PACKAGE_BUNDLE, RUNNER_VERSION
from argonaut.security.admission import Admission, AdmittingServer
from argonaut.security.certificates import NodeCertificate, load_or_create_certificate
from argonaut.security.master_key import SecretBox
from argonaut.security.tls import accepting_context, connecting_context, trim_tls_buffers
from argonaut.server.builtin_worker import BuiltInWorker
from argonaut.server.dispatch import Dispatch
from argonaut.server.first_start import Seeded, first_start
from argonaut.server.work_folder import release_root, work_root
from argonaut.service import processes, smtp, teams, triggers, variables
from argonaut.service.child_runs import ChildRuns
from argonaut.service.events import PURGE_BATCH, purge_older_than
from argonaut.service.task_log_retention import PRUNE_BATCH as TASK_LOG_PRUNE_BATCH
from argonaut.service.task_log_retention import prune_older_than as prune_task_logs
from argonaut.ssh.connections import SshConnections
from argonaut.ssh.dispatcher import SshDispatcher
from argonaut.store import Store, accounts_repo, nodes_repo, workers_repo
from argonaut.store.signals import Signals

log = logging.getLogger("argonaut.server")


def raise_open_file_limit() -> None:
    """Every connected polling agent holds a file descriptor; the common soft limit of 1,024 would cap a
    node below a thousand agents, so take the hard limit the operator allows."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %s", soft)


@dataclass
class Node:
    settings: ServerSettings
    services: Services
    certificate: NodeCertificate
    connections: Connections
    ssh_connections: SshConnections
    schedule: HealthSchedule
    comms: AdmittingServer | None
    seeded: Seeded | None
    heartbeat: NodeHeartbeat
    triggers: TriggerSchedule | None = None  # fires scheduled triggers, once per cluster
    retention: EventRetention | None = None  # deletes expired audit events, once per cluster
    log_retention: Retention | None = None  # prunes old task logs, once per cluster (unless kept for ever)
    work_root: Path = Path()  # the built-in worker's run folders (see work_folder.py)
    built_in: BuiltInWorker | None = None

    @classmethod
    async def start(cls, settings: ServerSettings, box: SecretBox) -> Node:
        """Build and start the node; ``box`` and the store's schema come from ``preflight``."""
        trim_tls_buffers()
        raise_open_file_limit()
        name = settings.node_name or socket.gethostname()
        certificate = load_or_create_certificate(settings.home, f"Argonaut server {name}")
        store = Store(settings.database_url)  # its schema brought up to date by the preflight
        chosen = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        async with store.transaction() as conn:
            password = settings.admin_password.get_secret_value() if settings.admin_password else None
            seeded = await first_start(conn, chosen, password)
            await teams.ensure_built_ins(conn)  # roles, Octopus Administrators, Space Managers: idempotent
        events = TaskEvents()
        connections = Connections(
            connecting_context(certificate),
            accept_context=accepting_context(certificate),
            admission=Admission(
                "comms port",
                settings.comms_max_unauthenticated,
                settings.comms_handshake_timeout_s,
                turns=settings.comms_handshakes_at_once,
            ),
            timings=LinkTimings(
                call_timeout_s=settings.comms_call_timeout_s,
                ping_interval_s=settings.comms_ping_interval_s or None,
                ping_timeout_s=settings.comms_ping_timeout_s,
            ),
        )
        metrics = Metrics()  # this node's, on its own registry: rendered by the API's /metrics
        metrics.agent_links = connections.connected_by_style
        agents = AgentDispatcher(connections, PACKAGE_BUNDLE.version, PACKAGE_BUNDLE.files)
        ssh_connections = SshConnections()

        async def credentials(account_id: str) -> tuple[str, str | None, bytes | None, str | None]:
            async with store.transaction() as conn:
                row = await accounts_repo.by_id(conn, parse_id(Collection.ACCOUNTS, account_id) or 0)
            if row is None:
                raise LookupError(account_id)
            plain = {k: box.decrypt(v) for k, v in (row["secrets"] or {}).items()}
            key = base64.b64decode(plain["PrivateKeyFile"]) if "PrivateKeyFile" in plain else None
            return str(row["username"]), plain.get("Password"), key, plain.get("PrivateKeyPassphrase")

        ssh = SshDispatcher(
            ssh_connections,
            credentials,
            certificate.thumbprint[:16],
            PACKAGE_BUNDLE.version,
            PACKAGE_BUNDLE.files,
        )
        scripts_root = work_root(settings)
        built_in = BuiltInWorker(scripts_root, settings.built_in_worker_user)
        if settings.built_in_worker:
            built_in.prepare()  # its helper process starts now, not with the first script
        dispatch = Dispatch(name, built_in, agents, ssh)
        health = WorkerHealth(store, dispatch, RUNNER_VERSION, settings.built_in_worker)
        # One engine: every executor that runs work on machines goes through the same process run and
        # the same runner of one action in one place.
        children = ChildRuns(store, lambda: queue.wake())
        interruption_waits = InterruptionWaits()  # woken by the interruption signal, below
        tools = Tools(
            store,
            ActionRunner(store, dispatch, settings.artifacts_dir, box.encrypt, metrics),
            settings.artifacts_dir,
            performers={
                "Octopus.DeployRelease": children.deploy_release,
                "Argonaut.RunRunbook": children.run_runbook,
                "Octopus.Email": EmailStep(smtp.loader(store, box)),
                "Octopus.Manual": ManualIntervention(interruption_waits),
            },
            dispatcher_handle=dispatch.handle,
            guidance=FailureGuidance(interruption_waits),
        )
        processes_executor = Deployments(
            tools,
            health,
            settings.built_in_worker,
            box.decrypt,
            lambda conn, set_id: variables.variables_for_run(conn, box, set_id),
            lambda conn, process_id: processes.steps_for_run(conn, box, process_id),
        )
        executors: dict[str, Executor] = {
            TaskType.AD_HOC_SCRIPT.value: AdHocScripts(tools, dispatch, health, settings.built_in_worker),
            TaskType.DEPLOY.value: processes_executor,
            TaskType.RUNBOOK_RUN.value: processes_executor,
            TaskType.HEALTH.value: HealthChecks(health, tools),
            TaskType.UPDATE_CALAMARI.value: RunnerUpdates(store, dispatch),
        }
        explicit_cap = settings.task_cap if "task_cap" in settings.model_fields_set else None
        async with store.transaction() as conn:
            me = await nodes_repo.register(
                conn, name, explicit_cap, settings.task_cap, certificate.thumbprint
            )
        signals = Signals(settings.database_url)
        queue = TaskQueue(
            store,
            events,
            executors,
            dispatch,
            name,
            int(me["max_concurrent_tasks"]),
            signals=signals,
            metrics=metrics,
        )
        queue.draining = bool(me["is_in_maintenance_mode"])
        services = Services(
            settings=settings,
            store=store,
            queue=queue,
            events=events,
            server_thumbprint=certificate.thumbprint,
            server_certificate_pem=certificate.cert_path.read_text(),
            secrets=box,
            checks=PromptChecks(store, queue),
            signals=signals,
        )
        signals.on(CACHES, services.forget_cached)
        signals.on(INTERRUPTION, interruption_waits.wake)
        if not store.is_sqlite:  # nodes share the database: reach agents linked to other nodes through them
            connections.relay = Relay(
                store,
                signals,
                name,
                settings.node_offline_after_s,
                connections.local_polling_link,
                settings.comms_call_timeout_s,
            )
            await connections.relay.forget_own_links()
        await signals.start()
        await queue.start()
        heartbeat = NodeHeartbeat(store, queue, int(me["id"]), settings.node_offline_after_s, queue.adopt)
        heartbeat.start()
        schedule = HealthSchedule(store, queue)
        schedule.start()
        trigger_schedule = TriggerSchedule(store, queue, triggers.fire)
        trigger_schedule.start()
        retention = EventRetention(
            store, name, lambda conn: purge_older_than(conn, settings.event_retention_days), PURGE_BATCH
        )
        retention.start()
        log_retention: Retention | None = None
        if settings.task_log_retention_days > 0:
            days = settings.task_log_retention_days
            log_retention = TaskLogRetention(
                store, name, lambda conn: prune_task_logs(conn, days), TASK_LOG_PRUNE_BATCH
            )
            log_retention.start()
        node = cls(
            settings,
            services,
            certificate,
            connections,
            ssh_connections,
            schedule,
            None,
            seeded,
            heartbeat,
            triggers=trigger_schedule,
            retention=retention,
            log_retention=log_retention,
            work_root=scripts_root,
            built_in=built_in,
        )
        node.comms = await node._open_comms_port()
        return node

    async def _open_comms_port(self) -> AdmittingServer:
        # Without ssl=: each connection's TLS handshake is started by the comms code, which counts
        # and caps the connections not yet authenticated (see security/admission.py).
        server = await self.connections.serve_polling(
            self.settings.listen_host,
            self.settings.comms_port,
            self._authorize_polling,
            self._listening_agent_started,
        )
        host, port = server.sockets[0].getsockname()[:2]
        self.services.comms_port = int(port)
        async with self.services.store.transaction() as conn:  # agents registering learn every node's
            await nodes_repo.set_comms_port(conn, self.heartbeat.node_id, int(port))
        print(f"Comms port for polling agents: {host}:{port}", file=sys.stdout, flush=True)
        return server

    async def _authorize_polling(self, subscription: str, thumbprint: str) -> bool:
        """A polling agent may connect if some space registered it; it then gets a health check soon."""
        async with self.services.store.transaction() as conn:
            registrations = await workers_repo.by_subscription(conn, subscription, thumbprint)
        self._queue_arrival_checks(registrations)
        return bool(registrations)

    async def _listening_agent_started(self, thumbprint: str) -> bool:
        async with self.services.store.transaction() as conn:
            registrations = await workers_repo.listening_by_thumbprint(conn, thumbprint)
        self._queue_arrival_checks(registrations)
        return bool(registrations)

    def _queue_arrival_checks(self, registrations: Sequence[RowMapping]) -> None:
        for row in registrations:
            self.services.checks.request(int(row["space_id"]), [int(row["id"])], "connected or started")

    async def stop(self) -> None:
        queue = self.services.queue
        log.info(
            "shutting down: waiting up to %ss for %d running task(s)",
            self.settings.shutdown_grace_s,
            queue.running_count,
        )
        if self.comms is not None:
            self.comms.close()
        await self.schedule.stop()
        if self.triggers is not None:
            await self.triggers.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self.log_retention is not None:
            await self.log_retention.stop()
        await self.services.checks.stop()
        await queue.stop(self.settings.shutdown_grace_s)
        if self.built_in is not None:
            self.built_in.close()  # after the hand-over: the scripts handed over run on without it
        await self.heartbeat.stop()  # after the hand-over: the other nodes may take it up at once
        if self.connections.relay is not None:
            await self.connections.relay.stop()
        await self.services.signals.stop()
        await self.connections.close()
        await self.ssh_connections.close()
        await self.services.store.close()
        release_root(self.work_root, self.settings)
