"""Octostache-style ``#{...}`` templates: the language of Octopus scripts and step run conditions.

Scripts and conditions imported from Octopus are written for Octostache (OctopusDeploy/Octostache), so the
rules follow it wherever a script author could tell the difference. Deliberate deviations say *(differs)*.

Substitution
  * names are case-insensitive and may hold brackets and spaces
    (``#{Octopus.Action[Deploy web].Output.Url}``);
  * an index may itself be a reference: ``#{Octopus.Action[#{StepName}].Output.Url}``;
  * a value may itself contain ``#{...}``; it is expanded too (cycles stay verbatim instead of looping);
  * a variable holding a JSON object or array can be walked: ``#{Config.Db.Host}``, ``#{Config.Items[0]}``;
    a property the JSON lacks is empty, as in Octostache (the JSON must be strict: Newtonsoft's unquoted keys
    are not accepted);
  * ``##{Name}`` is an escape for the literal text ``#{Name}``;
  * anything unresolvable (unknown variable, unknown filter, a filter refusing its input or arguments,
    unterminated ``#{``, a block without its closing tag) is left exactly as written, so a typo shows up in
    the script output rather than becoming an empty string.

Filters: ``#{Name | Filter arg "quoted arg" #{Ref}}``, chained left to right, names case-insensitive. A
filter receives "no value" for an unknown variable (or ``#{ | NowDate}``); only Append, Prepend and NowDate
make something of that, as in Octostache. Supported: ToLower, ToUpper, ToBase64/FromBase64 [utf8|unicode],
HtmlEscape, XmlEscape, JsonEscape, UriEscape, UriDataEscape, YamlSingleQuoteEscape, YamlDoubleQuoteEscape,
PropertiesKeyEscape, PropertiesValueEscape, Trim [start|end], Indent, Replace <regex> [replacement] (.NET
``$1``, ``${name}``, ``$$``, ``$&`` in the replacement), Match <regex>, StartsWith, EndsWith, Contains
(``true``/``false`` in lower case, as Octostache prints them), Substring [start] length, Truncate n [suffix]
(suffix ``...`` by default), Append, Prepend, MD5/SHA1/SHA256/SHA384/SHA512 [bytes] [utf8|unicode|base64]
(lower-case hex), AddDays, AddHours, NowDate/NowDateUtc [format] (only when the caller passes ``now``: output
must not depend on the wall clock otherwise), and Format:

  * ``Format <fmt>``: the value is tried as a number, then as a date; ``Format Int|Double|Decimal|Date|
    DateTime|DateTimeOffset <fmt>`` picks the type;
  * numbers (invariant culture): standard ``N``/``F`` [precision], ``D``/``X`` [width] for integers, ``G``;
    custom patterns of ``0``, ``#``, ``.``, grouping ``,``, ``%``, quoted literals and ``;`` sections;
    rounding is half away from zero as in .NET. Not supported: ``C``, ``P``, ``E``, ``R``, scaling commas,
    exponents;
  * dates (ISO 8601, also with ``/`` separators; a date without an offset counts as UTC for ``z``): custom
    patterns (``yyyy``, ``MM``, ``MMM``, ``dd``, ``ddd``, ``HH``, ``hh``, ``mm``, ``ss``, ``fff``, ``FFF``,
    ``tt``, ``zzz``, ``K``, quotes, ``\\``) and the standard one-letter formats
    ``d D f F g G m M y Y t T s u U r R o O`` with invariant-culture (English) names.

Not supported: Markdown/MarkdownToHtml, UriPart, the Version* filters, Null (their tokens stay as written).

Conditionals: ``#{if X}…#{elseif Y}…#{else}…#{/if}``, ``#{unless X}…#{else}…#{/unless}``; a condition is a
value (filters allowed) that is truthy, or a comparison with ``==``/``!=`` of values or quoted strings,
case-sensitive as in Octostache. An unknown variable in a condition is empty, hence false. Truthiness is
Octostache's: only ``""``, ``"0"``, and ``false``/``no`` (trimmed, any case) are false.

Loops: ``#{each i in List}…#{/each}`` over the indexed children of ``List`` (``List[A].Prop`` …: ``#{i}`` is
the index ``A``, ``#{i.Prop}`` reads ``List[A].Prop``), over a JSON array (``#{i}``, ``#{i.Field}``) or
object (``#{i}``/``#{i.Key}``, ``#{i.Value}``), else over the comma-separated parts of the value (untrimmed,
as Octostache; an empty value gives no iteration *(differs: Octostache iterates once over "")*). Inside,
``Octopus.Template.Each.Index``, ``.First`` and ``.Last`` describe the innermost loop.

Arithmetic: ``#{calc A * (B + 1) / 2}`` with + - * / and parentheses; ``-`` and ``/`` belong to a name when
written without spaces (``A-1`` is the variable "A-1", as in Octostache), ``{Name}`` always means a
variable; *(differs)* ``A - 1`` with spaces is arithmetic. A division by zero, or a non-numeric operand,
leaves the token as written.

Templates are parsed once into a small tree (cached) and then evaluated, so a script body costs one pass.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from urllib.parse import quote

# Deep enough for any real chain of variables referring to variables, small enough to stop runaways.
_MAX_DEPTH = 32


def substitute(template: str, variables: Mapping[str, str], *, now: datetime | None = None) -> str:
    """Return ``template`` with every resolvable ``#{...}`` expression replaced.

    ``now`` feeds NowDate/NowDateUtc; without it they stay as written, so rendering stays repeatable.
    """
    if "#{" not in template:
        return template
    return _render(template, variables, now)[0]


def evaluate_condition(expression: str, variables: Mapping[str, str], *, now: datetime | None = None) -> bool:
    """Whether a run condition such as ``#{unless Octopus.Deployment.Error}true#{/unless}`` holds.

    As Octostache's ``EvaluateTruthy``: anything left unresolved makes it false, so ``#{Misspelt}`` does not
    count as the (truthy) text of its own token.
    """
    if "#{" not in expression:
        return is_truthy(expression)
    text, unresolved = _render(expression, variables, now)
    return not unresolved and is_truthy(text)


def is_truthy(text: str) -> bool:
    """Octostache truthiness, shared by ``#{if}`` and run conditions.

    ``""`` and ``"0"`` are compared exactly, ``false`` and ``no`` trimmed and in any case, as Octostache
    does; so whitespace alone is true.
    """
    if text in ("", "0"):
        return False
    return text.strip().casefold() not in ("false", "no")


def _render(template: str, variables: Mapping[str, str], now: datetime | None) -> tuple[str, bool]:
    lookup = {name.casefold(): value for name, value in variables.items()}
    renderer = _Renderer(lookup, variables, now)
    try:
        text = renderer.render(template, ())
    except RecursionError:  # absurdly deep nesting: leave the text alone rather than fail the deployment
        return template, True
    return text, renderer.unresolved


# ----------------------------------------------------------------------------------------------------------
# Parsing: text -> tokens -> tree


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Verbatim:
    """Something that looked like template syntax but is not: printed as written and counted as unresolved."""

    text: str


@dataclass(frozen=True, slots=True)
class _Sub:
    raw: str
    inner: str


@dataclass(frozen=True, slots=True)
class _Calc:
    raw: str
    expression: str


@dataclass(frozen=True, slots=True)
class _Branch:
    condition: str
    body: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _If:
    """``#{if}`` and its ``#{elseif}`` branches; ``#{unless X}A#{else}B`` is stored as "if X: B, else A"."""

    raw: str
    branches: tuple[_Branch, ...]
    otherwise: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Each:
    raw: str
    variable: str
    collection: str
    body: tuple[_Node, ...]


