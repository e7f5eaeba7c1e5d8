"""Helpers the deployment-model services share: all problems of a document reported at once, and ids
inside documents resolved against what the space holds.

A client that PUTs a whole document (a lifecycle's phases, a process, a variable set) fixes it in one
round trip only if every problem is named, so services collect errors and raise once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from argonaut.domain.ids import Collection, format_id, parse_id
from argonaut.service.errors import Invalid

GENERAL = "There was a problem with your request."


def raise_if(errors: Sequence[str]) -> None:
    """One problem is its own message; several get the general one, each still listed in ``Errors``."""
    if errors:
        raise Invalid(errors[0] if len(errors) == 1 else GENERAL, errors)


def resolve_ids(
    collection: Collection,
    texts: Iterable[str],
    existing: Mapping[int, str],
    where: str,
    errors: list[str],
    *,
    noun: str,
    tolerated: frozenset[str] = frozenset(),
) -> list[str]:
    """The ids in their canonical spelling (``Environments-3``); an id of the wrong shape or naming
    nothing in ``existing`` is an error naming it, unless it is in ``tolerated`` (case-folded): ids a
    stored document already held, kept so that a client's GET-then-PUT of it still succeeds after the
    thing was deleted."""
    answer: list[str] = []
    for text in texts:
        number = parse_id(collection, text)
        if number is not None and number in existing:
            canonical = format_id(collection, number)
        elif text.casefold() in tolerated:
            canonical = text
        else:
            errors.append(f"{where}: the {noun} '{text}' does not exist in this space")
            continue
        if canonical not in answer:
            answer.append(canonical)
    return answer
