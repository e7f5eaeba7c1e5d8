"""Guided failure: when an action fails and guided failure is on, a person says what happens next.

The engine (``ProcessRun._guided``) calls :class:`FailureGuidance` with the failure; it raises a
GuidedFailure interruption offering Fail, Retry, Ignore and Exclude (a required step offers neither
Ignore nor Exclude, and only a deployment target can be excluded), waits as a manual intervention does,
holding no task-cap slot, and answers the choice. The engine then fails, runs the place again, carries on
with a warning, or drops the target from the rest of the run.
"""

from __future__ import annotations

from argonaut.domain.interruptions import (
    FAIL,
    InterruptionType,
    guidance_choices,
    guidance_form,
    guidance_instructions,
)
from argonaut.domain.processes import Action, Step
from argonaut.orchestrator.interruption_waits import (
    Interruption,
    InterruptionWaits,
    raise_and_wait,
    submitted_by,
)
from argonaut.orchestrator.process_run import ProcessRun, Spot


class FailureGuidance:
    """``Tools.guidance`` (see :class:`argonaut.orchestrator.process_run.Guidance`)."""

    def __init__(self, waits: InterruptionWaits) -> None:
        self._waits = waits

    async def __call__(
        self, process: ProcessRun, step: Step, action: Action, spot: Spot, failure: str
    ) -> str:
        choices = guidance_choices(action.is_required, spot.target_id is not None)
        asked = Interruption(
            kind=InterruptionType.GUIDED_FAILURE.value,
            title=f"{process.run.row['description']} requires failure guidance",
            form=guidance_form(guidance_instructions(action.name, spot.label, failure), choices),
            # One per failed run of a place: a retry that fails again asks again (its key differs).
            correlation_id=f"{spot.key}/guidance",
        )
        activity = _step_activity(process, step)
        row = await raise_and_wait(
            process,
            self._waits,
            asked,
            activity,
            '"Guidance": ' + " or ".join(f'"{c}"' for c in choices),
        )
        submitted = row["submitted"] or {}
        choice = str(submitted.get("Guidance") or FAIL)
        if "UserId" in submitted:
            who, notes = submitted_by(row)
            said = f"{who} chose {choice} for '{spot.label}'" + (f": {notes}" if notes else "")
            process.run.log.write(activity, "Info", said)
        return choice


def _step_activity(process: ProcessRun, step: Step) -> str:
    """The step's activity (where the Wait line belongs), or the task's root for one-step processes."""
    number = next((n for n, s in enumerate(process.source.steps, start=1) if s.id == step.id), None)
    stored = process.state.steps.get(str(number)) or {}
    return str(stored.get("Activity") or process.run.root_activity)
