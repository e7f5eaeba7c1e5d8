"""Interruption forms and the check of a submission against the form it answers."""

from __future__ import annotations

import pytest

from argonaut.domain.interruptions import (
    FormErrors,
    check_submission,
    guidance_choices,
    guidance_form,
    manual_form,
    offered,
)


def test_guidance_offers_ignore_and_exclude_only_where_they_make_sense() -> None:
    assert guidance_choices(required=False, has_target=True) == ["Fail", "Retry", "Ignore", "Exclude"]
    assert guidance_choices(required=False, has_target=False) == ["Fail", "Retry", "Ignore"]
    assert guidance_choices(required=True, has_target=True) == ["Fail", "Retry"]


def test_a_submission_must_choose_an_offered_button() -> None:
    manual = manual_form("Check it")
    answer = check_submission("ManualIntervention", manual, {"Result": "proceed", "Notes": "ok"})
    assert (answer.field, answer.value, answer.notes) == ("Result", "Proceed", "ok")
    with pytest.raises(FormErrors) as missing:
        check_submission("ManualIntervention", manual, {"Notes": "ok"})
    assert missing.value.errors == ["Result: a value is required (Proceed, Abort)"]
    required = guidance_form("It failed", guidance_choices(required=True, has_target=False))
    assert offered(required, "Guidance") == ["Fail", "Retry"]
    with pytest.raises(FormErrors) as ignored:
        check_submission("GuidedFailure", required, {"Guidance": "Ignore"})
    assert "'Ignore' is not one of the choices offered (Fail, Retry)" in ignored.value.errors[0]


def test_forms_have_the_described_systems_elements() -> None:
    form = manual_form("Check it")
    assert form["Values"] == {"Instructions": None, "Notes": None, "Result": None}
    instructions, notes, result = form["Elements"]
    assert instructions["Control"] == {"Type": "Paragraph", "Text": "Check it", "ResolveLinks": False}
    assert notes["Control"] == {"Type": "TextArea", "Label": "Notes"}
    assert result["Control"]["Buttons"][1] == {
        "Text": "Abort",
        "Value": "Abort",
        "RequiresConfirmation": True,
    }
