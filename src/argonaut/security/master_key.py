"""The node's master key, which encrypts secrets at rest (AES-256-GCM).

The key file is created with mode 0600 before any byte is written, so it is never readable by others,
not even for an instant.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "enc1:"
_CHECK_TEXT = "argonaut master key check"


class WrongMasterKey(ValueError):
    """This node's master key is not the one the shared store's secrets are encrypted with."""


def decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise ValueError(f"The master key in {where} is not base64") from None
    if len(key) != 32:
        raise ValueError(f"The master key in {where} is not 32 bytes; refusing to start")
    return key


def node_master_key(path: Path, given: str | None) -> bytes:
    """The key from ``given`` (ARGONAUT_MASTER_KEY: every node of a cluster is given the same one), else
    the home folder's key file, created on first start. Both present and different is refused: one of
    them would silently make the other's secrets unreadable."""
    if given is None:
        return load_or_create_master_key(path)
    key = decode_key(given, "ARGONAUT_MASTER_KEY")
    if path.exists() and load_or_create_master_key(path) != key:
        raise WrongMasterKey(
            f"ARGONAUT_MASTER_KEY differs from the key in {path}: keep one of them (remove the file if "
            "the environment's key is the cluster's)"
        )
    return key


def load_or_create_master_key(path: Path) -> bytes:
    if path.exists():
        return decode_key(path.read_text(), str(path))
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode())
    return key


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def check_value(self) -> str:
        """A value that only this key decrypts to the known text: stored once per cluster."""
        return self.encrypt(_CHECK_TEXT)

    def matches(self, check_value: str) -> bool:
        try:
            return self.decrypt(check_value) == _CHECK_TEXT
        except (ValueError, InvalidTag):
            return False

    def decrypt(self, token: str) -> str:
        if not token.startswith(_PREFIX):
            raise ValueError("not an encrypted value")
        raw = base64.b64decode(token[len(_PREFIX) :])
        return self._aead.decrypt(raw[:12], raw[12:], None).decode("utf-8")
