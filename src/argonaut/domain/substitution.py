"""Octostache-style ``#{Name}`` substitution, the subset scripts rely on.

Scripts imported from Octopus use this syntax, so the rules follow Octostache where it matters:

* names are case-insensitive and may hold brackets and spaces (``#{Octopus.Action[Deploy web].Output.Url}``);
* ``#{Name | ToLower}``, ``ToUpper`` and ``Trim`` filters, chained left to right, names case-insensitive;
* a value may itself contain ``#{...}``; it is expanded too (cycles stay verbatim instead of looping);
* an index may itself be a reference: ``#{Octopus.Action[#{StepName}].Output.Url}``;
* ``##{Name}`` is an escape for the literal text ``#{Name}``;
* anything unresolvable (unknown variable, unknown filter, unterminated ``#{``) is left verbatim, so a
  typo shows up in the script output rather than becoming an empty string.

Conditionals and loops (``#{if}``, ``#{each}``) are not supported; they are left verbatim.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

_FILTERS: dict[str, Callable[[str], str]] = {
    "tolower": str.lower,
    "toupper": str.upper,
    "trim": str.strip,
}

# Deep enough for any real chain of variables referring to variables, small enough to stop runaways.
_MAX_DEPTH = 32


def substitute(template: str, variables: Mapping[str, str]) -> str:
    """Return ``template`` with every resolvable ``#{...}`` expression replaced."""
    if "#{" not in template:
        return template
    lookup = {name.casefold(): value for name, value in variables.items()}
    return _Renderer(lookup).render(template, ())


class _Renderer:
    __slots__ = ("_lookup",)

    def __init__(self, lookup: Mapping[str, str]) -> None:
        self._lookup = lookup

    def render(self, text: str, resolving: tuple[str, ...]) -> str:
        out: list[str] = []
        position = 0
        while True:
            start = text.find("#{", position)
            if start < 0:
                out.append(text[position:])
                return "".join(out)
            if start > 0 and text[start - 1] == "#" and start - 1 >= position:
                # "##{" is the escape: emit "#{" and treat what follows as plain text.
                out.append(text[position : start - 1])
                out.append("#{")
                position = start + 2
                continue
            end = _closing_brace(text, start + 2)
            if end < 0:  # not an expression: keep the "#{" as text and look further on
                out.append(text[position : start + 2])
                position = start + 2
                continue
            out.append(text[position:start])
            token = text[start : end + 1]
            value = self._evaluate(text[start + 2 : end], resolving)
            out.append(token if value is None else value)
            position = end + 1

    def _evaluate(self, expression: str, resolving: tuple[str, ...]) -> str | None:
        if "#{" in expression:
            expression = self.render(expression, resolving)
            if "#{" in expression:
                return None  # an inner reference did not resolve
        name, *filters = (part.strip() for part in expression.split("|"))
        key = name.casefold()
        value = self._lookup.get(key)
        if value is None or key in resolving or len(resolving) >= _MAX_DEPTH:
            return None
        if "#{" in value:
            value = self.render(value, (*resolving, key))
        for filter_name in filters:
            apply = _FILTERS.get(filter_name.casefold())
            if apply is None:
                return None
            value = apply(value)
        return value


def _closing_brace(text: str, position: int) -> int:
    """Index of the ``}`` closing an expression, skipping nested ``#{...}``; -1 when unterminated."""
    depth = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char == "}":
            if depth == 0:
                return position
            depth -= 1
        elif char == "#" and text.startswith("#{", position):
            depth += 1
            position += 1
        elif char == "{":
            return -1  # a bare brace cannot be part of a name, so this is not an expression
        position += 1
    return -1
