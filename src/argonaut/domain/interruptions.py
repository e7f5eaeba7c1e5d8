"""Interruptions: a task waiting for a person, and the forms the person answers.

The described system's clients read a form (``{Values, Elements}``, each element a control with a
``Type`` discriminator) and submit its values; the manual-intervention step and guided failure build
their forms here, and the same module checks a submission against the form it answers, so the API and
the waiting step agree on which answers exist (a required step offers no Ignore, so none is accepted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class InterruptionType(StrEnum):
    MANUAL_INTERVENTION = "ManualIntervention"
    GUIDED_FAILURE = "GuidedFailure"


INSTRUCTIONS = "Instructions"
NOTES = "Notes"
RESULT = "Result"  # the manual intervention's answer: Proceed | Abort
GUIDANCE = "Guidance"  # guided failure's answer: Fail | Retry | Ignore | Exclude

PROCEED, ABORT = "Proceed", "Abort"
FAIL, RETRY, IGNORE, EXCLUDE = "Fail", "Retry", "Ignore", "Exclude"
_GUIDANCE_TEXT = {FAIL: "Fail", RETRY: "Retry", IGNORE: "Ignore", EXCLUDE: "Exclude machine from deployment"}

FORM_ERRORS = "There were errors with the form."
MAX_NOTES = 100_000


def _element(name: str, control: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"Name": name, "Control": control, "IsValueRequired": required}


def _buttons(choices: Sequence[tuple[str, str, bool]]) -> dict[str, Any]:
    return {
        "Type": "SubmitButtonGroup",
        "Buttons": [
            {"Text": text, "Value": value, "RequiresConfirmation": confirm}
            for text, value, confirm in choices
        ],
    }


def _form(instructions: str, answer: str, buttons: dict[str, Any]) -> dict[str, Any]:
    elements = [
        _element(INSTRUCTIONS, {"Type": "Paragraph", "Text": instructions, "ResolveLinks": False}),
        _element(NOTES, {"Type": "TextArea", "Label": "Notes"}),
        # Required on both forms: a submission without an answer would leave the step undecided.
        _element(answer, buttons, required=True),
    ]
    return {"Values": {INSTRUCTIONS: None, NOTES: None, answer: None}, "Elements": elements}


def manual_form(instructions: str) -> dict[str, Any]:
    """The form of an ``Octopus.Manual`` step: its (substituted) instructions, notes, Proceed or Abort."""
    return _form(instructions, RESULT, _buttons([("Proceed", PROCEED, False), ("Abort", ABORT, True)]))


def guidance_choices(required: bool, has_target: bool) -> list[str]:
    """What a person may do about a failure: a required step can be neither ignored nor excluded, and
    only a deployment target can be excluded from the rest of the run."""
    choices = [FAIL, RETRY]
    if not required:
        choices.append(IGNORE)
        if has_target:
            choices.append(EXCLUDE)
    return choices


def guidance_form(instructions: str, choices: Sequence[str]) -> dict[str, Any]:
    buttons = _buttons([(_GUIDANCE_TEXT[c], c, c == FAIL) for c in choices])
    return _form(instructions, GUIDANCE, buttons)


def guidance_instructions(action: str, place: str, failure: str) -> str:
    return (
        f"'{action}' on '{place}' in the current task failed. What would you like to do?\n\n"
        f"The failure was: {failure}"
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """A submission that fits its form: the chosen value of the form's answer element, and notes."""

    field: str  # Result or Guidance
    value: str
    notes: str


class FormErrors(ValueError):
    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__(FORM_ERRORS)
        self.errors = list(errors)


def answer_field(kind: str) -> str:
    return RESULT if kind == InterruptionType.MANUAL_INTERVENTION.value else GUIDANCE


def offered(form: Mapping[str, Any], field: str) -> list[str]:
    """The values the form's button group for ``field`` offers."""
    for element in form.get("Elements") or []:
        if element.get("Name") == field:
            return [str(b.get("Value")) for b in (element.get("Control") or {}).get("Buttons") or []]
    return []


def check_submission(kind: str, form: Mapping[str, Any], values: Mapping[str, Any]) -> Answer:
    """The answer a submission gives, or :class:`FormErrors` naming each problem. Values match the
    offered buttons case-insensitively (clients send ``proceed``); the answer keeps the form's spelling."""
    field = answer_field(kind)
    choices = offered(form, field)
    raw = values.get(field)
    errors = []
    chosen = None
    if raw is None or not str(raw).strip():
        errors.append(f"{field}: a value is required ({', '.join(choices)})")
    else:
        chosen = next((c for c in choices if c.casefold() == str(raw).strip().casefold()), None)
        if chosen is None:
            errors.append(f"{field}: '{raw}' is not one of the choices offered ({', '.join(choices)})")
    notes = values.get(NOTES)
    if notes is not None and not isinstance(notes, str):
        errors.append(f"{NOTES}: must be text")
    if errors or chosen is None:
        raise FormErrors(errors)
    return Answer(field, chosen, notes or "")
