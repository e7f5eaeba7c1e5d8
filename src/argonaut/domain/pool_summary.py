"""A worker pool's health summary as the described system shows it (``WorkerPoolsSummaryResource``):
per pool, how many workers are Healthy, HasWarnings, Unhealthy, Unavailable or Unknown, and how many
are disabled (counted apart: a disabled worker runs nothing, whatever its last check found). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

STATUSES = ("Healthy", "HasWarnings", "Unhealthy", "Unavailable", "Unknown")


def _empty() -> dict[str, Any]:
    return {
        "TotalMachines": 0,
        "TotalDisabledMachines": 0,
        "MachineHealthStatusSummaries": dict.fromkeys(STATUSES, 0),
        "MachineEndpointSummaries": {},
    }


def _add(summary: dict[str, Any], status: str, disabled: bool, style: str, count: int) -> None:
    summary["TotalMachines"] += count
    if disabled:
        summary["TotalDisabledMachines"] += count
    else:
        by_status = summary["MachineHealthStatusSummaries"]
        by_status[status] = by_status.get(status, 0) + count
    by_style = summary["MachineEndpointSummaries"]
    by_style[style] = by_style.get(style, 0) + count


def summarize(
    pools: Iterable[Mapping[str, Any]], counts: Iterable[tuple[int, str, bool, str, int]]
) -> dict[str, Any]:
    """``pools`` are pool resources with their row number under ``"_number"``; ``counts`` rows of
    (pool number, health, disabled, style, count). The totals count each worker once per pool."""
    per_pool: dict[int, dict[str, Any]] = {}
    total = _empty()
    for number, status, disabled, style, count in counts:
        _add(per_pool.setdefault(number, _empty()), status, disabled, style, count)
        _add(total, status, disabled, style, count)
    summaries = []
    for pool in pools:
        resource = {k: v for k, v in pool.items() if k != "_number"}
        summaries.append({"WorkerPool": resource, **per_pool.get(int(pool["_number"]), _empty())})
    return {"WorkerPoolSummaries": summaries, **total}
