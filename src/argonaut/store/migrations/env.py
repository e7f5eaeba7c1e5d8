"""Alembic environment: always handed a live connection by ``runner.py``."""

from __future__ import annotations

from alembic import context

from argonaut.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Argonaut runs migrations through argonaut.store.migrations.runner")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
