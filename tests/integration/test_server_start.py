"""A node that cannot start says why in one line and exits 2 (``server/preflight.py``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ARGONAUT


@pytest.mark.parametrize("busy", ["HTTP port", "comms port"])
def test_a_node_whose_port_is_taken_says_which_and_stops(server: Any, tmp_path: Path, busy: str) -> None:
    """A second node started on this machine with the first one's port: one line naming the port and
    the option that changes it, not a traceback from inside the app's startup."""
    http_port = server.client.base_url.port if busy == "HTTP port" else 0
    comms_port = server.comms_port if busy == "comms port" else 0
    done = subprocess.run(
        [str(ARGONAUT), "server", "--home", str(tmp_path / "second"), "--listen", f"127.0.0.1:{http_port}",
         "--comms-port", str(comms_port)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "ARGONAUT_ADMIN_API_KEY": server.api_key},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    taken = http_port or comms_port
    assert f"the {busy} 127.0.0.1:{taken} is in use" in done.stderr, done.stderr
    assert ("--listen" if busy == "HTTP port" else "--comms-port") in done.stderr
    assert "Traceback" not in done.stderr
