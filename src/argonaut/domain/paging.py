"""Paging maths for collection responses, the described system's way.

``LastPageNumber`` is zero-based (``NumberOfPages - 1``) and an empty collection still has one page, so
clients that loop ``while page <= LastPageNumber`` terminate.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TAKE = 2147483647


@dataclass(frozen=True, slots=True)
class Page:
    skip: int
    take: int
    total: int

    @property
    def number_of_pages(self) -> int:
        if self.take <= 0:
            return 1
        return max(1, -(-self.total // self.take))

    @property
    def last_page_number(self) -> int:
        return self.number_of_pages - 1

    @property
    def has_next(self) -> bool:
        return self.take > 0 and self.skip + self.take < self.total

    @property
    def next_skip(self) -> int:
        return self.skip + self.take

    @property
    def last_skip(self) -> int:
        return self.last_page_number * self.take if self.take > 0 else 0