_Node = _Text | _Verbatim | _Sub | _Calc | _If | _Each


@dataclass(frozen=True, slots=True)
class _Tag:
    raw: str
    inner: str
    kind: str  # "sub", "calc", "if", "unless", "elseif", "else", "each", "/if", "/unless", "/each"
    argument: str
    start: int
    end: int


_Token = _Text | _Verbatim | _Tag

_CLOSERS = frozenset({"/if", "/unless", "/each"})
_NO_STOPS: frozenset[str] = frozenset()
_IF_STOPS = frozenset({"else", "elseif"})
_UNLESS_STOPS = frozenset({"else"})
_KEYWORD = re.compile(r"\s*(if|unless|elseif|each|calc)\s+(\S.*?)\s*\Z", re.DOTALL | re.IGNORECASE)
_EACH = re.compile(r"(\S+)\s+in\s+(\S.*)\Z", re.DOTALL | re.IGNORECASE)
_CALC_START = re.compile(r"\s*calc\s", re.IGNORECASE)


@lru_cache(maxsize=512)
def _parse(template: str) -> tuple[_Node, ...]:
    return _Parser(template).document()


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            tokens.append(_Text("".join(pending)))
            pending.clear()

    position = 0
    while True:
        start = text.find("#{", position)
        if start < 0:
            pending.append(text[position:])
            flush()
            return tokens
        if start > position and text[start - 1] == "#":
            # "##{" is the escape: emit "#{" and treat what follows as plain text.
            pending.append(text[position : start - 1])
            pending.append("#{")
            position = start + 2
            continue
        pending.append(text[position:start])
        flush()
        end = _closing_brace(text, start + 2)
        if end < 0:  # not an expression: keep the "#{" as text and look further on
            tokens.append(_Verbatim("#{"))
            position = start + 2
            continue
        tokens.append(_classify(text[start : end + 1], text[start + 2 : end], start, end + 1))
        position = end + 1


def _classify(raw: str, inner: str, start: int, end: int) -> _Tag:
    bare = inner.strip().casefold()
    if bare in _CLOSERS or bare == "else":
        return _Tag(raw, inner, bare, "", start, end)
    match = _KEYWORD.match(inner)
    if match is not None:
        keyword, argument = match.group(1).casefold(), match.group(2)
        if keyword != "each" or _EACH.match(argument):
            return _Tag(raw, inner, keyword, argument, start, end)
    return _Tag(raw, inner, "sub", inner, start, end)


def _closing_brace(text: str, position: int) -> int:
    """Index of the ``}`` closing an expression, skipping nested ``#{...}``; -1 when unterminated.

    Double-quoted filter arguments may hold braces (``Replace "}" ")"``); if quotes do not pair up on the
    line the scan is repeated ignoring them, so a stray quote cannot swallow the rest of a script.
    """
    braces = _CALC_START.match(text, position) is not None  # "#{calc {My-Var} - 1}" wraps names in braces
    end = _scan_expression(text, position, quotes=True, braces=braces)
    return end if end >= 0 else _scan_expression(text, position, quotes=False, braces=braces)


def _scan_expression(text: str, position: int, *, quotes: bool, braces: bool) -> int:
    depth = 0
    quoted = False
    length = len(text)
    while position < length:
        char = text[position]
        if quoted:
            if char == '"':
                quoted = False
            elif char == "\n":
                return -1
        elif char == '"' and quotes:
            quoted = True
        elif char == "}":
            if depth == 0:
                return position
            depth -= 1
        elif char == "#" and text.startswith("#{", position):
            depth += 1
            position += 1
        elif char == "{":
            if not braces:
                return -1  # a bare brace cannot be part of a name, so this is not an expression
            depth += 1
        position += 1
    return -1


class _Parser:
    """Builds the tree; a block with a missing or mismatched closing tag is kept as text, like a bad token."""

    __slots__ = ("_template", "_tokens", "_last_closer")

    def __init__(self, template: str) -> None:
        self._template = template
        self._tokens = _tokenize(template)
        # Where each kind of closing tag last occurs: an opener after it cannot be closed, which saves a
        # hopeless scan to the end for every "#{if" in, say, a Ruby script's string interpolation.
        self._last_closer = {
            token.kind: index
            for index, token in enumerate(self._tokens)
            if isinstance(token, _Tag) and token.kind in _CLOSERS
        }

    def document(self) -> tuple[_Node, ...]:
        nodes: list[_Node] = []
        index = 0
        while True:
            index = self._body(index, _NO_STOPS, nodes)
            if index >= len(self._tokens):
                return tuple(nodes)
            stray = self._tokens[index]
            assert isinstance(stray, _Tag)
            nodes.append(_Verbatim(stray.raw))
            index += 1

    def _body(self, index: int, stops: frozenset[str], nodes: list[_Node]) -> int:
        """Append nodes until a closing tag or one of ``stops``; return that tag's index (or the end)."""
        tokens = self._tokens
        while index < len(tokens):
            token = tokens[index]
            if not isinstance(token, _Tag):
                nodes.append(token)
                index += 1
                continue
            if token.kind in _CLOSERS or token.kind in stops:
                return index
            if token.kind in ("if", "unless", "each"):
                block = self._block(index)
                if block is not None:
                    node, index = block
                    nodes.append(node)
                    continue
                nodes.append(_Verbatim(token.raw))
            elif token.kind == "calc":
                nodes.append(_Calc(token.raw, token.argument))
            else:  # a substitution; so is an "#{else}" outside an if, as in Octostache
                nodes.append(_Sub(token.raw, token.inner))
            index += 1
        return index

    def _block(self, index: int) -> tuple[_Node, int] | None:
        opener = self._tokens[index]
        assert isinstance(opener, _Tag)
        if self._last_closer.get("/" + opener.kind, -1) < index:
            return None
        if opener.kind == "each":
            return self._each(opener, index)
        return self._conditional(opener, index)

    def _each(self, opener: _Tag, index: int) -> tuple[_Node, int] | None:
        body: list[_Node] = []
        close = self._body(index + 1, _NO_STOPS, body)
        match = _EACH.match(opener.argument)
        if not self._closes(close, "/each") or match is None:
            return None
        variable, collection = match.group(1).casefold(), match.group(2).strip()
        return _Each(self._raw(opener, close), variable, collection, tuple(body)), close + 1

    def _conditional(self, opener: _Tag, index: int) -> tuple[_Node, int] | None:
        is_if = opener.kind == "if"
        conditions = [opener.argument]
        bodies: list[tuple[_Node, ...]] = []
        cursor = index + 1
        while True:
            body: list[_Node] = []
            cursor = self._body(cursor, _IF_STOPS if is_if else _UNLESS_STOPS, body)
            if cursor >= len(self._tokens):
                return None
            bodies.append(tuple(body))
            tag = self._tokens[cursor]
            assert isinstance(tag, _Tag)
            if tag.kind != "elseif":
                break
            conditions.append(tag.argument)
            cursor += 1
        otherwise: list[_Node] = []
        if tag.kind == "else":
            cursor = self._body(cursor + 1, _NO_STOPS, otherwise)
        if not self._closes(cursor, "/" + opener.kind):
            return None
        raw = self._raw(opener, cursor)
        if is_if:
            branches = tuple(_Branch(c, b) for c, b in zip(conditions, bodies, strict=True))
            return _If(raw, branches, tuple(otherwise)), cursor + 1
        return _If(raw, (_Branch(conditions[0], tuple(otherwise)),), bodies[0]), cursor + 1

    def _closes(self, index: int, kind: str) -> bool:
        if index >= len(self._tokens):
            return False
        token = self._tokens[index]
        return isinstance(token, _Tag) and token.kind == kind

    def _raw(self, opener: _Tag, close: int) -> str:
        closer = self._tokens[close]
        assert isinstance(closer, _Tag)
        return self._template[opener.start : closer.end]


