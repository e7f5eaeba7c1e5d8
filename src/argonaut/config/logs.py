"""Log lines that say which task and worker they are about: context variables and two formatters.

The orchestrator binds a task's id and space while the task runs, and the worker (or deployment
target) while a script runs on it. They are :mod:`contextvars`, so every line logged inside that work
carries them without being passed along: ours, the comms layer's, and libraries' (asyncssh, uvicorn).
asyncio copies the context into every task it creates, so work a task starts in the background keeps
its ids, and one task's ids never leak into another's.

The stamping happens in a handler filter, at the moment a line is emitted in the thread that logged it,
so a formatter may run later (or elsewhere) and still see the ids. This module sits in ``config`` so
both the orchestrator (which sets the ids) and the server and the agent (which format lines) may
import it.

Nothing here logs values of its own: what reaches a line is what the caller logged, and callers never
log variables or keys (see ``domain/masking.py`` for what reaches task logs).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

# The record attributes the filter stamps, in the order they are shown.
FIELDS = ("task_id", "space_id", "worker_id", "worker_name")

_VARS: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"argonaut_{name}", default=None) for name in FIELDS
}


def bind(**fields: str | None) -> None:
    """Set ids for the rest of the current context: for a task's own asyncio task, which has a context
    of its own, so nothing needs undoing when it ends."""
    for name, value in fields.items():
        _VARS[name].set(value)


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Set ids for a block and restore the earlier ones after it, for work that shares its context
    with other work (one script among a task's scripts run one after another)."""
    tokens: list[tuple[ContextVar[str | None], Token[str | None]]] = [
        (_VARS[name], _VARS[name].set(value)) for name, value in fields.items()
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current() -> dict[str, str]:
    """The ids known in the current context (those not set are left out)."""
    return {name: value for name, var in _VARS.items() if (value := var.get()) is not None}


class ContextStamp(logging.Filter):
    """Copies the current ids onto each record, unless the record already carries them (``extra=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class TextFormatter(logging.Formatter):
    """The classic one-line format, with `` task=ServerTasks-5 worker=Workers-2`` when known, so a
    person can grep one task's lines; a traceback still follows on the lines after."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        task = getattr(record, "task_id", None)
        worker = getattr(record, "worker_id", None)
        if task:
            line += f" task={task}"
        if worker:
            line += f" worker={worker}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers: ``ts`` (ISO-8601 UTC), ``level``, ``logger``,
    ``message``, the ids when known, and ``exc_info`` (the traceback as one string) when present.

    Hand-written on the standard library's ``json``: the object is a handful of keys, and a dependency
    (python-json-logger) would bring nothing the ids need beyond it.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[name] = str(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(kind: LogFormat) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else TextFormatter()


def configure(kind: LogFormat, level: int = logging.INFO) -> None:
    """Send every log line of this process to stderr in ``kind``, with the ids stamped on.

    Replaces the root logger's handlers (as ``basicConfig(force=True)`` would), so libraries that log
    through the root, uvicorn included once it is told not to configure logging itself, share it;
    Python warnings are routed through it too, so in JSON every line on stderr is an object.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextStamp())
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a log line too, in the same format
