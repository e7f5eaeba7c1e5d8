"""Accounts: secrets written once, encrypted at rest, never read back."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from conftest import ServerProcess, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")


def test_password_account_keeps_its_secret(server: ServerProcess) -> None:
    c = server.client
    secret = "pw-" + unique("s")
    made = c.post(
        "/api/accounts",
        json={
            "Name": unique("deploy"),
            "AccountType": "UsernamePassword",
            "Username": "deploy",
            "Password": {"HasValue": True, "NewValue": secret},
        },
    )
    assert made.status_code == 201, made.text
    account = made.json()
    assert account["Id"].startswith("Accounts-") and account["Password"] == {"HasValue": True}
    assert secret not in made.text
    # A client PUTs back what it read: the secret without NewValue is kept.
    renamed = c.put(f"/api/accounts/{account['Id']}", json={**account, "Username": "deployer"})
    assert renamed.status_code == 200 and renamed.json()["Password"] == {"HasValue": True}
    everything = c.get("/api/accounts/all").text + c.get(f"/api/accounts/{account['Id']}").text
    assert secret not in everything
    stored = server.stored_content()
    assert account["Name"].encode() in stored and secret.encode() not in stored


def test_key_pair_accounts_check_the_key_and_passphrase(server: ServerProcess, tmp_path: Path) -> None:
    import subprocess

    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "opensesame", "-f", str(key)], check=True)
    encoded = base64.b64encode(key.read_bytes()).decode()
    body = {
        "Name": unique("keys"),
        "AccountType": "SshKeyPair",
        "Username": "ops",
        "PrivateKeyFile": {"HasValue": True, "NewValue": encoded},
    }
    c = server.client
    missing = c.post("/api/accounts", json=body)
    assert missing.status_code == 400 and "passphrase" in missing.json()["ErrorMessage"]
    wrong = c.post(
        "/api/accounts", json={**body, "PrivateKeyPassphrase": {"HasValue": True, "NewValue": "nope"}}
    )
    assert wrong.status_code == 400 and "passphrase is wrong" in wrong.json()["ErrorMessage"]
    right = c.post(
        "/api/accounts", json={**body, "PrivateKeyPassphrase": {"HasValue": True, "NewValue": "opensesame"}}
    )
    assert right.status_code == 201, right.text
    shown = right.json()
    assert shown["PrivateKeyFile"] == {"HasValue": True} and shown["PrivateKeyPassphrase"] == {
        "HasValue": True
    }
    assert encoded not in right.text and "opensesame" not in right.text
    garbage = c.post(
        "/api/accounts", json={**body, "Name": unique("bad"), "PrivateKeyFile": {"NewValue": "!!"}}
    )
    assert garbage.status_code == 400


def test_accounts_in_use_cannot_be_deleted_and_workers_need_a_real_account(server: ServerProcess) -> None:
    c = server.client
    account = c.post(
        "/api/accounts",
        json={
            "Name": unique("used"),
            "AccountType": "UsernamePassword",
            "Username": "u",
            "Password": {"HasValue": True, "NewValue": "x"},
        },
    ).json()
    pool = c.post("/api/workerpools", json={"Name": unique("ssh-pool")}).json()["Id"]
    endpoint = {"CommunicationStyle": "Ssh", "Host": "127.0.0.1", "Port": 22, "AccountId": account["Id"]}
    worker = c.post(
        "/api/workers", json={"Name": unique("ssh"), "WorkerPoolIds": [pool], "Endpoint": endpoint}
    )
    assert worker.status_code == 201, worker.text
    refused = c.delete(f"/api/accounts/{account['Id']}")
    assert refused.status_code == 400 and "used by worker" in refused.json()["ErrorMessage"]
    nobody = c.post(
        "/api/workers",
        json={
            "Name": unique("ssh"),
            "WorkerPoolIds": [pool],
            "Endpoint": {**endpoint, "AccountId": "Accounts-999999"},
        },
    )
    assert nobody.status_code == 400
    c.delete(f"/api/workers/{worker.json()['Id']}")
    assert c.delete(f"/api/accounts/{account['Id']}").status_code == 200
