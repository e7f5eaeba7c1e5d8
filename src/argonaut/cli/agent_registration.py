"""What ``argonaut agent register-worker``, ``register-with`` and ``deregister-worker`` ask of the server,
step by step.

The steps and messages mirror the described system's Tentacle commands (``RegisterWorkerCommandBase``,
``RegisterMachineCommand``, ``DeregisterWorkerCommand``), so scripts written for it read the same here. A
worker and a deployment target are registered the same way (the server's trust, the endpoint, the agent's
polling entries); only the resource and what it joins (worker pools, or environments and roles) differ.

This lives in ``cli/`` and not in ``argonaut.agent`` because it talks through the client's
:class:`ApiSession` (one translation of HTTP failures into ``error:`` lines for every verb), and the agent
package must never import the CLI.

Nothing here writes the agent's files: :func:`register` and :func:`register_target` change the
:class:`AgentConfig` they are given (trust, polling entry) only after the server accepted the machine, and
the caller saves it, so a refused registration leaves the agent exactly as it was.
"""

from __future__ import annotations

import json
import secrets
import socket
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from argonaut.agent.config import ANY_NODE, DEFAULT_SERVER_COMMS_PORT, AgentConfig, KnownServer, PollingServer
from argonaut.cli.client.http import ApiSession, CliError, find_one

PASSIVE = "TentaclePassive"
ACTIVE = "TentacleActive"
STYLES = (PASSIVE, ACTIVE)
MIN_API_MAJOR = 3  # the described system's Tentacle refuses servers older than 3.0
_WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::", "*", "[::]"})
_SUBSCRIPTION_LETTERS = string.ascii_lowercase
_SUBSCRIPTION_LENGTH = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineRequest:
    """What the user asked for on the command line, before anything is resolved on the server."""

    name: str
    style: str  # PASSIVE or ACTIVE
    policy: str | None = None
    public_hostname: str | None = None
    server_comms_port: int | None = None  # None: the port the server reports
    # Explicit HOST:PORT comms addresses (behind a load balancer, say); None: every node the cluster lists
    server_comms_addresses: tuple[str, ...] = ()
    force: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerRequest(MachineRequest):
    pools: tuple[str, ...]  # names, slugs or Ids


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetRequest(MachineRequest):
    environments: tuple[str, ...]  # names, slugs or Ids
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Kind:
    """Which resource a registration makes: its collection, its noun and what it joins."""

    segment: str  # "workers", "machines"
    noun: str  # in "A worker named … already exists", as the described system words it
    joins: str  # "Worker pools", "Environments": the message's label for what it joined


WORKER = Kind("workers", "worker", "Worker pools")
TARGET = Kind("machines", "machine", "Environments")


@dataclass(frozen=True, slots=True)
class Registered:
    machine: dict[str, Any]
    created: bool  # False: an existing machine was updated (--force)
    space: dict[str, Any]
    joined: list[dict[str, Any]]  # the worker pools or environments, resolved
    kind: Kind
    server_thumbprint: str
    comms_port: int  # where the agent polls, or sends its start notice
    # Every node of the cluster: (host, comms port, thumbprint); "*" pins any trusted node.
    targets: tuple[tuple[str, int, str], ...] = ()


# -- the server ---------------------------------------------------------------------------------------


def check_api_version(api: ApiSession) -> dict[str, Any]:
    """Refuse servers whose API is older than 3: their worker resources have another shape.

    Answers the root document, which also says where the server's comms port is.
    """
    answer = api.get("/api")
    root: dict[str, Any] = dict(answer) if isinstance(answer, dict) else {}
    version = str(root.get("ApiVersion") or "")
    major = version.split(".", 1)[0]
    if not major.isdigit():
        raise CliError(
            f"the server at {api.server} did not report an API version; is --server an Argonaut server?"
        )
    if int(major) < MIN_API_MAJOR:
        raise CliError(
            f"the server at {api.server} has API version {version}; "
            f"this agent needs {MIN_API_MAJOR}.0 or later"
        )
    return root