# ----------------------------------------------------------------------------------------------------------
# Expressions inside a tag: "Name | Filter arg ...", conditions, arithmetic


@dataclass(frozen=True, slots=True)
class _Argument:
    text: str
    nested: bool  # a "#{...}" to evaluate, rather than literal text


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    arguments: tuple[_Argument, ...]


@dataclass(frozen=True, slots=True)
class _Expression:
    symbol: str
    calls: tuple[_Call, ...]


@dataclass(frozen=True, slots=True)
class _Condition:
    left: str | _Expression  # a str is a quoted literal
    operator: str  # "==", "!=", or "" for a plain truthiness test
    right: str | _Expression | None


_CALL_NAME = re.compile(r"\s*([^\s\"#]+)")
_BARE_ARGUMENT = re.compile(r"(?:[^\s\"#]|#(?!\{))+")
_QUOTED = re.compile(r'\s*(?:"([^"]*)"|\\"(.*?)\\")\s*\Z', re.DOTALL)


@lru_cache(maxsize=1024)
def _parse_expression(text: str) -> _Expression | None:
    segments = _split_pipes(text)
    if segments is None:
        return None
    calls: list[_Call] = []
    for segment in segments[1:]:
        call = _parse_call(segment)
        if call is None:
            return None
        calls.append(call)
    return _Expression(segments[0].strip(), tuple(calls))


def _split_pipes(text: str) -> list[str] | None:
    """Split at the ``|`` that separate filters: not inside quotes, nested tokens, or the name's brackets."""
    segments: list[str] = []
    start = index = brackets = 0
    quoted = False
    while index < len(text):
        char = text[index]
        if char == "#" and text.startswith("#{", index):
            index = _closing_brace(text, index + 2)
            if index < 0:
                return None
        elif char == '"':
            quoted = not quoted
        elif not quoted and not segments and char in "[]":
            brackets += 1 if char == "[" else -1
        elif char == "|" and not quoted and brackets == 0:
            segments.append(text[start:index])
            start = index + 1
        index += 1
    if quoted:
        return None
    segments.append(text[start:])
    return segments


def _parse_call(segment: str) -> _Call | None:
    match = _CALL_NAME.match(segment)
    if match is None:
        return None
    arguments: list[_Argument] = []
    index, length = match.end(), len(segment)
    while True:
        while index < length and segment[index].isspace():
            index += 1
        if index >= length:
            return _Call(match.group(1).casefold(), tuple(arguments))
        if segment.startswith("#{", index):
            end = _closing_brace(segment, index + 2) + 1
            argument = _Argument(segment[index:end], nested=True)
        elif segment.startswith('\\"', index):
            end = segment.find('\\"', index + 2) + 2
            argument = _Argument(segment[index + 2 : end - 2], nested=False)
        elif segment[index] == '"':
            end = segment.find('"', index + 1) + 1
            argument = _Argument(segment[index + 1 : end - 1], nested=False)
        else:
            bare = _BARE_ARGUMENT.match(segment, index)
            end = index if bare is None else bare.end()
            argument = _Argument(segment[index:end], nested=False)
        if end <= index:  # unterminated quote or token
            return None
        arguments.append(argument)
        index = end


@lru_cache(maxsize=512)
def _parse_condition(text: str) -> _Condition | None:
    split = _split_comparison(text)
    if split is None:
        return None
    left_text, operator, right_text = split
    left = _parse_operand(left_text)
    if left is None:
        return None
    if not operator:
        return _Condition(left, "", None)
    right = _parse_operand(right_text)
    return None if right is None else _Condition(left, operator, right)


def _split_comparison(text: str) -> tuple[str, str, str] | None:
    index = 0
    quoted = False
    while index < len(text):
        if not quoted and text.startswith("#{", index):
            index = _closing_brace(text, index + 2)
            if index < 0:
                return None
        elif text[index] == '"':
            quoted = not quoted
        elif not quoted and text.startswith(("==", "!="), index):
            return text[:index], text[index : index + 2], text[index + 2 :]
        index += 1
    return text, "", ""


def _parse_operand(text: str) -> str | _Expression | None:
    quoted = _QUOTED.match(text)
    if quoted is not None:
        return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
    expression = _parse_expression(text)
    return expression if expression is not None and expression.symbol else None


@dataclass(frozen=True, slots=True)
class _Number:
    value: float


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str


@dataclass(frozen=True, slots=True)
class _Negate:
    operand: _Arithmetic


@dataclass(frozen=True, slots=True)
class _Operation:
    operator: str
    left: _Arithmetic
    right: _Arithmetic


_Arithmetic = _Number | _Variable | _Negate | _Operation

_CALC_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?|\.\d+)|\{(?P<wrapped>[^{}]+)\}|(?P<operator>[-+*/()])"
    r"|(?P<name>[^\s+*/()\-{}][^\s+*(){}]*))"
)


@lru_cache(maxsize=256)
def _parse_calculation(text: str) -> _Arithmetic | None:
    tokens: list[tuple[str, str]] = []
    text = text.rstrip()
    index = 0
    while index < len(text):
        match = _CALC_TOKEN.match(text, index)
        if match is None:
            return None
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        index = match.end()
    return _CalcParser(tokens).parse()


class _CalcParser:
    """Recursive descent over + - (lowest), * /, then unary minus, numbers, names and parentheses."""

    __slots__ = ("_tokens", "_index")

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self._tokens = tokens
        self._index = 0

    def parse(self) -> _Arithmetic | None:
        tree = self._chain(("+", "-"), self._term)
        return tree if self._index == len(self._tokens) else None

    def _operator(self) -> str | None:
        if self._index < len(self._tokens) and self._tokens[self._index][0] == "operator":
            return self._tokens[self._index][1]
        return None

    def _term(self) -> _Arithmetic | None:
        return self._chain(("*", "/"), self._factor)

    def _chain(
        self, operators: tuple[str, str], operand: Callable[[], _Arithmetic | None]
    ) -> _Arithmetic | None:
        left = operand()
        while left is not None and self._operator() in operators:
            operator = self._tokens[self._index][1]
            self._index += 1
            right = operand()
            left = None if right is None else _Operation(operator, left, right)
        return left

    def _factor(self) -> _Arithmetic | None:
        if self._index >= len(self._tokens):
            return None
        kind, value = self._tokens[self._index]
        self._index += 1
        if kind == "number":
            return _Number(float(value))
        if kind in ("name", "wrapped"):
            return _Variable(value.strip())
        if value == "-":
            operand = self._factor()
            return None if operand is None else _Negate(operand)
        if value == "(":
            inner = self._chain(("+", "-"), self._term)
            if inner is None or self._operator() != ")":
                return None
            self._index += 1
            return inner
        return None


