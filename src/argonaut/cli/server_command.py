"""``argonaut server``: start one server node."""

from __future__ import annotations

import click


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise click.BadParameter(f"'{text}' is not HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


@click.command("server")
@click.option(
    "--home", type=click.Path(file_okay=False), help="Folder for all state [default: ./argonaut-data]"
)
@click.option("--listen", "listen", metavar="HOST:PORT", help="HTTP address [default: 127.0.0.1:8080]")
@click.option(
    "--comms-port",
    type=click.IntRange(0, 65535),
    help="TLS port agents connect to: polling agents, and listening ones saying they started "
    "[default: 10943; 0 picks a free one]",
)
@click.option(
    "--task-cap", type=click.IntRange(1, 1000), help="Most tasks running at once on this node [default: 5]"
)
@click.option("--database", metavar="URL", help="postgresql+asyncpg://… to share state between nodes")
@click.option("--built-in-worker-user", metavar="NAME", help="Run built-in worker scripts as this OS user")
@click.option("--no-built-in-worker", is_flag=True, help="Disable the built-in worker")
@click.option("--node-name", metavar="NAME", help="Name of this node [default: host name]")
@click.option(
    "--shutdown-grace",
    type=click.FloatRange(0),
    help="Seconds running tasks get on SIGTERM before they are handed over to the next start [default: 5]",
)
@click.option(
    "--max-request-body-mb",
    type=click.FloatRange(0, 100_000, min_open=True),
    help="Largest request body the API reads, in MB; larger ones get 413 [default: 10]",
)
@click.option(
    "--event-retention-days",
    type=click.FloatRange(0, 36500, min_open=True),
    help="Days the audit trail keeps an event; older ones are deleted hourly [default: 90]",
)
@click.option(
    "--task-log-retention-days",
    type=click.FloatRange(0, 36500),
    help="Days a finished task keeps its log lines (0: for ever); the task itself stays [default: 90]",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="Log lines on stderr as text, or as JSON objects with task and worker ids [default: text]",
)
def server(
    home: str | None,
    listen: str | None,
    comms_port: int | None,
    task_cap: int | None,
    database: str | None,
    built_in_worker_user: str | None,
    no_built_in_worker: bool,
    node_name: str | None,
    shutdown_grace: float | None,
    max_request_body_mb: float | None,
    event_retention_days: float | None,
    task_log_retention_days: float | None,
    log_format: str | None,
) -> None:
    """Run an Argonaut server node (REST API, task queue and built-in worker)."""
    overrides: dict[str, object] = {}
    if home is not None:
        overrides["home"] = home
    if listen is not None:
        overrides["listen_host"], overrides["listen_port"] = _host_port(listen)
    for key, value in (
        ("comms_port", comms_port),
        ("task_cap", task_cap),
        ("database", database),
        ("built_in_worker_user", built_in_worker_user),
        ("node_name", node_name),
        ("shutdown_grace_s", shutdown_grace),
        ("max_request_body_mb", max_request_body_mb),
        ("event_retention_days", event_retention_days),
        ("task_log_retention_days", task_log_retention_days),
        ("log_format", log_format),
    ):
        if value is not None:
            overrides[key] = value
    if no_built_in_worker:
        overrides["built_in_worker"] = False
    if built_in_worker_user:
        import pwd

        try:
            pwd.getpwnam(built_in_worker_user)
        except KeyError:
            raise click.BadParameter(
                f"there is no OS user named '{built_in_worker_user}'", param_hint="--built-in-worker-user"
            ) from None
    # Imported here so the client verbs, which share this command, start without the server's imports.
    from argonaut.config import ServerSettings
    from argonaut.server.run import serve

    settings = ServerSettings(**overrides)  # type: ignore[arg-type]

    serve(settings)
