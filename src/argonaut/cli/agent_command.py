"""``argonaut agent``: set up an agent instance, register it with servers, and run it.

The verbs mirror the described system's Tentacle commands (``create-instance``, ``new-certificate``,
``configure``, ``register-worker``, ...) so the steps people already script carry over. An instance is a
home folder holding ``agent.json`` and the agent's certificate; every verb takes ``--home``, so several
instances can live on one machine. Failures are one ``error:`` line and exit code 1, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from argonaut.agent import config as agent_config
from argonaut.agent.config import DEFAULT_LISTEN_PORT, DEFAULT_SERVER_COMMS_PORT, AgentConfig, NoInstance
from argonaut.cli import agent_registration as registration
from argonaut.cli.client.http import ApiSession, CliError
from argonaut.cli.client.options import options_decorator, with_api
from argonaut.cli.client.output import Output
from argonaut.cli.client.workers import thumbprint_param
from argonaut.security.certificates import NodeCertificate, load_or_create_certificate

DEFAULT_HOME = "~/.argonaut-agent"
# The file names load_or_create_certificate uses; checked first so a lost certificate is reported
# instead of silently replaced by a new identity that no server knows.
CERT_FILE = "certificate.pem"
KEY_FILE = "certificate.key"
PORT = click.IntRange(1, 65535)
Verb = Callable[..., Any]
Request = TypeVar("Request", bound=registration.MachineRequest)


# -- shared pieces ------------------------------------------------------------------------------------


def _expand(value: str) -> Path:
    return Path(value).expanduser().absolute()


def _home(_: click.Context, __: click.Parameter, value: str) -> Path:
    return _expand(value)


def _address(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("the address is empty")
    return value.strip() if value is not None else None


home_option = click.option(
    "--home",
    envvar="ARGONAUT_AGENT_HOME",
    default=DEFAULT_HOME,
    show_default=True,
    metavar="DIR",
    callback=_home,
    help="The agent instance's folder [env: ARGONAUT_AGENT_HOME]",
)


def agent_errors(verb: Verb) -> Verb:
    """Turn the agent side's own failures (no instance, unreadable files) into one ``error:`` line."""

    @functools.wraps(verb)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return verb(*args, **kwargs)
        except NoInstance as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise CliError(f"{exc.strerror or exc}{where}") from None

    return run


def common_name() -> str:
    return f"Argonaut agent {socket.gethostname()}"


def load_config(home: Path) -> AgentConfig:
    try:
        return agent_config.load(home)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # bad JSON, wrong or missing fields
        raise CliError(
            f"{agent_config.config_path(home)} is damaged ({exc}); fix it, or start again with "
            f"'argonaut agent create-instance --force --home {home}'"
        ) from None


def own_certificate(home: Path) -> NodeCertificate:
    """The agent's certificate, which must already exist: creating one here would change its identity."""
    if not (home / CERT_FILE).exists() or not (home / KEY_FILE).exists():
        raise CliError(
            f"the agent instance in {home} has no certificate; "
            f"create one with 'argonaut agent new-certificate --home {home}'"
        )
    return load_or_create_certificate(home, common_name())


def home_hint(home: Path) -> str:
    """`` --home DIR`` for hints printed to the user, unless DIR is where the verb looks anyway."""
    default = _expand(os.environ.get("ARGONAUT_AGENT_HOME") or DEFAULT_HOME)
    return "" if home == default else f" --home {home}"


def _alias(command: click.Command, name: str, *spellings: str) -> None:
    """Give an option made by a shared decorator the described system's spelling too (``--apiKey``)."""
    for param in command.params:
        if param.name == name and isinstance(param, click.Option):
            param.opts.extend(spellings)
            return
    raise AssertionError(f"{command.name} has no option {name}")  # a programming error, found by any test


@click.group("agent")
def agent() -> None:
    """Set up, register and run an agent (a worker that listens or polls)."""


# -- the instance -------------------------------------------------------------------------------------


