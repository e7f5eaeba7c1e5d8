"""API keys in the described system's shape (``API-`` + upper-case letters and digits).

Only a SHA-256 of a key is stored. A key is 28 random characters from a 36-letter alphabet (about 144
bits), so a fast hash is safe here, unlike passwords, and keeps per-request authentication cheap.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string

_ALPHABET = string.ascii_uppercase + string.digits
API_KEY = re.compile(r"^API-[A-Z0-9]{26,}$")


def new_api_key() -> str:
    return "API-" + "".join(secrets.choice(_ALPHABET) for _ in range(28))


def is_api_key(text: str) -> bool:
    return bool(API_KEY.match(text))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
