"""Reading the private keys accounts hold, with errors that say what is wrong (never the key itself)."""

from __future__ import annotations

import asyncssh


class BadKey(ValueError):
    pass


def load_private_key(data: bytes, passphrase: str | None) -> asyncssh.SSHKey:
    """Parse an OpenSSH or PEM private key; a wrong or missing passphrase is named as such."""
    try:
        return asyncssh.import_private_key(data, passphrase or None)
    except asyncssh.KeyEncryptionError:
        if passphrase:
            raise BadKey("the private key's passphrase is wrong") from None
        raise BadKey("the private key is encrypted: give its passphrase") from None
    except (asyncssh.KeyImportError, ValueError, TypeError) as exc:
        if "passphrase" in str(exc).lower():  # asyncssh's words for an encrypted key given no passphrase
            raise BadKey("the private key is encrypted: give its passphrase") from None
        raise BadKey(f"the private key file cannot be read: {type(exc).__name__}") from None