def comms_port_of(root: dict[str, Any], chosen: int | None) -> int:
    """The server's comms port: ``--server-comms-port`` when given (a port forwarded elsewhere), else
    the one the server reports it is bound to, else the described system's 10943.

    Why not simply 10943: a server on another port then never heard a listening agent start, and the
    agent stayed unchecked until its machine policy's interval came round.
    """
    if chosen is not None:
        return chosen
    reported = root.get("CommsPort")
    if isinstance(reported, int) and not isinstance(reported, bool) and 0 < reported < 65536:
        return reported
    return DEFAULT_SERVER_COMMS_PORT


def server_thumbprint(api: ApiSession) -> str:
    """The thumbprint of the server's certificate, which the agent pins instead of trusting a CA."""
    answer = api.get("/api/configuration/certificates/certificate-global")
    thumbprint = answer.get("Thumbprint") if isinstance(answer, dict) else None
    if not isinstance(thumbprint, str) or not thumbprint.strip():
        raise CliError(f"the server at {api.server} did not give its certificate thumbprint")
    return thumbprint.strip().upper()


def resolve_pools(api: ApiSession, texts: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each pool by Id, name or slug (case-insensitive); every missing one is named in a single error."""
    return _resolve(api, "workerpools/all", texts, "worker pool")


def resolve_environments(api: ApiSession, texts: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each environment by Id, name or slug, as the described system's ``--environment`` takes them."""
    return _resolve(api, "environments/all", texts, "environment")


def _resolve(api: ApiSession, all_path: str, texts: tuple[str, ...], noun: str) -> list[dict[str, Any]]:
    known: list[dict[str, Any]] = api.get(api.in_space(all_path))
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for text in texts:
        item = _match(known, text)
        if item is None:
            missing.append(text)
        else:
            found.setdefault(str(item["Id"]), item)
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        nouns = noun if len(missing) == 1 else f"{noun}s"
        raise CliError(f"there is no {nouns} {names} in space '{api.space['Name']}'")
    return list(found.values())


def _match(items: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    wanted = text.strip().casefold()
    for key in ("Id", "Name", "Slug"):  # an Id is never a name; a name beats another item's slug
        for item in items:
            if str(item.get(key, "")).casefold() == wanted:
                return item
    return None


def resolve_policy(api: ApiSession, text: str) -> dict[str, Any]:
    policies: list[dict[str, Any]] = api.get(api.in_space("machinepolicies/all"))
    return find_one(policies, text, "machine policy", f"space '{api.space['Name']}'")


def find_named(api: ApiSession, kind: Kind, name: str) -> dict[str, Any] | None:
    """The worker or target with exactly this name, case-insensitively, as the described system's
    ``FindByName``.

    The server's ``name`` filter already matches that way; filtering again keeps the answer exact
    against servers whose filter is a partial match.
    """
    page = api.get(api.in_space(kind.segment), {"name": name, "take": 1000})
    items = page.get("Items") if isinstance(page, dict) else None
    wanted = name.casefold()
    for item in items or []:
        if str(item.get("Name", "")).casefold() == wanted:
            return dict(item)
    return None


# -- the endpoint -------------------------------------------------------------------------------------


def same_server(a: str, b: str) -> bool:
    """Two spellings of one server URL (case of scheme and host, a trailing slash) are the same server."""
    return _server_key(a) == _server_key(b)


def _server_key(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def new_subscription_id() -> str:
    """``poll://`` + 20 random lower-case letters + ``/``, the described system's shape."""
    letters = "".join(secrets.choice(_SUBSCRIPTION_LETTERS) for _ in range(_SUBSCRIPTION_LENGTH))
    return f"poll://{letters}/"


def subscription_id_for(config: AgentConfig, server_url: str) -> str:
    """Reuse the id already used with this server, so one agent registered in several spaces is one
    polling connection; otherwise a new one."""
    for entry in config.polling:
        if same_server(entry.url, server_url):
            return entry.subscription_id
    return new_subscription_id()


def listening_uri(config: AgentConfig, public_hostname: str | None) -> str:
    """``https://<host>:<listen port>/`` where ``host`` is how the server should reach this agent.

    Without ``--public-hostname`` the listen address is used, unless it is a wildcard (``0.0.0.0``),
    which the server cannot connect to; then this machine's name.
    """
    host = (public_hostname or "").strip()
    if not host:
        address = config.listen_address.strip()
        host = machine_name() if address in _WILDCARD_ADDRESSES else address
    host = host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"https://{host}:{config.listen_port}/"


def machine_name() -> str:
    """The fully qualified name when the resolver knows one; ``localhost`` would send the server to itself."""
    fqdn = socket.getfqdn()
    return socket.gethostname() if fqdn.lower().startswith("localhost") else fqdn


def endpoint_for(
    request: MachineRequest, config: AgentConfig, own_thumbprint: str, server_url: str
) -> dict[str, Any]:
    if request.style == ACTIVE:
        uri = subscription_id_for(config, server_url)
    else:
        uri = listening_uri(config, request.public_hostname)
    return {"CommunicationStyle": request.style, "Uri": uri, "Thumbprint": own_thumbprint}


def remember_polling(
    config: AgentConfig, server_url: str, targets: Sequence[tuple[str, int, str]], subscription_id: str
) -> None:
    """The entries the running agent polls for this server: one per node (host, comms port, certificate),
    replacing what an earlier registration with it wrote."""
    config.polling = [e for e in config.polling if not same_server(e.url, server_url)]
    for host, port, thumbprint in targets:
        config.polling.append(PollingServer(server_url, host, port, subscription_id, thumbprint))


def remember_announce(config: AgentConfig, server_url: str, targets: Sequence[tuple[str, int, str]]) -> None:
    """A listening agent tells every node's comms port when it starts, so it is checked at once."""
    config.announce_to = [k for k in config.announce_to if not same_server(k.url, server_url)]
    for host, port, thumbprint in targets:
        config.announce_to.append(KnownServer(server_url, host, port, thumbprint))


def cluster_targets(
    api: ApiSession, comms_port: int, thumbprint: str, addresses: Sequence[str]
) -> list[tuple[str, int, str]]:
    """Where the agent reaches the server: with explicit addresses, those (pinning any node of the
    cluster); else each node the server lists, at the server's host; else the one server answering."""
    nodes = cluster_nodes(api)
    if addresses:
        return [(*split_address(a), ANY_NODE) for a in addresses]
    host = urlsplit(api.server).hostname or api.server
    targets = [(host, comms_port, thumbprint)]
    for node in nodes:
        port, node_thumbprint = node.get("CommsPort"), node.get("Thumbprint")
        if isinstance(port, int) and isinstance(node_thumbprint, str) and node_thumbprint != thumbprint:
            targets.append((host, port, node_thumbprint.upper()))
    return targets


def cluster_nodes(api: ApiSession) -> list[dict[str, Any]]:
    """The nodes sharing the server's database (an older server lists none)."""
    try:
        nodes = api.get("/api/octopusservernodes/all")
    except CliError:
        return []
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def split_address(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CliError(f"--server-comms-address '{text}' is not HOST:PORT")
    return host.strip("[]"), int(port)


# -- the verbs ----------------------------------------------------------------------------------------


def register(api: ApiSession, config: AgentConfig, own_thumbprint: str, request: WorkerRequest) -> Registered:
    """Create (or with ``force`` update) this agent's worker in ``api``'s space, then trust the server.

    ``config`` is changed in memory only after the server accepted the worker; the caller saves it.
    """
    root = check_api_version(api)
    pools = resolve_pools(api, request.pools)
    fields = {"WorkerPoolIds": [p["Id"] for p in pools]}
    return _register(api, config, own_thumbprint, request, root, WORKER, fields, pools)


def register_target(
    api: ApiSession, config: AgentConfig, own_thumbprint: str, request: TargetRequest
) -> Registered:
    """Create (or with ``force`` update) this agent's deployment target in ``api``'s space, then trust
    the server: the described system's ``register-with``."""
    root = check_api_version(api)
    environments = resolve_environments(api, request.environments)
    roles = [r.strip() for r in request.roles if r.strip()]
    if not roles:
        raise CliError("give at least one --role for the deployment target")
    fields = {"EnvironmentIds": [e["Id"] for e in environments], "Roles": roles}
    return _register(api, config, own_thumbprint, request, root, TARGET, fields, environments)


def _register(
    api: ApiSession,
    config: AgentConfig,
    own_thumbprint: str,
    request: MachineRequest,
    root: dict[str, Any],
    kind: Kind,
    fields: dict[str, Any],
    joined: list[dict[str, Any]],
) -> Registered:
    """The steps every registration shares, once the server's version and the machine's own fields
    (``fields``: pools, or environments and roles) are known."""
    comms_port = comms_port_of(root, request.server_comms_port)
    thumbprint = server_thumbprint(api)
    space = api.space
    policy = resolve_policy(api, request.policy) if request.policy is not None else None
    existing = find_named(api, kind, request.name)
    if existing is not None and not request.force:
        raise CliError(
            f"A {kind.noun} named '{request.name}' already exists in space '{space['Name']}'; "
            "use --force to update it"
        )
    endpoint = endpoint_for(request, config, own_thumbprint, api.server)
    body: dict[str, Any] = {
        **(existing or {}),
        "Name": existing["Name"] if existing else request.name,
        **fields,
        "Endpoint": endpoint,
    }
    if policy is not None:
        body["MachinePolicyId"] = policy["Id"]
    if existing is None:
        machine: dict[str, Any] = api.post(api.in_space(kind.segment), body)
    else:
        machine = _put(api, api.in_space(f"{kind.segment}/{existing['Id']}"), body)
    targets = cluster_targets(api, comms_port, thumbprint, request.server_comms_addresses)
    config.trust(thumbprint)
    for node in cluster_nodes(api):  # every node of the cluster may call this agent, or be polled by it
        if isinstance(node.get("Thumbprint"), str):
            config.trust(str(node["Thumbprint"]))
    if request.style == ACTIVE:
        remember_polling(config, api.server, targets, str(endpoint["Uri"]))
    else:
        remember_announce(config, api.server, targets)
    return Registered(machine, existing is None, space, joined, kind, thumbprint, comms_port, tuple(targets))


def _put(api: ApiSession, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """``ApiSession`` has no ``put`` helper; ``request`` still translates every HTTP failure."""
    response = api.request("PUT", path, body=body)
    try:
        answer = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CliError(
            f"the server at {api.server} answered PUT {path} with something that is not JSON"
        ) from None
    return dict(answer) if isinstance(answer, dict) else body


def workers_with_thumbprint(api: ApiSession, thumbprint: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(api.in_space("workers/all"), {"thumbprint": thumbprint})
    return found


def deregister(api: ApiSession, own_thumbprint: str, multiple: bool) -> list[dict[str, Any]]:
    """Delete this agent's worker(s) in ``api``'s space; several only when the user said ``--multiple``."""
    found = workers_with_thumbprint(api, own_thumbprint)
    where = f"space '{api.space['Name']}'"
    if not found:
        raise CliError(f"no worker with this agent's thumbprint {own_thumbprint} is registered in {where}")
    if len(found) > 1 and not multiple:
        names = ", ".join(f"{w.get('Name')} ({w.get('Id')})" for w in found)
        raise CliError(
            f"{len(found)} workers in {where} have this agent's thumbprint ({names}); "
            "use --multiple to deregister them all"
        )
    for item in found:
        api.delete(api.in_space(f"workers/{item['Id']}"))
    return found