@agent.command("create-instance")
@home_option
@click.option(
    "--listen-port", type=PORT, default=DEFAULT_LISTEN_PORT, show_default=True, help="Port to listen on"
)
@click.option(
    "--listen-address",
    default="127.0.0.1",
    show_default=True,
    metavar="ADDR",
    callback=_address,
    help="Address to listen on (0.0.0.0 for every interface)",
)
@click.option(
    "--listen/--no-listen",
    default=True,
    show_default=True,
    help="Accept connections from servers; --no-listen for an agent that only polls",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing instance's configuration (its trust and polling entries are lost; "
    "the certificate is kept: use new-certificate to replace it)",
)
@agent_errors
def create_instance(home: Path, listen_port: int, listen_address: str, listen: bool, force: bool) -> None:
    """Create an agent instance: its home folder, certificate and configuration."""
    if agent_config.config_path(home).exists() and not force:
        raise CliError(
            f"an agent instance already exists in {home}; use --force to replace its configuration"
        )
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)  # it holds the private key; mkdir's mode is reduced by the umask and skipped if present
    certificate = load_or_create_certificate(home, common_name())
    agent_config.save(
        home, AgentConfig(listen=listen, listen_address=listen_address, listen_port=listen_port)
    )
    how = f"listening on {listen_address}:{listen_port}" if listen else "not listening: it polls servers"
    click.echo(f"Created the agent instance in {home} ({how})")
    click.echo(f"Thumbprint: {certificate.thumbprint}")


@agent.command("new-certificate")
@home_option
@agent_errors
def new_certificate(home: Path) -> None:
    """Replace the agent's certificate and private key with new ones."""
    load_config(home)
    has_old = (home / CERT_FILE).exists() and (home / KEY_FILE).exists()
    old = own_certificate(home).thumbprint if has_old else None
    staging = Path(tempfile.mkdtemp(dir=home, prefix=".certificate-"))
    try:
        made = load_or_create_certificate(staging, common_name())
        # Each rename is atomic (one file system); a reader between the two finds a mismatched pair,
        # which fails to load, rather than a half-written file.
        os.replace(made.key_path, home / KEY_FILE)
        os.replace(made.cert_path, home / CERT_FILE)
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
    click.echo(f"Thumbprint: {own_certificate(home).thumbprint}")
    was = f" ({old})" if old else ""
    click.echo(
        f"warning: servers know this agent by its old thumbprint{was}: update its workers "
        "(register-worker --force, or edit the worker's thumbprint), and restart the agent",
        err=True,
    )


@agent.command("show-thumbprint")
@home_option
@click.option("--json", "as_json", is_flag=True, help='Print {"Thumbprint": ...}')
@agent_errors
def show_thumbprint(home: Path, as_json: bool) -> None:
    """Print the thumbprint of the agent's certificate, as servers know it."""
    load_config(home)
    thumbprint = own_certificate(home).thumbprint
    click.echo(json.dumps({"Thumbprint": thumbprint}) if as_json else thumbprint)


@agent.command("configure")
@home_option
@click.option("--listen-port", type=PORT, help="Port to listen on")
@click.option("--listen-address", metavar="ADDR", callback=_address, help="Address to listen on")
@click.option("--listen/--no-listen", default=None, help="Whether to accept connections from servers")
@click.option(
    "--trust",
    multiple=True,
    metavar="THUMBPRINT",
    callback=thumbprint_param,
    help="Trust a server's certificate thumbprint (repeatable)",
)
@click.option("--reset-trust", is_flag=True, help="Trust no server any more (before --trust is applied)")
@click.option(
    "--remove-trust",
    multiple=True,
    metavar="THUMBPRINT",
    callback=thumbprint_param,
    help="Stop trusting a server's thumbprint (repeatable)",
)
@agent_errors
def configure(
    home: Path,
    listen_port: int | None,
    listen_address: str | None,
    listen: bool | None,
    trust: tuple[str, ...],
    reset_trust: bool,
    remove_trust: tuple[str, ...],
) -> None:
    """Change the agent's configuration; the running agent reads it when it starts."""
    config = load_config(home)
    changes: list[str] = []
    if listen_port is not None:
        config.listen_port = listen_port
        changes.append(f"Listen port: {listen_port}")
    if listen_address is not None:
        config.listen_address = listen_address
        changes.append(f"Listen address: {listen_address}")
    if listen is not None:
        config.listen = listen
        changes.append(f"Listening: {'yes' if listen else 'no'}")
    if reset_trust:
        config.trusted.clear()
        changes.append("Trusted servers: none")
    for thumbprint in remove_trust:
        if not config.trusts(thumbprint):
            click.echo(f"warning: {thumbprint} was not trusted", err=True)
        config.trusted = [t for t in config.trusted if t.thumbprint != thumbprint]
        changes.append(f"No longer trusted: {thumbprint}")
    for thumbprint in trust:
        config.trust(thumbprint)
        changes.append(f"Trusted: {thumbprint}")
    if not changes:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    agent_config.save(home, config)
    for change in changes:
        click.echo(change)