# ----------------------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True, slots=True)
class _Item:
    """What a name stands for: its text, and where its members (``#{i.Prop}``) are found."""

    text: str
    path: str | None = None  # the (casefolded) variable name whose children and properties are its members
    data: object = None  # the parsed JSON it came from, when it is a JSON object or array


@dataclass(frozen=True, slots=True)
class _Step:
    key: str
    end: int  # where the step ends in the name, so a prefix of the name can be cut off


_EACH_INDEX = "octopus.template.each.index"
_EACH_FIRST = "octopus.template.each.first"
_EACH_LAST = "octopus.template.each.last"


@dataclass(frozen=True, slots=True)
class _Frame:
    variable: str
    item: _Item
    index: int
    count: int

    def special(self, folded_name: str) -> str | None:
        if folded_name == _EACH_INDEX:
            return str(self.index)
        if folded_name == _EACH_FIRST:
            return str(self.index == 0)
        if folded_name == _EACH_LAST:
            return str(self.index == self.count - 1)
        return None


class _Renderer:
    """Evaluates trees against one variable set; ``unresolved`` tells whether anything was left as written."""

    __slots__ = ("_lookup", "_variables", "_now", "_frames", "_children", "_json", "unresolved")

    def __init__(self, lookup: Mapping[str, str], variables: Mapping[str, str], now: datetime | None) -> None:
        self._lookup = lookup
        self._variables = variables
        self._now = now
        self._frames: list[_Frame] = []
        self._children: dict[str, list[tuple[str, str]]] | None = None
        self._json: dict[str, object] = {}
        self.unresolved = False

    def render(self, text: str, resolving: tuple[str, ...]) -> str:
        if "#{" not in text:
            return text
        out: list[str] = []
        self._emit(_parse(text), resolving, out)
        return "".join(out)

    def _emit(self, nodes: Iterable[_Node], resolving: tuple[str, ...], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Sub):
                self._put(node.raw, self._substitution(node.inner, resolving), out)
            elif isinstance(node, _If):
                self._conditional(node, resolving, out)
            elif isinstance(node, _Each):
                self._each(node, resolving, out)
            elif isinstance(node, _Calc):
                self._put(node.raw, self._calculate(node.expression, resolving), out)
            else:
                self._put(node.text, None, out)

    def _put(self, raw: str, value: str | None, out: list[str]) -> None:
        if value is None:
            self.unresolved = True
            out.append(raw)
        else:
            out.append(value)

    def _nested(self, text: str, resolving: tuple[str, ...]) -> str | None:
        """Render a reference inside a tag; None when any part of it failed, so the whole tag is kept."""
        saved = self.unresolved
        self.unresolved = False
        rendered = self.render(text, resolving)
        failed = self.unresolved
        self.unresolved = saved
        return None if failed else rendered

    def _name(self, symbol: str, resolving: tuple[str, ...]) -> str | None:
        if "#{" not in symbol:
            return symbol
        rendered = self._nested(symbol, resolving)
        return None if rendered is None else rendered.strip()

    # -- substitutions and filters

    def _substitution(self, inner: str, resolving: tuple[str, ...]) -> str | None:
        expression = _parse_expression(inner)
        if expression is None or not (expression.symbol or expression.calls):
            return None
        value: str | None = None
        if expression.symbol:
            name = self._name(expression.symbol, resolving)
            if name is None:
                return None
            value = self._text(name, resolving)
        return self._apply_calls(expression.calls, value, resolving)

    def _apply_calls(
        self, calls: Sequence[_Call], value: str | None, resolving: tuple[str, ...]
    ) -> str | None:
        for call in calls:
            arguments: list[str] = []
            for argument in call.arguments:
                text = self._nested(argument.text, resolving) if argument.nested else argument.text
                if text is None:
                    return None
                arguments.append(text)
            value = self._call(call.name, value, arguments)
        return value

    def _call(self, name: str, value: str | None, arguments: Sequence[str]) -> str | None:
        try:
            if name in ("nowdate", "nowdateutc"):
                return self._now_date(name == "nowdateutc", value, arguments)
            function = _FILTERS.get(name)
            return None if function is None else function(value, arguments)
        except (ValueError, ArithmeticError, re.error):  # bad input or arguments: the token stays as written
            return None

    def _now_date(self, utc: bool, value: str | None, arguments: Sequence[str]) -> str | None:
        if self._now is None or value is not None or len(arguments) > 1:
            return None
        moment = self._now
        if utc:
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            moment = moment.replace(tzinfo=None)
        return _format_date(moment, arguments[0]) if arguments else _round_trip(moment, zulu=utc)

    # -- conditionals

    def _conditional(self, node: _If, resolving: tuple[str, ...], out: list[str]) -> None:
        for branch in node.branches:
            verdict = self._holds(branch.condition, resolving)
            if verdict is None:
                self._put(node.raw, None, out)
                return
            if verdict:
                self._emit(branch.body, resolving, out)
                return
        self._emit(node.otherwise, resolving, out)

    def _holds(self, text: str, resolving: tuple[str, ...]) -> bool | None:
        condition = _parse_condition(text)
        if condition is None:
            return None
        left = self._operand(condition.left, resolving)
        if left is None:
            return None
        if condition.right is None:
            return is_truthy(left)
        right = self._operand(condition.right, resolving)
        if right is None:
            return None
        return (left == right) == (condition.operator == "==")

    def _operand(self, operand: str | _Expression, resolving: tuple[str, ...]) -> str | None:
        if isinstance(operand, str):
            return operand
        name = self._name(operand.symbol, resolving)
        value = None if name is None else self._text(name, resolving)
        if not operand.calls:
            return "" if value is None else value  # an unknown variable is simply false
        return self._apply_calls(operand.calls, value, resolving)

    # -- loops

    def _each(self, node: _Each, resolving: tuple[str, ...], out: list[str]) -> None:
        name = self._name(node.collection, resolving)
        items = [] if name is None else self._items(name, resolving)
        for index, item in enumerate(items):
            self._frames.append(_Frame(node.variable, item, index, len(items)))
            try:
                self._emit(node.body, resolving, out)
            finally:
                self._frames.pop()

    def _items(self, name: str, resolving: tuple[str, ...]) -> list[_Item]:
        path = self._path(name)
        children = [] if path is None else self._children_of(path)
        if children:
            return [self._child(child, index, resolving) for child, index in children]
        item = self._resolve(name, resolving)
        if item is None:
            return []
        data = item.data if item.data is not None else self._json_of(item.text)
        if isinstance(data, list):
            return [_json_item(element) for element in data]
        if isinstance(data, dict):
            return [_Item(str(key), data={"Key": key, "Value": value}) for key, value in data.items()]
        return [_Item(part) for part in item.text.split(",")] if item.text else []

    def _path(self, name: str) -> str | None:
        """The variable name that ``name`` stands for, loop variables replaced; None for a JSON item."""
        steps = _steps(name)
        if steps is not None:
            head = steps[0].key.casefold()
            for frame in reversed(self._frames):
                if frame.variable == head:
                    if frame.item.path is None:
                        return None
                    return frame.item.path + name[steps[0].end :].casefold()
        return name.casefold()

    def _children_of(self, path: str) -> list[tuple[str, str]]:
        if self._children is None:
            self._children = _index_children(self._variables)
        return self._children.get(path, [])

    def _child(self, path: str, index: str, resolving: tuple[str, ...]) -> _Item:
        value = self._lookup.get(path)
        text = None if value is None else self._expand(path, value, resolving)
        return _Item(index if text is None else text, path=path)

    # -- names

    def _text(self, name: str, resolving: tuple[str, ...]) -> str | None:
        item = self._resolve(name, resolving)
        return None if item is None else item.text

    def _resolve(self, name: str, resolving: tuple[str, ...]) -> _Item | None:
        folded = name.casefold()
        steps = _steps(name)
        head = None if steps is None else steps[0].key.casefold()
        for frame in reversed(self._frames):
            special = frame.special(folded)
            if special is not None:
                return _Item(special)
            if steps is not None and head == frame.variable:
                found = self._member(frame.item, name, steps, resolving)
                if found is not None:
                    return found
        return self._global(name, resolving)

    def _member(
        self, item: _Item, name: str, steps: tuple[_Step, ...], resolving: tuple[str, ...]
    ) -> _Item | None:
        if len(steps) == 1:
            return item
        if item.path is not None:
            found = self._global(item.path + name[steps[0].end :], resolving)
            if found is not None:
                return found
        data = item.data if item.data is not None else self._json_of(item.text)
        return None if data is None else _walk(data, steps[1:])

    def _global(self, name: str, resolving: tuple[str, ...]) -> _Item | None:
        folded = name.casefold()
        value = self._lookup.get(folded)
        if value is not None:
            text = self._expand(folded, value, resolving)
            return None if text is None else _Item(text, path=folded)
        steps = _steps(name)
        if steps is None:
            return None
        # Not a variable: perhaps a path into the JSON held by the longest defined prefix of the name.
        for cut in range(len(steps) - 1, 0, -1):
            prefix = name[: steps[cut - 1].end].casefold()
            raw = self._lookup.get(prefix)
            if raw is None:
                continue
            text = self._expand(prefix, raw, resolving)
            data = None if text is None else self._json_of(text)
            return None if data is None else _walk(data, steps[cut:])
        return None

    def _expand(self, key: str, value: str, resolving: tuple[str, ...]) -> str | None:
        if "#{" not in value:
            return value
        if key in resolving or len(resolving) >= _MAX_DEPTH:
            return None
        return self.render(value, (*resolving, key))

    def _json_of(self, text: str) -> object:
        if text not in self._json:
            self._json[text] = _load_json(text)
        return self._json[text]

    # -- arithmetic

    def _calculate(self, expression: str, resolving: tuple[str, ...]) -> str | None:
        if "#{" in expression:
            rendered = self._nested(expression, resolving)
            if rendered is None:
                return None
            expression = rendered
        tree = _parse_calculation(expression)
        result = None if tree is None else self._arithmetic(tree, resolving)
        return None if result is None or not math.isfinite(result) else _number_text(result)

    def _arithmetic(self, node: _Arithmetic, resolving: tuple[str, ...]) -> float | None:
        if isinstance(node, _Number):
            return node.value
        if isinstance(node, _Variable):
            text = self._text(node.name, resolving)
            return None if text is None else _parse_float(text)
        if isinstance(node, _Negate):
            operand = self._arithmetic(node.operand, resolving)
            return None if operand is None else -operand
        left = self._arithmetic(node.left, resolving)
        right = self._arithmetic(node.right, resolving)
        if left is None or right is None or (node.operator == "/" and right == 0):
            return None
        return _ARITHMETIC[node.operator](left, right)


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}

