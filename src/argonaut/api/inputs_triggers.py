"""The body of ``POST``/``PUT /projecttriggers``: the described system's ``ProjectTriggerResource``.

``Filter`` and ``Action`` are free-form objects whose meaning the service checks (``service/triggers.py``),
so every problem in them comes back at once, each naming its field; here their field names are only
matched case-insensitively, as the top level's are.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from argonaut.api.inputs import ApiInput, canonical_keys
from argonaut.api.inputs_projects import DescriptionText, IdText, NameText

FILTER_FIELDS = [
    "FilterType",
    "Timezone",
    "CronExpression",
    "StartTime",
    "DaysOfWeek",
    "RunAfter",
    "RunUntil",
    "Interval",
    "HourInterval",
    "MinuteInterval",
    "MonthlyScheduleType",
    "DateOfMonth",
    "DayNumberOfMonth",
    "DayOfWeek",
]
ACTION_FIELDS = ["ActionType", "RunbookId", "EnvironmentIds", "TenantIds", "TenantTags", "RunbookTags"]


class TriggerInput(ApiInput):
    Name: NameText | None = None
    Description: DescriptionText | None = None
    ProjectId: IdText | None = None
    IsDisabled: bool | None = None
    Filter: dict[str, Any] | None = None
    Action: dict[str, Any] | None = None

    @field_validator("Filter")
    @classmethod
    def _filter_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else canonical_keys(value, FILTER_FIELDS)

    @field_validator("Action")
    @classmethod
    def _action_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else canonical_keys(value, ACTION_FIELDS)
