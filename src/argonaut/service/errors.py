"""What the service layer refuses, beside the store's ``Refused`` and ``Conflict``.

``Invalid`` is a request that names something wrong (an unknown id, a bad version): the API answers 400
with its message and, where there are several problems, one entry per problem. ``NotFound`` is a
resource the request names in its path that does not exist in the space (404).
"""

from __future__ import annotations

from collections.abc import Sequence


class Invalid(Exception):
    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors) or [message]


class NotFound(Exception):
    """``what`` is the id (or slug) as the client wrote it, so the 404 names what the client asked for."""

    def __init__(self, what: str) -> None:
        super().__init__(f"The resource '{what}' was not found.")
        self.what = what
