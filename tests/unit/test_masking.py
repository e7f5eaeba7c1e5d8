"""A secret must never reach the task log, whatever the line around it looks like."""

from __future__ import annotations

import pytest

from argonaut.domain.masking import MASK, Masker

CASES = [
    ("no secrets registered", [], "hello secret", "hello secret"),
    ("no occurrence", ["hunter2"], "hello world", "hello world"),
    ("single occurrence", ["hunter2"], "password=hunter2", f"password={MASK}"),
    ("every occurrence", ["abc"], "abc-abc abc", f"{MASK}-{MASK} {MASK}"),
    ("whole line", ["hunter2"], "hunter2", MASK),
    ("longest first: a secret containing another", ["pass", "password1"], "x password1 y", f"x {MASK} y"),
    ("overlapping secrets are both masked fully", ["abcdef", "defgh"], "abcdefgh!", f"{MASK}!"),
    ("adjacent secrets", ["abc", "xyz"], "abcxyz", MASK),
    ("regex metacharacters are literal", ["a.b*c"], "a.b*c and aXbbc", f"{MASK} and aXbbc"),
    ("empty values are ignored", ["", "s3cret"], "s3cret", MASK),
    ("short values are masked too (documented choice)", ["ab"], "tab cab", f"t{MASK} c{MASK}"),
    ("one-character values are masked too; neighbours merge", ["7"], "1776 7", f"1{MASK}6 {MASK}"),
    ("unicode", ["pässwörd✓"], "pw: pässwörd✓.", f"pw: {MASK}."),
    ("case-sensitive: a different spelling is a different value", ["Secret"], "secret", "secret"),
    ("each line of a multi-line secret", ["line-one\nline-two"], "line-two", MASK),
    ("windows line endings in a secret", ["first\r\nsecond"], "first and second", f"{MASK} and {MASK}"),
]


@pytest.mark.parametrize(("case", "values", "text", "expected"), CASES, ids=[row[0] for row in CASES])
def test_mask(case: str, values: list[str], text: str, expected: str) -> None:
    assert Masker(values).mask(text) == expected


INCREMENTAL = [
    ("added after construction", [], ["later"], "now later", f"now {MASK}"),
    ("added to existing ones", ["first"], ["second"], "first second", f"{MASK} {MASK}"),
    ("adding a duplicate changes nothing", ["same"], ["same"], "same", MASK),
]


@pytest.mark.parametrize(
    ("case", "initial", "added", "text", "expected"), INCREMENTAL, ids=[row[0] for row in INCREMENTAL]
)
def test_values_can_be_added_while_running(
    case: str, initial: list[str], added: list[str], text: str, expected: str
) -> None:
    masker = Masker(initial)
    masker.mask(text)  # compile the pattern once, so adding must invalidate it
    for value in added:
        masker.add(value)
    assert masker.mask(text) == expected


SIZES = [
    ("nothing registered", [], 0),
    ("empty ignored", [""], 0),
    ("duplicates counted once", ["a1", "a1"], 1),
    ("a multi-line value registers its lines", ["x\ny"], 3),
]


@pytest.mark.parametrize(("case", "values", "expected"), SIZES, ids=[row[0] for row in SIZES])
def test_len_counts_distinct_values(case: str, values: list[str], expected: int) -> None:
    assert len(Masker(values)) == expected
