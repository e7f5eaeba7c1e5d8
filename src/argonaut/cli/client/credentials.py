"""Where ``argonaut login`` keeps the API key it made: ``$XDG_CONFIG_HOME/argonaut/credentials.json``
(``~/.config/argonaut/credentials.json``), mode 0600 in a 0700 folder, one entry per server URL. The
other verbs read it when neither ``--api-key`` nor ``ARGONAUT_API_KEY`` gives a key. A password is never
stored: only the key, which the user can revoke on the server (``/api/users/{id}/apikeys``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "argonaut" / "credentials.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def stored_key(server: str) -> str | None:
    """The key stored for ``server`` (a URL without its trailing slash), or None."""
    entry = (_read(credentials_path()).get("Servers") or {}).get(server.rstrip("/"))
    key = entry.get("ApiKey") if isinstance(entry, dict) else None
    return key if isinstance(key, str) and key else None


def store_key(server: str, username: str, user_id: str, key_id: str, key: str) -> Path:
    """Keep ``key`` for ``server`` (replacing an older one), written whole with mode 0600; answers the
    file's path."""
    path = credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = _read(path)
    found = data.get("Servers")
    servers: dict[str, Any] = found if isinstance(found, dict) else {}
    servers[server.rstrip("/")] = {"Username": username, "UserId": user_id, "ApiKeyId": key_id, "ApiKey": key}
    data["Servers"] = servers
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=2)
    os.chmod(temporary, 0o600)  # an older file left with a wider mode is narrowed too
    os.replace(temporary, path)
    return path
