"""Sensitive values in the described system's ``{HasValue, NewValue, Hint}`` form, one rule for every
document that holds them (a process's step properties, a step template's parameter defaults).

Stored, ``NewValue`` is the master key's ciphertext; shown, it is null, so a secret never leaves the
server once written; a client that sends ``HasValue: true`` without ``NewValue`` keeps the stored
value, and ``HasValue: false`` clears it. Only the engine's callbacks see the value again, decrypted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argonaut.security.master_key import SecretBox


def sensitive_fields(value: Any) -> dict[str, Any] | None:
    """The case-folded fields of a sensitive value, or None for a plain one (documents were normalised
    before, so any object there is a sensitive value)."""
    if not isinstance(value, Mapping):
        return None
    return {str(k).casefold(): v for k, v in value.items()}


def stored_secret(value: Any) -> str | None:
    """The ciphertext a stored value holds, None when it holds none."""
    fields = sensitive_fields(value)
    new = fields.get("newvalue") if fields is not None else None
    return new if isinstance(new, str) and new else None


def sealed(value: Mapping[str, Any], kept: str | None, secrets: SecretBox) -> dict[str, Any]:
    """The stored form of a value a client sent: a new ``NewValue`` encrypted, else the ciphertext
    ``kept`` from before when the client said ``HasValue: true``, else nothing."""
    fields = sensitive_fields(value) or {}
    new = fields.get("newvalue")
    if isinstance(new, str):
        stored: str | None = secrets.encrypt(new)
    elif fields.get("hasvalue") is True:
        stored = kept
    else:
        stored = None
    return {"HasValue": stored is not None, "NewValue": stored, "Hint": fields.get("hint")}


def hidden(value: Any) -> Any:
    """A value as clients see it: a sensitive one only says whether it is set."""
    fields = sensitive_fields(value)
    if fields is None:
        return value
    return {"HasValue": bool(fields.get("hasvalue")), "NewValue": None, "Hint": fields.get("hint")}


def opened(value: Any, secrets: SecretBox) -> Any:
    """A stored value with its ``NewValue`` decrypted (plain values as they are). Never log it."""
    fields = sensitive_fields(value)
    if fields is None:
        return value
    token = fields.get("newvalue")
    return {**value, "NewValue": secrets.decrypt(token) if isinstance(token, str) and token else None}
