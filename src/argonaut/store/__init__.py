"""Persistence: tables, migrations and repository functions.

Repository functions take an open connection inside a transaction and never commit; the caller (a
route or a service) owns the transaction, so one request is one atomic change.
"""

from argonaut.store.store import Store

__all__ = ["Store"]
