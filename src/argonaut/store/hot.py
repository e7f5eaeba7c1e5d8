"""The statements every task runs, run without SQLAlchemy's per-execution work.

SQLAlchemy spends 45–80 µs of Python on each execution of even a prebuilt statement on SQLite (an
execution context, parameter and result processing set up afresh), where sqlite3 itself takes 4–5 µs;
on PostgreSQL, with its async adaptation on top, 200–300 µs where asyncpg's prepared statement takes
about 100. A task runs about nine statements, and that work was the largest single cost of a task: 17%
of the server's time under a burst of ad-hoc scripts on SQLite (cProfile, issue 13).

A statement marked with :func:`hot` is compiled once per database and set of parameter names into its
SQL, the order its parameters go in, and the type processors of its parameters and result columns, all
taken from SQLAlchemy, so values are written and read exactly as through SQLAlchemy. The connection
then runs it straight on the driver's connection, inside the same transaction: sqlite3's, or asyncpg's
through SQLAlchemy's adaptation of it (its prepared-statement cache, its lock and its lazily begun
transaction), so that SQLAlchemy's own statements and commit see one connection. A statement this
cannot plan (Python-side column defaults, parameters expanded at execution, many parameter sets on
PostgreSQL) goes through SQLAlchemy.
"""

from __future__ import annotations

import re
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from keyword import iskeyword
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

S = TypeVar("S")
Processor = Callable[[Any], Any] | None

_HOT: dict[int, Any] = {}  # id(statement) -> statement (held, so the id stays its own)
_PLANS: dict[tuple[int, tuple[str, ...], str], _Plan | None] = {}  # (statement, names, dialect)
_STALE_PLANS = ("InvalidCachedStatementError", "InternalServerError")  # as SQLAlchemy's execution treats them
_ROWCOUNT = re.compile(
    r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)"
)  # asyncpg's status, as SQLAlchemy reads it


def hot(statement: S) -> S:
    """Mark a prebuilt statement (a module-level constant) to run without SQLAlchemy on SQLite."""
    _HOT[id(statement)] = statement
    return statement


