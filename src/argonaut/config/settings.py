"""Server settings. Command-line flags and ``ARGONAUT_*`` environment variables feed the same tree.

Environment names come from the field path (``ARGONAUT_TASK_CAP``), so docs and code cannot drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARGONAUT_", extra="ignore")

    home: Path = Field(
        Path("argonaut-data"), description="Folder holding the database, keys, logs, artifacts"
    )
    listen_host: str = Field("127.0.0.1", description="Address the HTTP API and portal bind to")
    listen_port: int = Field(8080, ge=0, le=65535, description="Port of the HTTP API and portal")
    comms_port: int = Field(
        10943, ge=0, le=65535, description="TLS port agents connect to (polling, start notices)"
    )
    task_cap: int = Field(5, ge=1, le=1000, description="Most tasks this node executes at once")
    database: str | None = Field(
        None, description="SQLAlchemy URL; default is SQLite in WAL mode under the home folder"
    )
    built_in_worker: bool = Field(True, description="Run scripts for an empty default pool on this node")
    built_in_worker_user: str | None = Field(None, description="OS user the built-in worker runs scripts as")
    work_folder: Path | None = Field(
        None,
        description="Where the built-in worker makes each script's run folder (script, variables, output, "
        "working files); default: a private folder in /dev/shm (memory-backed, so scripts start fast and "
        "secrets stay off the disk), else <home>/work",
    )
    admin_api_key: SecretStr | None = Field(None, description="Admin API key to use at first start")
    admin_password: SecretStr | None = Field(
        None,
        description="Password of the first-start admin user (default: none, it signs in with its API key)",
    )
    session_hours: float = Field(
        12.0, gt=0, le=24 * 90, description="How long a login session (the browser cookie) lasts, in hours"
    )
    login_failures: int = Field(
        5, ge=1, description="Failed logins for one user name within login_window_s before it is locked"
    )
    login_address_failures: int = Field(
        20,
        ge=1,
        description="Failed logins from one client address within login_window_s before it is locked",
    )
    login_window_s: float = Field(300.0, gt=0, description="The window failed logins are counted in")
    login_lock_s: float = Field(
        60.0,
        gt=0,
        description="First lock after too many failed logins; each further failure while counted doubles "
        "it, up to an hour",
    )
    master_key: SecretStr | None = Field(
        None,
        description="Base64 of the 32-byte key that encrypts secrets at rest; every node of a cluster "
        "needs the same one (default: the home folder's master.key, made on first start)",
    )
    node_offline_after_s: float = Field(
        15.0,
        ge=2,
        le=600,
        description="A node that has not heartbeat for this long is offline; its running tasks go on "
        "elsewhere",
    )
    shutdown_grace_s: float = Field(
        5.0,
        ge=0,
        description="On SIGTERM, how long running tasks may finish before they are handed over to the "
        "next start (or stopped, when their scripts cannot be followed later)",
    )
    node_name: str | None = Field(None, description="Name of this server node; default is the host name")
    comms_max_unauthenticated: int = Field(
        1000,  # 100 throttled 10,000 agents reconnecting after a restart (bench/agents_scale.py)
        ge=1,
        description="Most connections to the comms port still in their TLS handshake or hello; "
        "more wait in the listen backlog until places free up",
    )
    comms_handshakes_at_once: int = Field(
        256,
        ge=1,
        description="Most TLS handshakes on the comms port at once; other connections wait their turn",
    )
    comms_handshake_timeout_s: float = Field(
        10.0, gt=0, description="How long a connection to the comms port may take over its TLS handshake"
    )
    comms_call_timeout_s: float = Field(
        60.0,
        gt=0,
        description="How long a call to an agent waits for its answer (a long poll: this plus its wait)",
    )
    comms_ping_interval_s: float = Field(
        30.0, ge=0, description="How often links to agents are pinged to find dead connections; 0: never"
    )
    comms_ping_timeout_s: float = Field(
        30.0, gt=0, description="A link whose agent answers no ping within this is closed and reconnected"
    )
    max_request_body_mb: float = Field(
        10.0,
        gt=0,
        le=100_000,
        description="Largest request body the API reads, in MB (2^20 bytes); a larger one is answered 413",
    )
    event_retention_days: float = Field(
        90.0,
        gt=0,
        le=36500,
        description="How long the audit trail (/api/events) keeps an event, in days; older ones are deleted "
        "once an hour, by one node of the cluster",
    )
    task_log_retention_days: float = Field(
        90.0,
        ge=0,
        le=36500,
        description="How long a finished task keeps its log lines, in days (0: for ever); older logs are "
        "replaced by one line saying so, once an hour, by one node of the cluster; the task itself stays",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="How the node writes its log lines to stderr: text for people, json (one object per "
        "line, with task and worker ids) for log shippers",
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite+aiosqlite:///{self.home / 'argonaut.db'}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"