_IDENTIFIER = re.compile(r"[^.\[\]]*")


@lru_cache(maxsize=1024)
def _steps(name: str) -> tuple[_Step, ...] | None:
    """``A.B[c].D`` as steps A, B, c, D; None when it is not a well-formed path (brackets unbalanced)."""
    steps: list[_Step] = []
    index, length = 0, len(name)
    while index < length:
        if name[index] == "[":
            close = _matching_bracket(name, index)
            if close < 0:
                return None
            steps.append(_Step(name[index + 1 : close].strip(), close + 1))
            index = close + 1
            continue
        if name[index] == ".":
            index += 1
        match = _IDENTIFIER.match(name, index)
        assert match is not None  # the pattern also matches the empty string
        key = match.group().strip()
        if not key or (match.end() < length and name[match.end()] == "]"):
            return None
        steps.append(_Step(key, match.end()))
        index = match.end()
    return tuple(steps) if steps else None


def _matching_bracket(name: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(name)):
        if name[index] == "[":
            depth += 1
        elif name[index] == "]":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _indexers(name: str) -> Iterator[tuple[int, int]]:
    """Positions of the outermost ``[`` ``]`` pairs of a variable name (an index may hold brackets itself)."""
    depth = 0
    opening = -1
    for index, char in enumerate(name):
        if char == "[":
            if depth == 0:
                opening = index
            depth += 1
        elif char == "]" and depth > 0:
            depth -= 1
            if depth == 0:
                yield opening, index


