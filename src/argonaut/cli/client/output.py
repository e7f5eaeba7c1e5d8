"""How results reach the user: a rich table for people, the raw API resources as JSON for machines.

Every verb goes through :class:`Output`, so ``--json`` means the same everywhere: lists print a JSON
array of resources, single results print one resource object, exactly as the API answered them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # rich is imported only when a table is printed: --json and errors start faster
    from rich.table import Table

Cell = Callable[[Mapping[str, Any]], object]
Column = tuple[str, Cell]


def field(*path: str) -> Cell:
    """A cell reading a (nested) field, so column lists stay declarative: ``field("Endpoint", "Uri")``."""

    def read(item: Mapping[str, Any]) -> object:
        value: Any = item
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return read


def named(key: str, names: Mapping[str, str]) -> Cell:
    """A cell showing the id in ``key`` by name: people recognise ``Default Lifecycle``, not ``Lifecycles-1``.

    An id missing from ``names`` shows as it is.
    """

    def read(item: Mapping[str, Any]) -> object:
        value = item.get(key)
        return names.get(str(value), value) if value is not None else None

    return read


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    return str(value)


def _print(renderable: Table) -> None:
    """Rich on a terminal; piped (CI logs, grep, awk) one row per line, never wrapped, no trailing blanks."""
    from rich.console import Console

    if sys.stdout.isatty():
        Console(highlight=False).print(renderable)
        return
    console = Console(width=10_000, no_color=True, highlight=False)
    with console.capture() as captured:
        console.print(renderable)
    for line in captured.get().splitlines():
        click.echo(line.rstrip())


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def items(self, items: Sequence[Mapping[str, Any]], columns: Sequence[Column], empty: str) -> None:
        if self.as_json:
            self.raw(list(items))
            return
        if not items:
            click.echo(empty, err=True)
            return
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
        for title, _ in columns:
            table.add_column(title, overflow="fold")
        for item in items:
            table.add_row(*(text(cell(item)) for _, cell in columns))
        _print(table)

    def item(self, item: Mapping[str, Any], rows: Sequence[Column]) -> None:
        if self.as_json:
            self.raw(item)
            return
        from rich.table import Table

        table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for title, cell in rows:
            table.add_row(title, text(cell(item)))
        _print(table)

    def done(self, item: Mapping[str, Any], message: str) -> None:
        """A change was made: machines get the resource, people get one sentence."""
        if self.as_json:
            self.raw(item)
        else:
            click.echo(message)

    @staticmethod
    def raw(value: Any) -> None:
        click.echo(json.dumps(value, indent=2, ensure_ascii=False))