def is_hot(statement: object) -> bool:
    return id(statement) in _HOT


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the parameters' names, in their order in ``sql``
    defaults: dict[str, Any]  # values written into the statement itself (literals, constants)
    binds: tuple[Processor, ...]  # per parameter, in order
    row: Any  # a named-tuple class of the result columns, or None for no result rows
    results: tuple[Processor, ...]  # per result column
    converts: bool  # whether any result column has a processor
    required: frozenset[str]  # parameters with no value of their own: a call must give them

    def parameters(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        if not self.required.issubset(given):
            missing = sorted(self.required.difference(given))
            raise InvalidRequestError(f"A value is required for bind parameter {missing[0]!r}")
        # Processors are called on None too, as SQLAlchemy does: JSON writes None as 'null'.
        values = []
        for name, process in zip(self.names, self.binds, strict=True):
            value = given[name] if name in given else self.defaults[name]
            values.append(value if process is None else process(value))
        return tuple(values)

    def rows(self, fetched: list[Any]) -> list[Any]:
        make = self.row._make
        if not self.converts:
            return [make(row) for row in fetched]
        results = self.results
        return [
            make([v if p is None else p(v) for p, v in zip(results, row, strict=True)]) for row in fetched
        ]


def _plan(statement: Any, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if "__[POSTCOMPILE" in compiled.string or compiled.insert_prefetch or compiled.update_prefetch:
        return None
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    names = tuple(compiled.positiontup or ())
    if any(name not in by_name for name in names):
        return None
    key_of = {name: by_name[name].key for name in names}
    if any(key_of[name] != name and key_of[name] in keys for name in names):
        return None  # a parameter given under a key other than its name: leave it to SQLAlchemy
    defaults = {name: by_name[name].effective_value for name in names}
    binds = tuple(by_name[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    columns = list(statement.exported_columns.items())  # none for a statement that returns no rows
    if any(not key.isidentifier() or iskeyword(key) or key.startswith("_") for key, _ in columns):
        return None  # rows read by attribute need identifiers as column keys
    row = namedtuple("HotRow", [key for key, _ in columns]) if columns else None
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for _, column in columns
    )
    required = frozenset(name for name in names if by_name[name].required)
    converts = any(p is not None for p in results)
    return _Plan(compiled.string, names, defaults, binds, row, results, converts, required)


def _plan_for(statement: Any, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    key = (id(statement), keys, dialect.name)
    try:
        return _PLANS[key]
    except KeyError:
        plan = _PLANS[key] = _plan(statement, keys, dialect)
        return plan


def run(sync: Connection, raw: sqlite3.Connection, statement: Any, parameters: Any) -> HotResult | None:
    """Run a hot statement on SQLite with a dict of parameters or a list of them (executemany); None
    when it cannot be planned, and the caller runs it through SQLAlchemy.

    Listeners of SQLAlchemy's ``before_cursor_execute`` still hear of it (with no cursor and no
    execution context), so what counts or traces statements counts these too."""
    many: list[Mapping[str, Any]] | None = list(parameters) if isinstance(parameters, list | tuple) else None
    if many is not None and not many:
        return None
    first: Mapping[str, Any] = many[0] if many else (parameters or {})
    plan = _plan_for(statement, tuple(first), sync.dialect)
    if plan is None:
        return None
    if sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, plan.sql, parameters, None, many is not None)
    try:
        if many:
            cursor = raw.executemany(plan.sql, [plan.parameters(p) for p in many])
            return HotResult([], None, cursor.rowcount)
        cursor = raw.execute(plan.sql, plan.parameters(first))
        fetched = plan.rows(cursor.fetchall()) if plan.row is not None else []
        return HotResult(fetched, plan.row, cursor.rowcount)
    except sqlite3.Error as exc:
        # Without the parameters: a refused row's values (a script's arguments, say) stay out of logs.
        raise DBAPIError.instance(plan.sql, parameters, exc, sqlite3.Error, hide_parameters=True) from exc


async def run_postgres(conn: AsyncConnection, statement: Any, parameters: Any) -> HotResult | None:
    """Run a hot statement on PostgreSQL with a dict of parameters; None when it cannot be planned (or is
    given many parameter sets), and the caller runs it through SQLAlchemy.

    Errors come out as SQLAlchemy raises them (``IntegrityError`` for a refused row, the connection
    invalidated when the server is gone, so the pool does not hand it out again)."""
    if isinstance(parameters, list | tuple):
        return None
    sync = conn.sync_connection
    assert sync is not None
    dialect = sync.dialect
    given: Mapping[str, Any] = parameters or {}
    plan = _plan_for(statement, tuple(given), dialect)
    adapter: Any = sync.connection.dbapi_connection
    if plan is None or not hasattr(adapter, "_prepare"):
        return None
    if sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, plan.sql, parameters, None, False)
    values = plan.parameters(given)
    try:
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()  # none in autocommit; BEGIN inside a transaction
            prepared, _ = await adapter._prepare(plan.sql, dialect._invalidate_schema_cache_asof)  # type: ignore[attr-defined]
            fetched = await prepared.fetch(*values)
            status = prepared.get_statusmsg()
    except Exception as error:
        raise await _translated(conn, adapter, plan.sql, parameters, error) from error
    found = _ROWCOUNT.match(status or "")
    rows = plan.rows(fetched) if plan.row is not None else []
    return HotResult(rows, plan.row, int(found.group(1)) if found else -1)


async def _translated(
    conn: AsyncConnection, adapter: Any, sql: str, parameters: Any, error: Exception
) -> StatementError:
    """The error SQLAlchemy would raise for ``error``: a ``DBAPIError`` subclass for the database's own."""
    dialect = conn.dialect
    try:
        adapter._handle_exception(error)  # raises asyncpg's error as the DB-API error SQLAlchemy wraps
    except Exception as raised:
        error = raised
    stale = tuple(getattr(dialect.loaded_dbapi, name) for name in _STALE_PLANS)
    if isinstance(error, stale):  # the schema changed under a prepared statement: prepare afresh next
        dialect._invalidate_schema_cache()  # type: ignore[attr-defined]
    gone = dialect.is_disconnect(error, adapter, None)  # type: ignore[arg-type]
    if gone:
        await conn.invalidate()
    # Without the parameters: a refused row's values (a script's arguments, say) stay out of logs.
    translated = DBAPIError.instance(
        sql,
        parameters,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        dialect=dialect,
        connection_invalidated=gone,
    )
    return translated


class HotResult:
    """The part of SQLAlchemy's result API that the repositories use on hot statements: rows that
    read by attribute and index, ``mappings()``, ``first``/``one``/``all``/``scalar``, ``rowcount``."""

    __slots__ = ("_rows", "_row", "rowcount")

    def __init__(self, rows: list[Any], row: Any, rowcount: int) -> None:
        self._rows = rows
        self._row = row
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise _no_single_row(len(self._rows))
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise _no_single_row(len(self._rows))
        return self._rows[0][0] if self._rows else None

    def mappings(self) -> HotResult:
        return HotResult([row._asdict() for row in self._rows], self._row, self.rowcount)


def _no_single_row(count: int) -> Exception:
    from sqlalchemy.exc import MultipleResultsFound, NoResultFound

    return (
        NoResultFound("No row was found when one was required")
        if count == 0
        else MultipleResultsFound("Multiple rows were found when exactly one was required")
    )