def _index_children(names: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """Parent path -> its indexed children (child path, index as first written), in first-seen order."""
    children: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for name in names:
        for opening, closing in _indexers(name):
            child = name[: closing + 1].casefold()
            if child not in seen:
                seen.add(child)
                children.setdefault(name[:opening].casefold(), []).append(
                    (child, name[opening + 1 : closing])
                )
    return children


def _load_json(text: str) -> object:
    """The JSON object or array ``text`` holds, or None: scalars are just text."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        data: object = json.loads(stripped)
    except ValueError:
        return None
    return data if isinstance(data, dict | list) else None


def _walk(data: object, steps: Sequence[_Step]) -> _Item | None:
    current = data
    for step in steps:
        if isinstance(current, str):
            current = _load_json(current)
        if isinstance(current, dict):
            current = _property(current, step.key)
        elif isinstance(current, list) and step.key.isascii() and step.key.isdigit():
            position = int(step.key)
            current = current[position] if position < len(current) else None
        else:
            return None
    return _json_item(current)


def _property(data: dict[str, object], key: str) -> object:
    if key in data:
        return data[key]
    folded = key.casefold()
    return next((value for name, value in data.items() if name.casefold() == folded), None)


def _json_item(value: object) -> _Item:
    """A JSON value as Octostache prints it: null is empty, booleans True/False, containers compact JSON."""
    if value is None:
        return _Item("")
    if isinstance(value, bool):
        return _Item(str(value))
    if isinstance(value, dict | list):
        return _Item(json.dumps(value, separators=(",", ":"), ensure_ascii=False), data=value)
    if isinstance(value, float):
        return _Item(_number_text(value))
    return _Item(str(value))


def _number_text(value: float) -> str:
    """A double as .NET prints it, near enough: whole numbers without ".0", else the shortest round trip."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ----------------------------------------------------------------------------------------------------------
# Filters. Each takes the value (None when there is none) and its arguments, and returns None to refuse,
# which leaves the token as written.

_Filter = Callable[[str | None, Sequence[str]], str | None]

_INT = re.compile(r"\s*[+-]?\d+\s*\Z")
_FLOAT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")
_DECIMAL = re.compile(r"\s*([+-]?)(\d[\d,]*)?(?:\.(\d*))?\s*\Z")


def _parse_int(text: str) -> int | None:
    """.NET ``int.TryParse``: optional sign and surrounding spaces, 32 bits."""
    if _INT.match(text) is None:
        return None
    number = int(text)
    return number if -(2**31) <= number < 2**31 else None


def _parse_float(text: str) -> float | None:
    if _FLOAT.match(text) is None:
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _parse_decimal(text: str) -> Decimal | None:
    """.NET ``decimal.TryParse``: sign, thousands separators, a decimal point; no exponent."""
    match = _DECIMAL.match(text)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    if not whole and not fraction:
        return None
    return Decimal(f"{sign}{(whole or '0').replace(',', '')}.{fraction or '0'}")


def _text_filter(function: Callable[[str, Sequence[str]], str | None]) -> _Filter:
    """Adapt a filter that needs a value: Octostache's refuse when there is none."""

    def apply(value: str | None, arguments: Sequence[str]) -> str | None:
        return None if value is None else function(value, arguments)

    return apply


def _plain(function: Callable[[str], str]) -> _Filter:
    """Adapt a transformation that takes no arguments: Octostache's refuse any."""

    def apply(value: str | None, arguments: Sequence[str]) -> str | None:
        return None if value is None or arguments else function(value)

    return apply


def _comparison(test: Callable[[str, str], bool]) -> _Filter:
    def apply(value: str | None, arguments: Sequence[str]) -> str | None:
        if value is None or len(arguments) != 1:
            return None
        return "true" if test(value, arguments[0]) else "false"

    return apply


_TEXT_ENCODINGS = {"utf8": "utf-8", "utf-8": "utf-8", "unicode": "utf-16-le"}


def _encoding(arguments: Sequence[str]) -> str | None:
    if len(arguments) > 1:
        return None
    return _TEXT_ENCODINGS.get(arguments[0].casefold() if arguments else "utf8")


def _to_base64(value: str, arguments: Sequence[str]) -> str | None:
    encoding = _encoding(arguments)
    return None if encoding is None else base64.b64encode(value.encode(encoding)).decode("ascii")


def _from_base64(value: str, arguments: Sequence[str]) -> str | None:
    encoding = _encoding(arguments)
    if encoding is None:
        return None
    return base64.b64decode("".join(value.split()), validate=True).decode(encoding, errors="replace")


def _append(value: str | None, arguments: Sequence[str]) -> str | None:
    return (value or "") + "".join(arguments) if arguments else None


def _prepend(value: str | None, arguments: Sequence[str]) -> str | None:
    return "".join(arguments) + (value or "") if arguments else None


def _trim(value: str, arguments: Sequence[str]) -> str | None:
    if not arguments:
        return value.strip()
    side = arguments[0].casefold()
    return value.lstrip() if side == "start" else value.rstrip() if side == "end" else None


def _substring(value: str, arguments: Sequence[str]) -> str | None:
    if not 1 <= len(arguments) <= 2:
        return None
    numbers: list[int] = []
    for argument in arguments:
        number = _parse_int(argument)
        if number is None or number < 0:
            return None
        numbers.append(number)
    start, length = (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
    return None if start > len(value) else value[start : start + length]


def _truncate(value: str, arguments: Sequence[str]) -> str | None:
    length = _parse_int(arguments[0]) if arguments else None
    if length is None or length < 0:
        return None
    suffix = arguments[1] if len(arguments) > 1 else "..."
    return value[:length] + suffix if length < len(value) else value


_INDENT_SIZES = re.compile(r"(?:(\d{1,3})?(/))?(\d{1,3})\Z")


def _indent(value: str, arguments: Sequence[str]) -> str | None:
    if not value:
        return ""
    if not arguments:
        first = rest = "    "
    elif len(arguments) == 2:
        first, rest = arguments
    elif len(arguments) > 2:
        return None
    else:
        first, rest = _indent_sizes(arguments[0])
    return first + value.replace("\n", "\n" + rest)


def _indent_sizes(option: str) -> tuple[str, str]:
    """``Indent 4``, ``Indent 2/4`` (first line/others), ``Indent /4``; anything else is the indent itself."""
    match = _INDENT_SIZES.match(option)
    if match is None or any(int(size) > 255 for size in match.groups() if size and size != "/"):
        return option, option
    initial, slash, subsequent = match.groups()
    if slash is None:
        return " " * int(subsequent), " " * int(subsequent)
    return " " * int(initial or 0), " " * int(subsequent)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    """Compile a .NET pattern: named groups ``(?<n>...)`` and ``\\k<n>`` become Python's spelling."""
    pattern = re.sub(r"\(\?<(?![=!])", "(?P<", pattern)
    return re.compile(re.sub(r"\\k<(\w+)>", r"(?P=\1)", pattern))


_DOTNET_SUBSTITUTION = re.compile(r"\$(?:(\d+)|\{(\w+)\}|([$&`'_]))")


def _replacement(template: str, match: re.Match[str]) -> str:
    """Expand a .NET replacement pattern (``$1``, ``${name}``, ``$$``, ``$&``, ``$```, ``$'``, ``$_``)."""

    def one(reference: re.Match[str]) -> str:
        number, name, special = reference.groups()
        if special is not None:
            whole = match.string
            return {"$": "$", "&": match.group(), "`": whole[: match.start()], "'": whole[match.end() :]}.get(
                special, whole
            )
        try:
            group = number if number is not None else name
            return match.group(int(group) if group.isdigit() else group) or ""
        except (IndexError, re.error):
            return reference.group()  # .NET keeps a reference to a group that does not exist as text

    return _DOTNET_SUBSTITUTION.sub(one, template)


def _replace(value: str, arguments: Sequence[str]) -> str | None:
    if not arguments:
        return None
    replacement = arguments[1] if len(arguments) > 1 else ""
    return _regex(arguments[0]).sub(lambda match: _replacement(replacement, match), value)


def _match(value: str, arguments: Sequence[str]) -> str | None:
    if len(arguments) != 1:
        return None
    return "true" if _regex(arguments[0]).search(value) else "false"


_HASH_INPUTS: dict[str, Callable[[str], bytes]] = {
    "utf8": lambda text: text.encode("utf-8"),
    "utf-8": lambda text: text.encode("utf-8"),
    "unicode": lambda text: text.encode("utf-16-le"),
    "base64": lambda text: base64.b64decode(text, validate=True),
}


def _hash_options(arguments: Sequence[str]) -> tuple[Callable[[str], bytes], int | None] | None:
    """Octostache's hash options: a digest size in bytes and/or an input encoding, in either order."""
    encoders: list[Callable[[str], bytes]] = []
    sizes: list[int] = []
    for option in arguments:
        size = _parse_int(option)
        encoder = _HASH_INPUTS.get(option.casefold())
        if size is not None and size > 0:
            sizes.append(size)
        elif encoder is not None:
            encoders.append(encoder)
        else:
            return None
    if len(sizes) > 1 or len(encoders) > 1:
        return None
    return (encoders[0] if encoders else _HASH_INPUTS["utf8"]), (sizes[0] if sizes else None)


def _hasher(algorithm: str) -> _Filter:
    def apply(value: str, arguments: Sequence[str]) -> str | None:
        options = _hash_options(arguments)
        if options is None:
            return None
        encode, size = options
        digest = hashlib.new(algorithm, encode(value), usedforsecurity=False).digest()
        return digest[:size].hex()

    return _text_filter(apply)


def _unicode_escape(char: str) -> str:
    """``\\uXXXX`` per UTF-16 code unit, as .NET writes it (a surrogate pair beyond the BMP)."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "/": "&#x2F;"})
_XML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})
_JSON = str.maketrans({'"': '\\"', "\r": "\\r", "\t": "\\t", "\n": "\\n", "\\": "\\\\"})
_YAML_DOUBLE = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "\\": "\\\\", '"': '\\"'}
_PROPERTIES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}
_PROPERTIES_KEY = {" ": "\\ ", ":": "\\:", "=": "\\="}
_NEWLINES = re.compile(r"(?:\r?\n)+")
_URI_RESERVED = ":/?#[]@!$&'()*+,;="


def _yaml_single_quote(value: str) -> str:
    # In single quotes YAML folds one line break into a space, so every run of breaks gets one more.
    doubled = _NEWLINES.sub(lambda m: ("\r\n" if m.group().startswith("\r") else "\n") + m.group(), value)
    return doubled.replace("'", "''")


def _yaml_double_quote(value: str) -> str:
    return "".join(_YAML_DOUBLE.get(c) or (c if " " <= c <= "~" else _unicode_escape(c)) for c in value)


def _properties_char(char: str) -> str:
    return _PROPERTIES.get(char) or (char if ord(char) < 0xFF else _unicode_escape(char))


def _properties_key(value: str) -> str:
    return "".join(_PROPERTIES_KEY.get(c) or _properties_char(c) for c in value)


def _properties_value(value: str) -> str:
    return "".join("\\ " if i == 0 and c == " " else _properties_char(c) for i, c in enumerate(value))


def _add_time(unit: timedelta) -> _Filter:
    def apply(value: str, arguments: Sequence[str]) -> str | None:
        amount = _parse_float(arguments[0]) if len(arguments) == 1 else None
        moment = _parse_date(value)
        if amount is None or moment is None:
            return None
        return _round_trip(moment + unit * amount, zulu=value.rstrip().upper().endswith("Z"))

    return _text_filter(apply)


def _format(value: str | None, arguments: Sequence[str]) -> str | None:
    if value is None or not 1 <= len(arguments) <= 2:
        return None
    if len(arguments) == 1:
        number = _parse_decimal(value)
        if number is not None:
            return _format_number(number, arguments[0], integral=False)
        moment = _parse_date(value)
        return None if moment is None else _format_date(moment, arguments[0])
    kind, pattern = arguments[0].casefold(), arguments[1]
    if kind in ("int", "int32"):
        integer = _parse_int(value)
        return None if integer is None else _format_number(Decimal(integer), pattern, integral=True)
    if kind == "double":
        real = _parse_float(value)
        return None if real is None else _format_number(Decimal(repr(real)), pattern, integral=False)
    if kind == "decimal":
        number = _parse_decimal(value)
        return None if number is None else _format_number(number, pattern, integral=False)
    if kind in ("date", "datetime", "datetimeoffset"):
        moment = _parse_date(value)
        return None if moment is None else _format_date(moment, pattern)
    return None


_FILTERS: dict[str, _Filter] = {
    "tolower": _plain(str.lower),
    "toupper": _plain(str.upper),
    "tobase64": _text_filter(_to_base64),
    "frombase64": _text_filter(_from_base64),
    "htmlescape": _plain(lambda text: text.translate(_HTML)),
    "xmlescape": _plain(lambda text: text.translate(_XML)),
    "jsonescape": _plain(lambda text: text.translate(_JSON)),
    "uriescape": _plain(lambda text: quote(text, safe=_URI_RESERVED)),
    "uridataescape": _plain(lambda text: quote(text, safe="")),
    "yamlsinglequoteescape": _plain(_yaml_single_quote),
    "yamldoublequoteescape": _plain(_yaml_double_quote),
    "propertieskeyescape": _plain(_properties_key),
    "propertiesvalueescape": _plain(_properties_value),
    "trim": _text_filter(_trim),
    "indent": _text_filter(_indent),
    "substring": _text_filter(_substring),
    "truncate": _text_filter(_truncate),
    "replace": _text_filter(_replace),
    "match": _text_filter(_match),
    "startswith": _comparison(lambda text, prefix: text.startswith(prefix)),
    "endswith": _comparison(lambda text, suffix: text.endswith(suffix)),
    "contains": _comparison(lambda text, part: part in text),
    "append": _append,
    "prepend": _prepend,
    "md5": _hasher("md5"),
    "sha1": _hasher("sha1"),
    "sha256": _hasher("sha256"),
    "sha384": _hasher("sha384"),
    "sha512": _hasher("sha512"),
    "format": _format,
    "adddays": _add_time(timedelta(days=1)),
    "addhours": _add_time(timedelta(hours=1)),
}


# ----------------------------------------------------------------------------------------------------------
# .NET-compatible number formatting (invariant culture)

_STANDARD_NUMBER = re.compile(r"([A-Za-z])(\d{0,2})\Z")
_NUMBER_PATTERN = re.compile(r"'[^']*'?|\"[^\"]*\"?|\\.?|[0#.,%;]|[^0#.,%;'\"\\]+", re.DOTALL)
_DIGITS = ("0", "#")


def _round(number: Decimal, places: int) -> Decimal:
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _format_number(number: Decimal, pattern: str, *, integral: bool) -> str | None:
    standard = _STANDARD_NUMBER.match(pattern)
    if standard is None:
        return _custom_number(number, pattern)
    letter, digits = standard.groups()
    precision = int(digits) if digits else None
    kind = letter.upper()
    if kind in ("N", "F"):
        places = 2 if precision is None else precision
        return format(_round(number, places), f"{',' if kind == 'N' else ''}.{places}f")
    if kind == "D" and integral:
        text = str(abs(int(number))).zfill(precision or 0)
        return "-" + text if number < 0 else text
    if kind == "X" and integral:
        return format(int(number) & 0xFFFFFFFF, letter).zfill(precision or 0)
    if kind == "G" and precision is None:
        return str(int(number)) if integral else str(number)
    return None  # C, P, E, R and the like are culture- or precision-dependent: not supported


def _literal(token: str) -> str:
    if token[0] in "'\"":
        return token[1:-1] if len(token) > 1 and token[-1] == token[0] else token[1:]
    return token[1:] if token[0] == "\\" else token


def _custom_number(number: Decimal, pattern: str) -> str:
    sections: list[list[str]] = [[]]
    for token in _NUMBER_PATTERN.findall(pattern):
        if token == ";":
            sections.append([])
        else:
            sections[-1].append(token)
    section, sign = sections[0], "-" if number < 0 else ""
    if number < 0 and len(sections) > 1 and sections[1]:
        section, sign = sections[1], ""  # the negative section carries its own sign
    elif number == 0 and len(sections) > 2 and sections[2]:
        section = sections[2]
    number = abs(number) * (100 if "%" in section else 1)
    point = section.index(".") if "." in section else len(section)
    whole_tokens, fraction_tokens = section[:point], [t for t in section[point + 1 :] if t != "."]
    places = sum(1 for t in fraction_tokens if t in _DIGITS)
    rounded = _round(number, places)
    whole, _, fraction = format(rounded, "f").partition(".")
    fraction = fraction.rstrip("0").ljust(fraction_tokens.count("0"), "0")
    text = _fill_whole(whole_tokens, whole.lstrip("0")) + _fill_fraction(fraction_tokens, fraction)
    return sign + text if sign and rounded != 0 else text


def _fill_whole(tokens: list[str], digits: str) -> str:
    slots = [index for index, token in enumerate(tokens) if token in _DIGITS]
    if not slots:
        return "".join(_literal(token) for token in tokens if token != ",")
    first_zero = next((index for index in slots if tokens[index] == "0"), None)
    if first_zero is not None:
        digits = digits.zfill(sum(1 for index in slots if index >= first_zero))
    if "," in tokens[slots[0] : slots[-1]]:  # a comma between digit placeholders groups thousands
        head = "".join(_literal(token) for token in tokens[: slots[0]])
        tail = "".join(_literal(token) for token in tokens[slots[-1] + 1 :] if token != ",")
        return head + _group_thousands(digits) + tail
    parts: list[str] = []
    # Digits fill the placeholders from the right; the leftmost placeholder takes all that remain.
    for index in reversed(range(len(tokens))):
        token = tokens[index]
        if token in _DIGITS:
            taken = len(digits) if index == slots[0] else min(1, len(digits))
            parts.append(digits[len(digits) - taken :])
            digits = digits[: len(digits) - taken]
        elif token != ",":
            parts.append(_literal(token))
    return "".join(reversed(parts))


def _fill_fraction(tokens: list[str], digits: str) -> str:
    parts: list[str] = []
    remaining = digits
    for token in tokens:
        if token in _DIGITS:
            parts.append(remaining[:1])
            remaining = remaining[1:]
        elif token != ",":
            parts.append(_literal(token))
    text = "".join(parts)
    return "." + text if digits else text


def _group_thousands(digits: str) -> str:
    head = len(digits) % 3 or 3
    return ",".join([digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))])


# ----------------------------------------------------------------------------------------------------------
# .NET-compatible date formatting (invariant culture)

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_STANDARD_DATE = {
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "m": "MMMM dd",
    "M": "MMMM dd",
    "y": "yyyy MMMM",
    "Y": "yyyy MMMM",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    # These three are in UTC:
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, dd MMMM yyyy HH:mm:ss",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
}
_DATE_PATTERN = re.compile(
    r"d{1,4}|f{1,7}|F{1,7}|g{1,2}|h{1,2}|H{1,2}|K|m{1,2}|M{1,4}|s{1,2}|t{1,2}|y{1,5}|z{1,3}"
    r"|'[^']*'?|\"[^\"]*\"?|\\.?|.",
    re.DOTALL,
)


def _parse_date(text: str) -> datetime | None:
    """ISO 8601 (``2030-05-22``, ``2030-05-22 09:05:00``, ``…T09:05+02:00``, ``…Z``), ``/`` separators too."""
    candidate = text.strip()
    if not candidate[:4].isdigit():
        return None
    for attempt in (candidate, candidate.replace("/", "-")):
        try:
            return datetime.fromisoformat(attempt)
        except ValueError:
            continue
    return None


def _round_trip(moment: datetime, *, zulu: bool) -> str:
    """.NET's "O" format; a UTC time written with ``Z`` keeps it, as a DateTime of kind Utc does."""
    text = _custom_date(moment.replace(tzinfo=None), _STANDARD_DATE["O"])
    if moment.tzinfo is None:
        return text
    return text + ("Z" if zulu and moment.utcoffset() == timedelta(0) else _offset(moment, 3))


def _format_date(moment: datetime, pattern: str) -> str | None:
    if len(pattern) == 1:
        if pattern not in _STANDARD_DATE:
            return None
        if pattern in "uUrR" and moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        pattern = _STANDARD_DATE[pattern]
    return _custom_date(moment, pattern)


def _custom_date(moment: datetime, pattern: str) -> str:
    parts: list[str] = []
    for token in _DATE_PATTERN.findall(pattern):
        part = _date_part(moment, token)
        if token[0] == "F" and not part and parts and parts[-1].endswith("."):
            parts[-1] = parts[-1][:-1]  # .NET drops the point before an all-zero "F" fraction
        parts.append(part)
    return "".join(parts)


def _offset(moment: datetime, width: int) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    if width == 1:
        return f"{sign}{hours}"
    return f"{sign}{hours:02d}" + (f":{minutes:02d}" if width >= 3 else "")


def _fraction(moment: datetime, width: int) -> str:
    return f"{moment.microsecond:06d}0"[:width]


def _padded(value: int, width: int) -> str:
    return f"{value:0{min(width, 2)}d}"


_DATE_PARTS: dict[str, Callable[[datetime, int], str]] = {
    "d": lambda m, w: _padded(m.day, w) if w <= 2 else _DAYS[m.weekday()][: 3 if w == 3 else None],
    "M": lambda m, w: _padded(m.month, w) if w <= 2 else _MONTHS[m.month - 1][: 3 if w == 3 else None],
    "y": lambda m, w: str(m.year % 100) if w == 1 else f"{m.year % 100:02d}" if w == 2 else f"{m.year:0{w}d}",
    "H": lambda m, w: _padded(m.hour, w),
    "h": lambda m, w: _padded(m.hour % 12 or 12, w),
    "m": lambda m, w: _padded(m.minute, w),
    "s": lambda m, w: _padded(m.second, w),
    "f": _fraction,
    "F": lambda m, w: _fraction(m, w).rstrip("0"),
    "t": lambda m, w: ("AM" if m.hour < 12 else "PM")[:w],
    "z": _offset,
    "K": lambda m, w: "" if m.tzinfo is None else _offset(m, 3),
    "g": lambda m, w: "A.D.",
}


def _date_part(moment: datetime, token: str) -> str:
    handler = _DATE_PARTS.get(token[0])
    if handler is not None:
        return handler(moment, len(token))
    return "" if token == "%" else _literal(token)
