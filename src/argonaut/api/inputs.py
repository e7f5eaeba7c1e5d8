"""Input models that read the described system's JSON as its clients send it.

Field names match case-insensitively and read-only fields a client echoes back (``HealthStatus``,
``Links``…) are accepted and ignored: automation written for the described system GETs a resource,
changes a field and PUTs it back whole. Values are still strictly typed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class ApiInput(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        lookup = {name.lower(): name for name in cls.model_fields}
        lookup.update({f.alias.lower(): f.alias for f in cls.model_fields.values() if f.alias})
        fixed: dict[str, Any] = {}
        for key, value in data.items():
            canonical = lookup.get(str(key).lower(), key) if isinstance(key, str) else key
            fixed.setdefault(canonical, value)
        return fixed


def canonical_keys(data: Any, names: list[str]) -> dict[str, Any]:
    """Re-key a free-form object (an endpoint) to canonical field names, case-insensitively."""
    if not isinstance(data, dict):
        return {}
    lookup = {n.lower(): n for n in names}
    return {lookup.get(str(k).lower(), str(k)): v for k, v in data.items()}
