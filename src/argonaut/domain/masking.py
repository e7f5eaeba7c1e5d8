"""Masking of sensitive values in task log lines.

Task logs are shown to everyone who can see a deployment, so a secret a script echoes must never reach
them. Masking happens per line, before a line leaves the runner.

Values of any length are masked, even one or two characters. That can make a log hard to read (a
one-letter secret hides every occurrence of that letter), but an unreadable log is a visible,
fixable nuisance while a leaked secret is neither; the fix is to choose longer secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "********"


class Masker:
    """Replaces every registered value in a line with ``********``; values can be added at any time.

    Registration is incremental because scripts declare new secrets while they run
    (``set_octopusvariable ... -sensitive``), and later lines must be masked at once.
    """

    __slots__ = ("_values", "_pattern")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return len(self._values)

    def add(self, value: str) -> None:
        """Register a value. Empty values are ignored: masking "" would mean masking nothing."""
        # Lines are masked one at a time, so a multi-line secret could only ever match line by line;
        # each of its lines is registered too.
        parts = [value, *value.splitlines()] if "\n" in value or "\r" in value else [value]
        changed = False
        for part in parts:
            if part and part not in self._values:
                self._values.add(part)
                changed = True
        if changed:
            self._pattern = None

    def mask(self, text: str) -> str:
        if not self._values:
            return text
        pattern = self._pattern
        if pattern is None:
            pattern = self._pattern = self._compile()
        if pattern.search(text) is None:
            return text
        return _mask_spans(text, pattern)

    def _compile(self) -> re.Pattern[str]:
        # Longest first: at each position the regex takes the first alternative that matches, which
        # is then the longest secret starting there. The lookahead makes every position a candidate,
        # so overlapping secrets ("abcdef", "defgh" in "abcdefgh") are both found and masked fully.
        alternatives = "|".join(re.escape(v) for v in sorted(self._values, key=len, reverse=True))
        return re.compile(f"(?=({alternatives}))")


def _mask_spans(text: str, pattern: re.Pattern[str]) -> str:
    pieces: list[str] = []
    kept_until = 0  # end of the text already copied or masked
    span_start = -1
    span_end = -1
    for match in pattern.finditer(text):
        start = match.start()
        end = start + len(match.group(1))
        if start <= span_end:  # overlaps or touches the current span: extend it
            span_end = max(span_end, end)
            continue
        if span_start >= 0:
            pieces.append(text[kept_until:span_start])
            pieces.append(MASK)
            kept_until = span_end
        span_start, span_end = start, end
    if span_start >= 0:
        pieces.append(text[kept_until:span_start])
        pieces.append(MASK)
        kept_until = span_end
    pieces.append(text[kept_until:])
    return "".join(pieces)