@agent.command("show-configuration")
@home_option
@agent_errors
def show_configuration(home: Path) -> None:
    """Print the agent's configuration (agent.json) as JSON; the private key is never shown."""
    click.echo(json.dumps(load_config(home).to_json(), indent=2))


# -- registration -------------------------------------------------------------------------------------


def registration_options(noun: str) -> Callable[[Verb], Verb]:
    """The options ``register-worker`` and ``register-with`` share, worded for the ``noun`` they make."""
    options = [
        click.option(
            "--name", metavar="NAME", help=f"{noun.capitalize()} name [default: this machine's host name]"
        ),
        click.option(
            "--comms-style",
            type=click.Choice(registration.STYLES, case_sensitive=False),
            default=registration.PASSIVE,
            metavar="|".join(registration.STYLES),
            show_default=True,
            help="TentaclePassive: the server connects to this agent; "
            "TentacleActive: this agent polls the server",
        ),
        click.option("--policy", metavar="NAME", help="Machine policy [default: the space's default policy]"),
        click.option(
            "--server-comms-port",
            type=PORT,
            help="The server's comms port, where a polling agent connects and a listening one says it "
            f"started [default: the port the server reports, else {DEFAULT_SERVER_COMMS_PORT}]",
        ),
        click.option(
            "--server-comms-address",
            "server_comms_addresses",
            multiple=True,
            metavar="HOST:PORT",
            help="A comms address of the server's cluster (repeatable), e.g. behind a load balancer "
            "[default: every node the server lists, at the server's host]",
        ),
        click.option(
            "--public-hostname",
            "--publicHostName",
            "public_hostname",
            metavar="HOST",
            help="Name the server uses to reach a listening agent [default: the listen address]",
        ),
        click.option("--force", is_flag=True, help=f"Update the {noun} if one with this name already exists"),
    ]

    return options_decorator(options)


def _request_fields(
    *,
    name: str | None,
    comms_style: str,
    policy: str | None,
    server_comms_port: int | None,
    server_comms_addresses: tuple[str, ...],
    public_hostname: str | None,
    force: bool,
) -> dict[str, Any]:
    """The :class:`registration.MachineRequest` fields from the :func:`registration_options` given."""
    return {
        "name": (name or socket.gethostname()).strip(),
        "style": comms_style,
        "policy": policy,
        "public_hostname": public_hostname,
        "server_comms_port": server_comms_port,
        "server_comms_addresses": server_comms_addresses,
        "force": force,
    }


def _register_agent(
    home: Path,
    api: ApiSession,
    out: Output,
    request: Request,
    register: Callable[[ApiSession, AgentConfig, str, Request], registration.Registered],
) -> None:
    """Register the agent at ``home`` with ``register``, save the server it now trusts, and say so."""
    config = load_config(home)
    thumbprint = own_certificate(home).thumbprint
    _warn_if_not_listening(request.style, config)
    done = register(api, config, thumbprint, request)
    agent_config.save(home, config)
    out.done(done.machine, _registered_message(done))


def _warn_if_not_listening(style: str, config: AgentConfig) -> None:
    if style == registration.PASSIVE and not config.listen:
        click.echo(
            "warning: this agent does not listen; enable it with 'argonaut agent configure --listen'",
            err=True,
        )


@agent.command("register-worker")
@home_option
@click.option(
    "--worker-pool",
    "--pool",
    "--workerpool",
    "pools",
    multiple=True,
    required=True,
    metavar="POOL",
    help="Worker pool to join, by name, slug or Id (repeatable)",
)
@registration_options("worker")
@with_api()
@agent_errors
def register_worker(home: Path, pools: tuple[str, ...], api: ApiSession, out: Output, **options: Any) -> None:
    """Register this agent as a worker in a space of a server, and trust that server.

    Registering the same agent in several spaces makes one worker per space (same thumbprint and, for
    polling, the same subscription id).
    """
    request = registration.WorkerRequest(pools=pools, **_request_fields(**options))
    _register_agent(home, api, out, request, registration.register)


