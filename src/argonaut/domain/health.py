"""What a health check of one machine found.

Unavailable means the machine could not be reached (or did not answer in time); Unhealthy means it
answered but its checks failed; HasWarnings means it works but something needs attention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argonaut.domain.workers import HealthStatus


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: HealthStatus
    summary: str
    runner_version: str | None = None
    details: dict[str, str] = field(default_factory=dict)
