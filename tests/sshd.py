"""A real OpenSSH sshd on 127.0.0.1 and a free port, configured by the test that starts it.

Key logins go to a dedicated account (created when missing, as CI runs as root); a password account
is created too where the machine allows it. Under CI=true a missing sshd fails the test: `make test`
installs openssh-server on Debian.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

KEY_USER = "argonaut-ssh"
PASSWORD_USER = "argonaut-sshpw"
PASSWORD = "Correct-Horse-9"


def sshd_binary() -> str | None:
    return shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)


def need_sshd() -> str:
    binary = sshd_binary()
    if binary is None or os.geteuid() != 0:
        why = "OpenSSH sshd is not installed" if binary is None else "starting sshd needs root"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; make test installs openssh-server on Debian as root")
        pytest.skip(why)
    return binary


def ensure_user(name: str, password: str | None = None) -> pwd.struct_passwd:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/bash", name], check=True, capture_output=True
        )
        entry = pwd.getpwnam(name)
    if password is not None:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True)
    return entry


def keygen(path: Path, passphrase: str = "", kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)], check=True)
    return path


@dataclass
class Sshd:
    folder: Path
    port: int
    host_key: Path
    client_key: Path  # unencrypted, authorised for KEY_USER
    locked_key: Path  # passphrase "opensesame", authorised for KEY_USER
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Sshd:
        binary = need_sshd()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation needs it
        self.proc = subprocess.Popen(
            [binary, "-D", "-e", "-f", str(self.folder / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "sshd.log", "wb"),  # noqa: SIM115 - lives as long as sshd
        )
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: " + (self.folder / "sshd.log").read_text())
            time.sleep(0.02)
        raise RuntimeError("sshd did not start listening")

    def _children(self) -> list[int]:
        assert self.proc is not None
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        """Stop the daemon and the sessions it forked (open connections die, as on a reboot)."""
        if self.proc is not None and self.proc.poll() is None:
            for child in self._children():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def new_host_key(self) -> None:
        """Replace the host key, as a reinstalled (or impersonated) machine would present."""
        self.stop()
        self.host_key.unlink()
        Path(f"{self.host_key}.pub").unlink()
        keygen(self.host_key)
        self.start()


def make_sshd(folder: Path, sftp: bool = True) -> Sshd:
    """An sshd configured in ``folder``; ``sftp=False`` leaves out the sftp subsystem, as hardened
    hosts do."""
    need_sshd()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    user = ensure_user(KEY_USER)
    ensure_user(PASSWORD_USER, PASSWORD)
    host_key = keygen(folder / "host_key")
    client_key = keygen(folder / "client_key")
    locked_key = keygen(folder / "locked_key", passphrase="opensesame")
    ssh_dir = Path(user.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    keys = Path(f"{client_key}.pub").read_text() + Path(f"{locked_key}.pub").read_text()
    existing = authorized.read_text() if authorized.exists() else ""
    authorized.write_text(existing + keys)
    for path in (ssh_dir, authorized):
        os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(authorized, 0o600)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {folder / 'sshd.pid'}\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\nPermitRootLogin no\n"
        f"AllowUsers {KEY_USER} {PASSWORD_USER}\nStrictModes no\n"
        + ("Subsystem sftp internal-sftp\n" if sftp else "")
        + "MaxStartups 100\nMaxSessions 100\nLogLevel VERBOSE\n"
    )
    return Sshd(folder, port, host_key, client_key, locked_key)
