"""SCIM filters (RFC 7644 section 3.4.2.2) translated to Django ``Q`` objects.

The module parses a filter into a small AST (:func:`parse_filter`) and
translates it through a declarative :data:`FilterMap` supplied by the caller
(:func:`filter_to_q`), so the same code serves Users, Groups and any host
model.  It also reads ``sortBy`` (RFC 7644 section 3.4.2.3, :func:`sort_lookup`)
and the ``attributes`` / ``excludedAttributes`` lists (section 3.4.2.5,
:func:`parse_attribute_list`).

PATCH paths (RFC 7644 section 3.5.2, :func:`parse_path`) use the same grammar:
the bracket of ``emails[type eq "work"].value`` is parsed by the same parser
into the same AST as a query's value path, and :func:`matches` evaluates it
against values held in memory.

Why a parser of our own rather than scim2-filter-parser's lexer and parser:
version 0.7 gives ``and`` and ``or`` the same precedence (``a or b and c`` is
read as ``(a or b) and c``, against section 3.4.2.2), lexes numbers one digit
at a time (``eq 12`` fails), has no escapes in string literals (``"a\\"b"``
fails), splits attribute names that start with ``true``/``false``/``null``
(``trueFlag``), accepts no unquoted values and reports errors as ``ValueError``
or its own exception.  The recursive-descent parser below is short and gives
errors that name the offset of the problem.

Choices where the RFC is silent or where clients deviate from it:

* Names and operators are case-insensitive; ``true``/``false``/``null`` are
  recognised in any case.  Whitespace between tokens is optional where the
  meaning is unambiguous.
* ``not`` must be followed by ``(`` (as in the ABNF).
* Unquoted values (sent by Microsoft's validator: ``name.familyName eq Smith``)
  are strings when they are not ``true``/``false``/``null``/a number and not
  ``and``/``or``/``not``; those three are rejected as ambiguous.  A number given
  for a string attribute compares as its literal text.
* ``eq null`` (or any operator with ``null``) is ``invalidFilter``: SCIM
  expresses absence with ``pr``.
* A missing (NULL) value is "not equal" to anything: ``title ne "x"`` and
  ``not (title eq "x")`` match users without a title.  Negation is pushed down
  to each comparison and expressed as ``~Q(...) | Q(<lookup>__isnull=True)``, so
  neither nullable columns nor absent JSON keys lose rows.  A negated value
  filter (``not (emails[type eq "work"])``) is a plain ``~Q`` of the whole
  filter, so that it keeps meaning "no value matches all of it".
* ``pr`` on a string means not NULL and not ``""``.
* Strings compare with ``iexact``/``icontains``/``istartswith``/``iendswith``
  unless the target is ``case_exact``, ``binary`` or has a ``normalize``
  function (a folded column is compared exactly).  ``gt``/``ge``/``lt``/``le``
  on strings use the database collation.
* ``co``/``sw``/``ew`` are refused for booleans, numbers, datetimes and
  binaries; ``gt``/``ge``/``lt``/``le`` for booleans and binaries (RFC 7644
  Table 3).  Booleans also accept the strings ``"True"``/``"False"`` (any case).
  Integers and decimals need a JSON number.  Datetimes are ISO 8601 / RFC 3339
  strings; one without an offset is taken as UTC.
* If a target's ``normalize`` returns ``None``, the value cannot exist in the
  column: comparisons match nothing (``Q(pk__in=[])``) and their negation
  matches everything.
* All comparisons inside one value filter (``emails[type eq "work" and
  value co "@x"]``, plus a trailing ``.value eq "x"``) form one ``Q`` so that on
  a relation they apply to the same related row.  Because the caller passes the
  whole ``Q`` to one ``filter()`` call, two value filters on the same relation
  joined by ``and`` also share that row; and lookups across a multi-valued
  relation can repeat a row, so callers should use ``distinct()`` there.
* Too long or too deeply nested filters are ``invalidFilter`` (400):
  ``tooMany`` is about result sizes in RFC 7644.
* An unknown ``sortBy`` attribute is ``invalidValue`` (400): section 3.4.2.3
  names no error, and the query parameter's value is what is wrong.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import reduce
from typing import Any

from django.db.models import Q

from scim_portal.exceptions import InvalidFilter, InvalidPath, InvalidValue, ScimError
from scim_portal.scim.schema import split_urn_prefix

MAX_FILTER_LENGTH = 4096
MAX_FILTER_DEPTH = 32

KINDS = frozenset({"string", "boolean", "integer", "decimal", "datetime", "reference", "binary"})
COMPARE_OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
CORE_SCHEMA_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:"

_TEXT_KINDS = frozenset({"string", "reference", "binary"})
_ORDERED = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_ALLOWED_OPERATORS: dict[str, frozenset[str]] = {
    "string": COMPARE_OPERATORS,
    "reference": COMPARE_OPERATORS,
    "binary": frozenset({"eq", "ne"}),
    "boolean": frozenset({"eq", "ne"}),
    "integer": _ORDERED,
    "decimal": _ORDERED,
    "datetime": _ORDERED,
}
_EXACT_LOOKUPS = {
    "eq": "exact",
    "co": "contains",
    "sw": "startswith",
    "ew": "endswith",
    "gt": "gt",
    "ge": "gte",
    "lt": "lt",
    "le": "lte",
}
_IEXACT_LOOKUPS = {**_EXACT_LOOKUPS, "eq": "iexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"}
_LOGICAL_WORDS = frozenset({"and", "or", "not"})
_NAME = re.compile(r"\$?[A-Za-z][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_URN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-+%")
_CORE_RESOURCE = re.compile(r"[a-z][a-z0-9]*([:.])")
_DELIMITERS = frozenset('()[]"')
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class FilterTarget:
    """Where a SCIM attribute lives in the ORM and how to compare it.

    ``lookup`` is an ORM path (``"user_name"``, ``"user__first_name"``,
    ``"document__title"``); ``kind`` is the RFC 7643 section 2.3 data type;
    ``case_exact`` is the attribute's ``caseExact`` characteristic; ``normalize``
    transforms the (already typed) value before comparison, for example to match
    a folded, indexed column, in which case lookups are exact.
    """

    lookup: str
    kind: str = "string"
    case_exact: bool = False
    normalize: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown filter kind {self.kind!r}; expected one of {sorted(KINDS)}.")


FilterMap = Mapping[str, FilterTarget]
"""Normalised (lower-case) attribute paths to targets: ``"username"``,
``"name.familyname"``, ``"emails.value"``, ``"meta.created"``,
``"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber"``."""


# -- AST ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttrPath:
    """An attribute path as written (``userName``, ``name.familyName``, ``urn:...:User:manager``)."""

    text: str


@dataclass(frozen=True)
class Value:
    """A comparison value: ``type`` is ``string``, ``word`` (unquoted), ``number``, ``boolean`` or ``null``."""

    type: str
    value: Any
    text: str


@dataclass(frozen=True)
class Comparison:
    """``attrPath op value``, or ``attrPath pr`` (``op == "pr"``, ``value is None``)."""

    path: AttrPath
    op: str
    value: Value | None = None


@dataclass(frozen=True)
class Logical:
    """``a and b and ...`` or ``a or b or ...`` (``op`` is ``"and"`` or ``"or"``)."""

    op: str
    operands: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    """``not (filter)``."""

    operand: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attrPath[valFilter]``, optionally followed by ``.subAttr op value`` (``tail``)."""

    path: AttrPath
    filter: Filter
    tail: Comparison | None = None


