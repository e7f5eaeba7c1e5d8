"""Users' passwords, kept only as argon2id hashes (memory-hard, so a stolen table is slow to guess from).

Hashing takes tens of milliseconds and tens of MB on purpose; callers on the event loop run these in a
thread. ``verify`` answers False for any mismatch or unreadable hash, never raises.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended costs

# Verified against when a user does not exist or has no password, so a failed login takes as long
# whether the user name is known or not.
_DUMMY = _HASHER.hash("argonaut: no such user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older costs than today's: hash the password again at login."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