@agent.command("register-with")
@home_option
@click.option(
    "--environment",
    "--env",
    "environments",
    multiple=True,
    required=True,
    metavar="ENVIRONMENT",
    help="Environment the target is in, by name, slug or Id (repeatable)",
)
@click.option("--role", "-r", "roles", multiple=True, required=True, metavar="ROLE", help="Role (repeatable)")
@registration_options("deployment target")
@with_api()
@agent_errors
def register_with(
    home: Path,
    environments: tuple[str, ...],
    roles: tuple[str, ...],
    api: ApiSession,
    out: Output,
    **options: Any,
) -> None:
    """Register this agent as a deployment target in a space of a server, and trust that server.

    The same agent may also be a worker (register-worker): both use its one certificate and, for
    polling, its one subscription id.
    """
    request = registration.TargetRequest(environments=environments, roles=roles, **_request_fields(**options))
    _register_agent(home, api, out, request, registration.register_target)


def _label(item: dict[str, Any]) -> str:
    return f"{item.get('Name')} ({item.get('Id')})"


def _registered_message(done: registration.Registered) -> str:
    machine, space = done.machine, done.space
    verb = "Registered" if done.created else "Updated"
    noun = "worker" if done.kind is registration.WORKER else "deployment target"
    joined = ", ".join(_label(p) for p in done.joined)
    roles = machine.get("Roles")
    endpoint = machine.get("Endpoint") or {}
    style = endpoint.get("CommunicationStyle")
    use = "polled by this agent" if style == registration.ACTIVE else "told when this agent starts"
    return "\n".join(
        [
            f"{verb} {noun} {_label(machine)} in space {_label(space)}",
            f"{done.kind.joins}: {joined}",
            *([f"Roles: {', '.join(str(r) for r in roles)}"] if isinstance(roles, list) else []),
            f"Endpoint: {style} {endpoint.get('Uri')}",
            f"Server comms port: {done.comms_port} ({use})",
            f"The agent trusts the server's certificate {done.server_thumbprint}",
            *(
                f"Also: {host}:{port} ({'any node the agent trusts' if pin == '*' else pin})"
                for host, port, pin in done.targets
                if (port, pin) != (done.comms_port, done.server_thumbprint)
            ),
        ]
    )


@agent.command("deregister-worker")
@home_option
@click.option(
    "--multiple", is_flag=True, help="Deregister every worker with this agent's thumbprint in the space"
)
@with_api()
@agent_errors
def deregister_worker(home: Path, multiple: bool, api: ApiSession, out: Output) -> None:
    """Delete this agent's worker from a space of a server (the agent keeps trusting the server)."""
    load_config(home)
    thumbprint = own_certificate(home).thumbprint
    server_thumbprint = registration.server_thumbprint(
        api
    )  # for the hint; asked first so it cannot fail last
    removed = registration.deregister(api, thumbprint, multiple)
    if out.as_json:
        out.raw(removed)
    else:
        for worker in removed:
            click.echo(f"Deregistered worker {_label(worker)} from space {_label(api.space)}")
    click.echo(
        "The agent still trusts the server; to stop that: "
        f"argonaut agent configure --remove-trust {server_thumbprint}{home_hint(home)}",
        err=out.as_json,
    )


for _verb in (register_worker, register_with, deregister_worker):
    _alias(_verb, "api_key", "--apiKey")


# -- running ------------------------------------------------------------------------------------------


@agent.command("run")
@home_option
def run(home: Path) -> None:
    """Run the agent until SIGTERM or Ctrl-C: listen and/or poll as configured, and run scripts."""
    try:
        from argonaut.agent.service import run_agent
    except ModuleNotFoundError as exc:
        if exc.name != "argonaut.agent.service":
            raise
        raise CliError("this build of argonaut has no agent service yet (argonaut.agent.service)") from None
    try:
        code = run_agent(home)
    except NoInstance as exc:
        raise CliError(str(exc)) from None
    sys.exit(code)