Filter = Comparison | Logical | Not | ValuePath


# -- helpers shared by parsing and path handling -------------------------------------


def _shown(text: str, limit: int = 60) -> str:
    """Client text for an error detail, shortened."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_attribute_path(text: str) -> bool:
    """Whether ``text`` is ``[URN ":"] ATTRNAME ["." subAttr]`` (RFC 7644 section 3.4.2.2 ``attrPath``).

    A URN path may also separate the attribute with ``.`` (``urn:...:User.manager``),
    as some Microsoft tools do, and may be the bare schema URN.
    """
    if text[:4].lower() == "urn:":
        head, _sep, last = text.rpartition(":")
        return all(char in _URN_CHARS for char in head) and _names(last, 3)
    return _names(text, 2)


def _names(text: str, most: int) -> bool:
    parts = text.split(".")
    return len(parts) <= most and all(_NAME.fullmatch(part) for part in parts)


def normalize_attribute_path(text: str) -> str:
    """Lower-case ``text`` and drop an ``urn:ietf:params:scim:schemas:core:2.0:<Resource>`` prefix.

    Core attributes are addressed without their URN in rendered resources
    (RFC 7644 section 3.10); extension paths keep theirs.
    """
    lowered = text.strip().lower()
    if lowered.startswith(CORE_SCHEMA_PREFIX):
        match = _CORE_RESOURCE.match(lowered, len(CORE_SCHEMA_PREFIX))
        if match and match.end() < len(lowered):
            return lowered[match.end() :]
    return lowered


def _check_text(text: object, max_length: int, error: type[ScimError], what: str) -> str:
    if not isinstance(text, str):
        raise error(f"The {what} must be a string.")
    if len(text) > max_length:
        raise error(f"The {what} is longer than {max_length} characters.")
    if "\x00" in text:
        raise error(f"The {what} contains a NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(f"The {what} is not valid Unicode (offset {exc.start}).") from exc
    return text


# -- tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "[", "]", "string", "word" or "end"
    text: str
    pos: int
    value: str = ""


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in "()[]":
            tokens.append(_Token(char, char, pos))
            pos += 1
        elif char == '"':
            end = _string_end(text, pos)
            tokens.append(_Token("string", text[pos:end], pos, _decode_string(text[pos:end], pos)))
            pos = end
        else:
            end = _word_end(text, pos)
            tokens.append(_Token("word", text[pos:end], pos))
            pos = end
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _string_end(text: str, start: int) -> int:
    pos = start + 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
        elif text[pos] == '"':
            return pos + 1
        else:
            pos += 1
    raise InvalidFilter(f"Unterminated string starting at offset {start}.")


def _decode_string(literal: str, pos: int) -> str:
    """A JSON string literal (RFC 7159 section 7), escapes included."""
    try:
        value = json.loads(literal, strict=False)
        value.encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidFilter(f"Invalid string {_shown(literal)} at offset {pos}: bad escape.") from exc
    if "\x00" in value:
        raise InvalidFilter(f"The string at offset {pos} contains a NUL character.")
    return str(value)


def _word_end(text: str, start: int) -> int:
    pos = start
    while pos < len(text) and not text[pos].isspace() and text[pos] not in _DELIMITERS:
        pos += 1
    return pos


# -- parser ---------------------------------------------------------------------------


def _describe(token: _Token) -> str:
    return "the end of the filter" if token.kind == "end" else f"'{_shown(token.text)}' at offset {token.pos}"


class _Parser:
    """Recursive descent over RFC 7644 Figure 1; ``not`` > ``and`` > ``or``."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.max_depth = max_depth

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: _Token, expected: str) -> InvalidFilter:
        return InvalidFilter(f"Invalid filter: expected {expected}, found {_describe(token)}.")

    def accept_word(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == word:
            self.advance()
            return True
        return False

    def expect(self, kind: str, expected: str) -> _Token:
        token = self.advance()
        if token.kind != kind:
            raise self.fail(token, expected)
        return token

    @contextmanager
    def nested(self, token: _Token) -> Iterator[None]:
        self.depth += 1
        if self.depth > self.max_depth:
            raise InvalidFilter(f"Filter nested more than {self.max_depth} levels deep (offset {token.pos}).")
        yield
        self.depth -= 1

    def parse(self) -> Filter:
        node = self.disjunction(inside=False)
        if self.peek().kind != "end":
            raise self.fail(self.peek(), "'and', 'or' or the end of the filter")
        return node

    def disjunction(self, inside: bool) -> Filter:
        operands = [self.conjunction(inside)]
        while self.accept_word("or"):
            operands.append(self.conjunction(inside))
        return operands[0] if len(operands) == 1 else Logical("or", tuple(operands))

    def conjunction(self, inside: bool) -> Filter:
        operands = [self.unary(inside)]
        while self.accept_word("and"):
            operands.append(self.unary(inside))
        return operands[0] if len(operands) == 1 else Logical("and", tuple(operands))

    def unary(self, inside: bool) -> Filter:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == "not":
            self.advance()
            if self.peek().kind != "(":
                raise self.fail(self.peek(), "'(' after 'not'")
            return Not(self.group(inside))
        if token.kind == "(":
            return self.group(inside)
        return self.attribute_expression(inside)

    def group(self, inside: bool) -> Filter:
        opening = self.expect("(", "'('")
        with self.nested(opening):
            node = self.disjunction(inside)
        self.expect(")", f"')' to close the '(' at offset {opening.pos}")
        return node

    def attribute_expression(self, inside: bool) -> Filter:
        token = self.advance()
        if token.kind != "word" or token.text.lower() in _LOGICAL_WORDS:
            raise self.fail(token, "an attribute path")
        valid = _NAME.fullmatch(token.text) if inside else is_attribute_path(token.text)
        if not valid:
            where = "a sub-attribute name inside '[...]'" if inside else "an attribute path"
            raise self.fail(token, where)
        path = AttrPath(token.text)
        if self.peek().kind != "[":
            return self.comparison(path)
        if inside:
            raise InvalidFilter(f"Value filters cannot be nested (offset {self.peek().pos}).")
        return self.value_path(path)

    def value_path(self, path: AttrPath) -> ValuePath:
        inner = self.bracket()
        sub = self.sub_attribute()
        if sub is None:
            return ValuePath(path, inner)
        return ValuePath(path, inner, self.comparison(AttrPath(sub)))

    def bracket(self) -> Filter:
        """``[valFilter]``: sub-attribute comparisons of one value, never nested."""
        opening = self.advance()
        with self.nested(opening):
            inner = self.disjunction(inside=True)
        self.expect("]", f"']' to close the '[' at offset {opening.pos}")
        return inner

    def sub_attribute(self) -> str | None:
        """The ``.subAttr`` after ``]``, or ``None`` when there is none."""
        token = self.peek()
        if token.kind != "word" or not token.text.startswith("."):
            return None
        self.advance()
        if not _NAME.fullmatch(token.text[1:]):
            raise self.fail(token, "a sub-attribute name after ']'")
        return token.text[1:]

    def patch_path(self) -> tuple[str, Filter | None, str | None]:
        """``attrPath`` or ``valuePath [subAttr]`` (RFC 7644 section 3.5.2, ABNF ``PATH``)."""
        head = self.advance()
        if head.kind != "word":
            raise InvalidPath(f"Invalid path: expected an attribute name, found {_describe(head)}.")
        node = sub = None
        if self.peek().kind == "[":
            if not any(token.kind == "]" for token in self.tokens):
                raise InvalidPath(f"Invalid path: the '[' at offset {self.peek().pos} is not closed.")
            node = self.bracket()
            tail = self.peek()
            if tail.kind == "word" and tail.text.startswith(".") and _NAME.fullmatch(tail.text[1:]):
                sub = self.advance().text[1:]
        if self.peek().kind != "end":
            raise InvalidPath(f"Invalid path: unexpected {_describe(self.peek())}.")
        return head.text, node, sub

    def comparison(self, path: AttrPath) -> Comparison:
        token = self.advance()
        if token.kind != "word":
            raise self.fail(token, f"an operator after '{_shown(path.text)}'")
        op = token.text.lower()
        if op == "pr":
            return Comparison(path, "pr")
        if op not in COMPARE_OPERATORS:
            raise InvalidFilter(f"The operator '{_shown(token.text)}' (offset {token.pos}) is not supported.")
        return Comparison(path, op, self.value())

    def value(self) -> Value:
        token = self.advance()
        if token.kind == "string":
            return Value("string", token.value, token.text)
        if token.kind != "word":
            raise self.fail(token, "a value")
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return Value("boolean", lowered == "true", token.text)
        if lowered == "null":
            return Value("null", None, token.text)
        if _NUMBER.fullmatch(token.text):
            return Value("number", token.text, token.text)
        if lowered in _LOGICAL_WORDS:
            raise self.fail(token, "a value (quote it if it is a string)")
        return Value("word", token.text, token.text)


def parse_filter(text: str, *, max_length: int = MAX_FILTER_LENGTH, max_depth: int = MAX_FILTER_DEPTH) -> Filter:
    """Parse a SCIM filter (RFC 7644 section 3.4.2.2) into an AST.

    Raises :class:`InvalidFilter` (400 ``invalidFilter``) for bad syntax, naming
    the offending token and its offset, for text longer than ``max_length`` and
    for nesting (parentheses, ``not``, ``[...]``) deeper than ``max_depth``.
    """
    text = _check_text(text, max_length, InvalidFilter, "filter")
    if not text.strip():
        raise InvalidFilter("The filter is empty.")
    return _Parser(text, max_depth).parse()


# -- translation ------------------------------------------------------------------------


class _Paths:
    """Resolves written attribute paths to :data:`FilterMap` keys."""

    def __init__(self, fields: Mapping[str, FilterTarget], default_schema: str) -> None:
        self.core = default_schema.lower()
        urns = {key.rpartition(":")[0] for key in fields if key.startswith("urn:")}
        self.urns = sorted(urns | {self.core}, key=len, reverse=True)

    def key(self, written: str) -> str:
        """``urn:<core>:userName`` -> ``username``; ``urn:<ext>:x`` / ``urn:<ext>.x`` -> ``urn:<ext>:x``."""
        lowered = written.lower()
        for urn in self.urns:
            if lowered.startswith(urn) and lowered[len(urn) : len(urn) + 1] in (":", "."):
                rest = lowered[len(urn) + 1 :]
                return rest if urn == self.core else f"{urn}:{rest}"
        return lowered


def _lowered(fields: FilterMap) -> dict[str, FilterTarget]:
    return {key.lower(): target for key, target in fields.items()}


def _find_target(fields: Mapping[str, FilterTarget], key: str) -> FilterTarget | None:
    """The target of ``key``, or of ``key.value`` (RFC 7644 3.4.2.2: a multi-valued attribute means its value)."""
    return fields.get(key) or fields.get(f"{key}.value")


def _nothing() -> Q:
    return Q(pk__in=[])


def _lookup(target: FilterTarget, op: str) -> str:
    insensitive = target.kind in ("string", "reference") and not target.case_exact and target.normalize is None
    return f"{target.lookup}__{(_IEXACT_LOOKUPS if insensitive else _EXACT_LOOKUPS)[op]}"


def _present(target: FilterTarget, negated: bool) -> Q:
    """``pr``: not NULL, and for strings not empty (RFC 7644 Table 3).

    A target whose ``normalize`` turns ``""`` into ``None`` (a UUID column: ``id``,
    ``members.value``) cannot hold an empty string, so only NULL is tested there.
    """
    isnull = f"{target.lookup}__isnull"
    if target.kind not in _TEXT_KINDS or _cannot_be_empty(target):
        return Q(**{isnull: negated})
    empty = Q(**{f"{target.lookup}__exact": ""})
    return (Q(**{isnull: True}) | empty) if negated else (Q(**{isnull: False}) & ~empty)


def _cannot_be_empty(target: FilterTarget) -> bool:
    if target.normalize is None:
        return False
    try:
        return target.normalize("") is None
    except (ValueError, TypeError, ArithmeticError):
        return True


def _compare(target: FilterTarget, op: str, value: Any, negated: bool) -> Q:
    if value is None:
        return ~_nothing() if negated else _nothing()
    positive = Q(**{_lookup(target, op): value})
    if not negated:
        return positive
    return ~positive | Q(**{f"{target.lookup}__isnull": True})


class _Translator:
    def __init__(self, fields: FilterMap, default_schema: str) -> None:
        self.fields = _lowered(fields)
        self.paths = _Paths(self.fields, default_schema)

    def q(self, node: Filter, negated: bool, parent: tuple[str, str] | None = None) -> Q:
        if isinstance(node, Logical):
            parts = [self.q(operand, negated, parent) for operand in node.operands]
            conjunction = (node.op == "and") != negated  # De Morgan
            return reduce(operator.and_ if conjunction else operator.or_, parts)
        if isinstance(node, Not):
            return self.q(node.operand, not negated, parent)
        if isinstance(node, ValuePath):
            return self.value_path(node, negated)
        return self.comparison(node, negated, parent)

    def value_path(self, node: ValuePath, negated: bool) -> Q:
        parent = (self.paths.key(node.path.text), node.path.text)
        combined = self.q(node.filter, False, parent)
        if node.tail is not None:
            combined &= self.comparison(node.tail, False, parent)
        return ~combined if negated else combined

    def target(self, path: AttrPath, parent: tuple[str, str] | None) -> tuple[str, FilterTarget]:
        if parent is None:
            shown, key = path.text, self.paths.key(path.text)
        else:
            shown, key = f"{parent[1]}.{path.text}", f"{parent[0]}.{path.text.lower()}"
        target = _find_target(self.fields, key)
        if target is None:
            raise InvalidFilter(f"The attribute '{_shown(shown)}' cannot be used in a filter (unknown attribute).")
        return shown, target

    def comparison(self, node: Comparison, negated: bool, parent: tuple[str, str] | None) -> Q:
        shown, target = self.target(node.path, parent)
        if node.op == "pr":
            return _present(target, negated)
        if node.op not in _ALLOWED_OPERATORS[target.kind]:
            raise InvalidFilter(
                f"The operator '{node.op}' cannot be used with '{_shown(shown)}' (a {target.kind} attribute)."
            )
        assert node.value is not None
        value = _typed_value(node.value, target, shown)
        if node.op == "ne":
            return _compare(target, "eq", value, not negated)
        return _compare(target, node.op, value, negated)


# -- values ---------------------------------------------------------------------------------


def _typed_value(value: Value, target: FilterTarget, shown: str) -> Any:
    if value.type == "null":
        raise InvalidFilter(f"'null' is not a comparison value for '{_shown(shown)}'; use 'pr' or 'not (... pr)'.")
    typed = _CONVERTERS[target.kind](value, shown)
    if target.normalize is None:
        return typed
    try:
        return target.normalize(typed)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise InvalidFilter(f"The value {_shown(value.text)} is not valid for '{_shown(shown)}'.") from exc


def _wrong_type(value: Value, shown: str, expected: str) -> InvalidFilter:
    return InvalidFilter(f"The value {_shown(value.text)} for '{_shown(shown)}' is not {expected}.")


def _as_text(value: Value, shown: str) -> str:
    if value.type == "boolean":
        raise _wrong_type(value, shown, "a string")
    return str(value.value)


def _as_boolean(value: Value, shown: str) -> bool:
    if value.type == "boolean":
        return bool(value.value)
    if value.type in ("string", "word") and value.value.lower() in ("true", "false"):
        return bool(value.value.lower() == "true")
    raise _wrong_type(value, shown, "a boolean")


def _as_decimal(value: Value, shown: str) -> Decimal:
    if value.type != "number":
        raise _wrong_type(value, shown, "a number")
    number = Decimal(value.value)
    if not number.is_finite() or abs(number.adjusted()) > 1000:
        raise _wrong_type(value, shown, "a number in range")
    return number


def _as_integer(value: Value, shown: str) -> int:
    number = _as_decimal(value, shown)
    try:
        integral = number == number.to_integral_value()
    except InvalidOperation:
        integral = False
    if not integral or not _INT64[0] <= number <= _INT64[1]:
        raise _wrong_type(value, shown, "a 64-bit integer")
    return int(number)


def _as_datetime(value: Value, shown: str) -> datetime:
    """An RFC 3339 / ISO 8601 date-time, made aware (UTC when no offset is given)."""
    if value.type not in ("string", "word"):
        raise _wrong_type(value, shown, "a date-time")
    try:
        parsed = datetime.fromisoformat(value.value.strip().upper())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _wrong_type(value, shown, "an RFC 3339 date-time") from exc


_CONVERTERS: dict[str, Callable[[Value, str], Any]] = {
    "string": _as_text,
    "reference": _as_text,
    "binary": _as_text,
    "boolean": _as_boolean,
    "integer": _as_integer,
    "decimal": _as_decimal,
    "datetime": _as_datetime,
}


# -- public API -------------------------------------------------------------------------------


def filter_to_q(
    text: str,
    fields: FilterMap,
    *,
    default_schema: str,
    max_length: int = MAX_FILTER_LENGTH,
    max_depth: int = MAX_FILTER_DEPTH,
) -> Q:
    """Translate a SCIM filter (RFC 7644 section 3.4.2.2) into a ``Q`` through ``fields``.

    ``default_schema`` is the resource's core schema URN: paths qualified with
    it mean the same as unqualified ones.  Any problem with the input raises
    :class:`InvalidFilter`; nothing else escapes for any input string.
    """
    return tree_to_q(parse_filter(text, max_length=max_length, max_depth=max_depth), fields,
                     default_schema=default_schema)


def tree_to_q(tree: Filter, fields: FilterMap, *, default_schema: str) -> Q:
    """:func:`filter_to_q` of a filter already parsed by :func:`parse_filter`."""
    return _Translator(fields, default_schema).q(tree, negated=False)


def equality_value(tree: Filter, attribute: str, *, default_schema: str) -> str | None:
    """The string a filter compares ``attribute`` to when it is exactly ``attribute eq "text"``
    (the attribute written in any case, with or without ``default_schema``); else ``None``.

    For the lookups an IdP sends before nearly every write (``userName eq "..."``): they can
    be answered by a unique key without translating the filter.
    """
    if not (isinstance(tree, Comparison) and tree.op == "eq" and tree.value is not None
            and tree.value.type == "string"):
        return None
    if _Paths({}, default_schema).key(tree.path.text) != attribute.lower():
        return None
    return tree.value.value


def sort_lookup(sort_by: str, fields: FilterMap, *, default_schema: str) -> FilterTarget:
    """The target of a ``sortBy`` attribute (RFC 7644 section 3.4.2.3).

    A multi-valued attribute sorts by its ``value`` sub-attribute.  An invalid
    or unknown attribute raises :class:`InvalidValue` (400 ``invalidValue``).
    """
    text = _check_text(sort_by, MAX_FILTER_LENGTH, InvalidValue, "sortBy parameter").strip()
    if not text or not is_attribute_path(text):
        raise InvalidValue(f"sortBy '{_shown(text)}' is not an attribute path.")
    lowered = _lowered(fields)
    target = _find_target(lowered, _Paths(lowered, default_schema).key(text))
    if target is None:
        raise InvalidValue(f"Cannot sort by '{_shown(text)}' (unknown attribute).")
    return target


def parse_attribute_list(text: str, *, max_length: int = MAX_FILTER_LENGTH) -> list[str]:
    """Split ``attributes`` / ``excludedAttributes`` (RFC 7644 section 3.4.2.5) into normalised paths.

    Items are separated by commas (URNs contain no commas, so their colons are
    safe), trimmed, lower-cased and stripped of a core schema URN prefix
    (:func:`normalize_attribute_path`); empty items and duplicates are dropped.
    An item that is not an attribute path raises :class:`InvalidValue`.
    """
    text = _check_text(text, max_length, InvalidValue, "attribute list")
    paths: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if not is_attribute_path(item):
            raise InvalidValue(f"'{_shown(item)}' is not an attribute path.")
        path = normalize_attribute_path(item)
        if path not in paths:
            paths.append(path)
    return paths


# -- PATCH paths (RFC 7644 section 3.5.2) ---------------------------------------------------


@dataclass(frozen=True)
class PatchPath:
    """A parsed PATCH ``path``: ``[urn:]attribute[[filter]][.sub_attribute]``.

    The bracketed filter is the same AST as a query filter's value path, so one
    grammar serves ``GET ?filter=`` and PATCH.  ``urn`` is the schema URN that
    prefixed the path (canonical spelling) or ``None``; names keep the client's
    spelling until resolved against a schema.
    """

    attribute: str
    sub_attribute: str | None = None
    filter: Filter | None = None
    urn: str | None = None


def parse_path(path: object, urns: Iterable[str] = (), *, max_depth: int = MAX_FILTER_DEPTH) -> PatchPath:
    """Parse a PATCH ``path`` (RFC 7644 section 3.5.2, ABNF ``PATH``).

    ``urns`` are the schema URNs that may prefix the path, matched leniently
    (case, a missing ``:`` before the resource name, ``.`` as the separator).
    Raises 400 ``invalidPath`` for the path itself, ``invalidFilter`` for the
    bracketed filter.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidPath("The path must be a non-empty string.")
    text = _check_text(path, MAX_FILTER_LENGTH, InvalidPath, "path").strip()
    urn = None
    split = split_urn_prefix(text, urns)
    if split is not None:
        urn, text = split
        if not text:
            raise InvalidPath(f"The path '{_shown(path)}' names a schema, not an attribute.")
    head, node, sub = _Parser(text, max_depth).patch_path()
    names = head.split(".")
    if len(names) > (1 if node is not None else 2) or not all(_NAME.fullmatch(name) for name in names):
        raise InvalidPath(f"Invalid attribute name in path '{_shown(path)}'.")
    if node is None and len(names) == 2:
        return PatchPath(names[0], names[1], None, urn)
    return PatchPath(head, sub, node, urn)


# -- evaluation in memory (value filters of PATCH paths) -------------------------------------


def get_ci(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` ignoring the key's case (RFC 7643 section 2.1); ``None`` when absent."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def literal(value: Value | None) -> Any:
    """The Python value of a comparison literal: numbers as ``int``/``float``, unquoted words as strings."""
    if value is None:
        return None
    if value.type == "number":
        number = float(value.value)
        return int(value.value) if re.fullmatch(r"-?[0-9]+", value.value) else number
    return value.value


def _parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _ordered(actual: Any, expected: Any, op: str, case_exact: bool) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool) or actual is None or expected is None:
        raise InvalidFilter(f"The operator '{op}' is not defined for booleans or null.")
    left: Any
    right: Any
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        left, right = actual, expected
    elif isinstance(actual, str) and isinstance(expected, str):
        left_dt, right_dt = _parse_datetime(actual), _parse_datetime(expected)
        if left_dt is not None and right_dt is not None and (left_dt.tzinfo is None) == (right_dt.tzinfo is None):
            left, right = left_dt, right_dt
        else:
            left, right = (actual, expected) if case_exact else (actual.lower(), expected.lower())
    else:
        return False
    return bool({"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op])


_STRING_OPS: dict[str, Callable[[str, str], bool]] = {
    "eq": str.__eq__,
    "ne": str.__ne__,
    "co": str.__contains__,
    "sw": str.startswith,
    "ew": str.endswith,
}


def _compare_one(actual: Any, op: str, expected: Any, case_exact: bool) -> bool:
    if op in ("gt", "ge", "lt", "le"):
        return _ordered(actual, expected, op, case_exact)
    if isinstance(actual, str) and isinstance(expected, str):
        if not case_exact:
            actual, expected = actual.lower(), expected.lower()
        return _STRING_OPS[op](actual, expected)
    if op in ("co", "sw", "ew"):
        return False
    same = actual == expected and isinstance(actual, bool) == isinstance(expected, bool)
    return same if op == "eq" else not same


def _resolve(element: Any, dotted: str) -> Any:
    value = element
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = get_ci(value, part)
    return value


def matches(node: Filter, element: Any, case_exact: Callable[[str], bool] = lambda _name: False) -> bool:
    """Whether ``element`` (one value of a complex attribute) satisfies ``node`` (RFC 7644 section 3.4.2.2).

    ``case_exact(name)`` tells whether string comparisons on that sub-attribute
    are case-sensitive; by default they are not.  A missing value is "not equal"
    to anything, as in :func:`filter_to_q`.
    """
    if isinstance(node, Logical):
        results = (matches(operand, element, case_exact) for operand in node.operands)
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, Not):
        return not matches(node.operand, element, case_exact)
    if isinstance(node, ValuePath):
        raise InvalidFilter("Value filters cannot be nested.")
    actual = _resolve(element, node.path.text)
    if node.op == "pr":
        return actual not in (None, "", [], {})
    values = actual if isinstance(actual, list) else [actual]
    expected, exact = literal(node.value), case_exact(node.path.text)
    if node.op == "ne":
        return not any(_compare_one(v, "eq", expected, exact) for v in values)
    return any(_compare_one(v, node.op, expected, exact) for v in values)


def equality_template(node: Filter) -> dict[str, Any] | None:
    """The sub-attribute values a filter of ``eq`` joined by ``and`` pins down, else ``None``.

    ``emails[type eq "work"]`` pins ``{"type": "work"}``: what a new value must
    hold to be the one the path names.
    """
    if isinstance(node, Comparison) and node.op == "eq" and "." not in node.path.text:
        return {node.path.text: literal(node.value)}
    if isinstance(node, Logical) and node.op == "and":
        result: dict[str, Any] = {}
        for operand in node.operands:
            part = equality_template(operand)
            if part is None:
                return None
            result.update(part)
        return result
    return None


def equality_values(node: Filter, attribute: str) -> list[Any] | None:
    """Values of ``attribute eq v`` joined by ``or`` (``value eq "a" or value eq "b"``), else ``None``."""
    if isinstance(node, Comparison) and node.op == "eq" and node.path.text.lower() == attribute.lower():
        return [literal(node.value)]
    if isinstance(node, Logical) and node.op == "or":
        result: list[Any] = []
        for operand in node.operands:
            part = equality_values(operand, attribute)
            if part is None:
                return None
            result.extend(part)
        return result
    return None


def filter_attributes(node: Filter) -> list[str]:
    """Every attribute path a filter mentions, in order."""
    if isinstance(node, Comparison):
        return [node.path.text]
    if isinstance(node, Not):
        return filter_attributes(node.operand)
    if isinstance(node, ValuePath):
        return [node.path.text]
    return [name for operand in node.operands for name in filter_attributes(operand)]
