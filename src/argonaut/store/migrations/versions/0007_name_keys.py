"""name keys that fit every name, compared character by character

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 01:00:00

PostgreSQL only; SQLite neither enforces a VARCHAR's length nor sorts by anything but the characters'
code points, which is what this brings PostgreSQL to.

- A name's key is its case-folded form, which can be three times as long as the name ("ﬃ" folds to
  "ffi", "ß" to "ss"), and a slug twice ("İ" lowers to two characters): PostgreSQL refused the longest
  names the API allows with "value too long for type character varying". The key columns hold three
  times the name's limit now, the slugs twice.
- Lists are ordered by the key, and PostgreSQL sorted it by the database's collation: a linguistic
  one (en_US.UTF-8, ICU en-US) weighs punctuation last and accents beside their letter, so "pool_2"
  listed before "pool-1" and "pool1", and "éclair" between "eclair" and "zeta": the same data in
  another order than on SQLite. ``COLLATE "C"`` compares the key's characters as SQLite does;
  equality, and so uniqueness, is unchanged (deterministic collations compare bytes for it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# table: the longest name the API takes, and the slug's length before (None: it fits already)
_NAMED: dict[str, tuple[int, int | None]] = {
    "spaces": (50, None),  # slug VARCHAR(100) already holds twice the 50-character name
    "worker_pools": (200, 200),
    "workers": (200, 200),
    "machine_policies": (200, None),  # no slug
    "accounts": (200, None),  # no slug
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (limit, slug) in _NAMED.items():
        _alter(table, "name_key", sa.String(3 * limit, collation="C"), sa.String(limit))
        if slug is not None:
            _alter(table, "slug", sa.String(2 * limit), sa.String(slug))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (limit, slug) in _NAMED.items():
        # No COLLATE: back to the database's default.
        _alter(table, "name_key", sa.String(limit), sa.String(3 * limit, collation="C"))
        if slug is not None:
            _alter(table, "slug", sa.String(slug), sa.String(2 * limit))


def _alter(table: str, column: str, new: sa.String, old: sa.String) -> None:
    op.alter_column(table, column, type_=new, existing_type=old, existing_nullable=False)
