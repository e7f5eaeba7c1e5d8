"""The ``Octopus.Manual`` step: a person approves (Proceed) or stops (Abort) the run.

It runs inside the server, on no worker: it raises a ManualIntervention interruption whose form holds the
step's instructions (substituted with the variables of its place, secrets masked, as anyone allowed
to view interruptions reads them) and waits, holding no task-cap slot, until the responsible person
submits it. Proceed succeeds and leaves ``Octopus.Action[<step>].Output.Manual.Notes`` and
``…Manual.ResponsibleUser.Id/Username/DisplayName/EmailAddress`` for later steps; Abort fails the step,
so later Success steps are skipped.
"""

from __future__ import annotations

from typing import Any

from argonaut.domain.interruptions import ABORT, InterruptionType, manual_form
from argonaut.domain.masking import Masker
from argonaut.domain.processes import MANUAL_INSTRUCTIONS, Action, Step
from argonaut.domain.substitution import substitute
from argonaut.orchestrator.interruption_waits import (
    Interruption,
    InterruptionWaits,
    raise_and_wait,
    submitted_by,
)
from argonaut.orchestrator.process_run import ProcessRun, Spot

RESPONSIBLE_TEAMS = "Octopus.Action.Manual.ResponsibleTeamIds"


class ManualIntervention:
    """The performer of ``Octopus.Manual`` actions (a ``process_run.Performer``)."""

    def __init__(self, waits: InterruptionWaits) -> None:
        self._waits = waits

    async def __call__(
        self, process: ProcessRun, step: Step, action: Action, spot: Spot, parent: str
    ) -> str | None:
        variables, sensitive = process.source.spot_variables(step, action, spot, process.state)
        masker = Masker(variables[name] for name in sensitive if name in variables)
        instructions = masker.mask(substitute(action.properties.get(MANUAL_INSTRUCTIONS, ""), variables))
        teams = [t.strip() for t in action.properties.get(RESPONSIBLE_TEAMS, "").split(",") if t.strip()]
        asked = Interruption(
            kind=InterruptionType.MANUAL_INTERVENTION.value,
            title=action.name,
            form=manual_form(instructions),
            correlation_id=spot.key,
            responsible_team_ids=tuple(teams),
        )
        row = await raise_and_wait(
            process,
            self._waits,
            asked,
            parent,
            '"Result": "Proceed" or "Abort"',
            "argonaut interruption approve {id}' or 'argonaut interruption abort {id}",
        )
        submitted = row["submitted"] or {}
        who, notes = submitted_by(row)
        if "UserId" not in submitted:
            message = f"Manual intervention '{action.name}' was closed without an answer"
            process.run.log.write(parent, "Error", message)
            return message
        if submitted.get("Result") == ABORT:
            message = f"Manual intervention was aborted by {who}" + (f": {notes}" if notes else "")
            process.run.log.write(parent, "Error", message)
            return message
        process.run.log.write(parent, "Info", f"{who} chose Proceed" + (f": {notes}" if notes else ""))
        outputs = _outputs(submitted)
        process.keep_outputs(action, spot, outputs)
        process.run.output_variables.extend({**o, "Machine": None} for o in outputs)
        return None


def _outputs(submitted: dict[str, Any]) -> list[dict[str, Any]]:
    values = {
        "Manual.Notes": submitted.get("Notes") or "",
        "Manual.ResponsibleUser.Id": submitted.get("UserId") or "",
        "Manual.ResponsibleUser.Username": submitted.get("Username") or "",
        "Manual.ResponsibleUser.DisplayName": submitted.get("DisplayName") or "",
        "Manual.ResponsibleUser.EmailAddress": submitted.get("EmailAddress") or "",
    }
    return [{"Name": name, "Value": str(value), "IsSensitive": False} for name, value in values.items()]
