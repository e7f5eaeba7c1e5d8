"""Schemathesis drives every operation in the served OpenAPI document: no input may cause a 5xx.

The fuzzer runs against its own server, so the junk it creates never disturbs other tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from conftest import ServerProcess, make_api_key

_state: dict[str, ServerProcess] = {}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    key = make_api_key()
    srv = ServerProcess(
        tmp_path_factory.mktemp("fuzz-home"), key, [], {**os.environ, "ARGONAUT_ADMIN_API_KEY": key}
    )
    srv.start()
    _state["server"] = srv
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: ServerProcess) -> object:
    loaded = schemathesis.openapi.from_url(f"{fuzz_server.url}/api/openapi.json")
    loaded.config.update(base_url=fuzz_server.url)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


def _keep_on_loopback(case: schemathesis.Case) -> None:
    """A worker is health-checked as soon as it is added or changed: a fuzzed endpoint must point at
    this machine, or a made-up host name would send a lookup (and maybe a connection) off it."""
    body = case.body if isinstance(case.body, dict) else None
    endpoint = next((v for k, v in (body or {}).items() if k.lower() == "endpoint"), None)
    if not isinstance(endpoint, dict):
        return
    for key in list(endpoint):
        if key.lower() == "host":
            endpoint[key] = "127.0.0.1"
        elif key.lower() == "uri" and isinstance(endpoint[key], str) and "://" in endpoint[key]:
            scheme = endpoint[key].split("://", 1)[0]
            endpoint[key] = f"{scheme}://127.0.0.1:1/" if scheme != "poll" else endpoint[key]


# Discovery opens an SSH connection to the host it is given: fuzzed host names would send traffic
# off this machine, so it is exercised by tests/integration/test_ssh.py with loopback hosts instead.
# One test holds every operation's examples (~370 operations x 25): minutes, not the default 180 s.
@pytest.mark.timeout(900)
@schema.exclude(path_regex="discover").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_causes_a_server_error(case: schemathesis.Case) -> None:
    srv = _state["server"]
    if case.path.endswith("/stream") and case.method == "GET":
        case.query = {**(case.query or {}), "since": 0}
    _keep_on_loopback(case)
    response = case.call(headers={"X-Octopus-ApiKey": srv.api_key}, timeout=30)
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) >= {"ErrorMessage", "Errors"}, body
