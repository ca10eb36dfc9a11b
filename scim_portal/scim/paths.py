"""PATCH paths and value filters (RFC 7644 sections 3.4.2.2 and 3.5.2).

``parse_path`` turns ``PATH = attrPath / valuePath [subAttr]`` into a
:class:`Path`; the bracketed filter is parsed into a small AST that
:func:`matches` evaluates against one value of a multi-valued (or a
single-valued complex) attribute held in memory.  Attribute names compare
case-insensitively everywhere (RFC 7643 section 2.1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim_portal.exceptions import InvalidFilter, InvalidPath
from scim_portal.scim.schema import split_urn_prefix

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})
MAX_FILTER_LENGTH = 4096
MAX_FILTER_DEPTH = 32

_ATTR_NAME = re.compile(r"\$?[A-Za-z][\w$-]*")


@dataclass(frozen=True)
class Compare:
    """``attrPath op value`` (or ``attrPath pr`` with ``op == "pr"``)."""

    attribute: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Logical:
    """``left and right`` / ``left or right``."""

    op: str
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    """``not (filter)``."""

    operand: Filter


Filter = Compare | Logical | Not


@dataclass(frozen=True)
class Path:
    """A parsed PATCH path: ``[urn:]attribute[[filter]][.sub_attribute]``.

    ``urn`` is the schema URN that prefixed the path (canonical spelling) or
    ``None``; names keep the client's spelling until resolved against a schema.
    """

    attribute: str
    sub_attribute: str | None = None
    filter: Filter | None = None
    urn: str | None = None


# --- tokenizer --------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        (?P<string>"(?:[^"\\]|\\.)*") |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidFilter(f"Cannot parse the filter near {text[position : position + 20]!r}.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over ``or`` < ``and`` < ``not``/parentheses/comparison."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise InvalidFilter("The filter is too long.")
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def parse(self) -> Filter:
        if not self.tokens:
            raise InvalidFilter("The filter is empty.")
        result = self._or()
        if self.index != len(self.tokens):
            raise InvalidFilter(f"Unexpected {self.tokens[self.index][1]!r} in the filter.")
        return result

    def _peek_word(self) -> str | None:
        if self.index < len(self.tokens) and self.tokens[self.index][0] == "word":
            return self.tokens[self.index][1].lower()
        return None

    def _next(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise InvalidFilter("The filter ends too early.")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _or(self) -> Filter:
        left = self._and()
        while self._peek_word() == "or":
            self.index += 1
            left = Logical("or", left, self._and())
        return left

    def _and(self) -> Filter:
        left = self._unary()
        while self._peek_word() == "and":
            self.index += 1
            left = Logical("and", left, self._unary())
        return left

    def _unary(self) -> Filter:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise InvalidFilter("The filter is nested too deeply.")
        try:
            return self._unary_inner()
        finally:
            self.depth -= 1

    def _unary_inner(self) -> Filter:
        if self._peek_word() == "not":
            self.index += 1
            return Not(self._group())
        if self.index < len(self.tokens) and self.tokens[self.index][0] == "lparen":
            return self._group()
        return self._comparison()

    def _group(self) -> Filter:
        if self._next()[0] != "lparen":
            raise InvalidFilter("Expected '(' in the filter.")
        inner = self._or()
        if self._next()[0] != "rparen":
            raise InvalidFilter("Expected ')' in the filter.")
        return inner

    def _comparison(self) -> Filter:
        kind, attribute = self._next()
        if kind != "word" or not re.fullmatch(r"\$?[A-Za-z][\w$-]*(\.\$?[A-Za-z][\w$-]*)?", attribute):
            raise InvalidFilter(f"Expected an attribute name in the filter, got {attribute!r}.")
        kind, op = self._next()
        op = op.lower()
        if kind != "word" or (op != "pr" and op not in COMPARE_OPS):
            raise InvalidFilter(f"Unknown filter operator {op!r}.")
        if op == "pr":
            return Compare(attribute, "pr")
        return Compare(attribute, op, _literal(*self._next()))


def _literal(kind: str, text: str) -> Any:
    """A comparison value: JSON string, number, ``true``/``false``/``null``; bare words leniently as strings."""
    if kind == "string":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidFilter(f"Bad string literal {text} in the filter.") from exc
    if kind != "word":
        raise InvalidFilter("Expected a value in the filter.")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+([eE][-+]?\d+)?", text):
        return float(text)
    return text


def parse_filter(text: str) -> Filter:
    """Parse a value filter (RFC 7644 section 3.4.2.2); 400 ``invalidFilter`` when malformed."""
    return _Parser(text).parse()


# --- paths ------------------------------------------------------------------------------------


def _split_bracket(text: str) -> tuple[str, str | None, str]:
    """``attr[filter]rest`` → (attr, filter text, rest), honouring quoted ``]``."""
    start = text.find("[")
    if start < 0:
        return text, None, ""
    in_string = escaped = False
    for index in range(start + 1, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "]":
            return text[:start], text[start + 1 : index], text[index + 1 :]
    raise InvalidPath(f"Unclosed '[' in path {text!r}.")


def _check_name(name: str, path: str) -> str:
    if not _ATTR_NAME.fullmatch(name):
        raise InvalidPath(f"Invalid attribute name in path {path!r}.")
    return name


def parse_path(path: str, urns: Iterable[str] = ()) -> Path:
    """Parse a PATCH ``path`` (RFC 7644 section 3.5.2, ABNF ``PATH``).

    ``urns`` are the schema URNs that may prefix the path; they are matched
    leniently (case, a missing ``:`` before the resource name, ``.`` as the
    separator).  Raises 400 ``invalidPath`` (or ``invalidFilter`` for the
    bracketed part).
    """
    if not isinstance(path, str) or not path.strip() or len(path) > MAX_FILTER_LENGTH:
        raise InvalidPath("The path must be a non-empty string.")
    text = path.strip()
    urn = None
    split = split_urn_prefix(text, urns)
    if split is not None:
        urn, text = split
        if not text:
            raise InvalidPath(f"The path {path!r} names a schema, not an attribute.")
    head, filter_text, rest = _split_bracket(text)
    if filter_text is not None:
        if rest and not rest.startswith("."):
            raise InvalidPath(f"Unexpected text after ']' in path {path!r}.")
        sub = rest[1:] if rest else None
        return Path(_check_name(head, path), sub and _check_name(sub, path), parse_filter(filter_text), urn)
    parts = head.split(".")
    if len(parts) > 2:
        raise InvalidPath(f"Path {path!r} is nested too deeply.")
    sub_name = _check_name(parts[1], path) if len(parts) == 2 else None
    return Path(_check_name(parts[0], path), sub_name, None, urn)


# --- evaluation -------------------------------------------------------------------------------


def get_ci(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` ignoring the key's case; ``None`` when absent."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _ordered(actual: Any, expected: Any, op: str, case_exact: bool) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool) or actual is None or expected is None:
        raise InvalidFilter(f"Operator {op!r} is not defined for booleans or null.")
    left: Any
    right: Any
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        left, right = actual, expected
    elif isinstance(actual, str) and isinstance(expected, str):
        left_dt, right_dt = _parse_datetime(actual), _parse_datetime(expected)
        if left_dt is not None and right_dt is not None and (left_dt.tzinfo is None) == (right_dt.tzinfo is None):
            return _compare_ordered(left_dt, right_dt, op)
        left, right = (actual, expected) if case_exact else (actual.lower(), expected.lower())
    else:
        return False
    return _compare_ordered(left, right, op)


def _compare_ordered(left: Any, right: Any, op: str) -> bool:
    return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]


def _compare_one(actual: Any, node: Compare, case_exact: bool) -> bool:
    op, expected = node.op, node.value
    if op in ("gt", "ge", "lt", "le"):
        return _ordered(actual, expected, op, case_exact)
    if isinstance(actual, str) and isinstance(expected, str):
        if not case_exact:
            actual, expected = actual.lower(), expected.lower()
        string_ops: dict[str, Callable[[str, str], bool]] = {
            "eq": str.__eq__,
            "ne": str.__ne__,
            "co": str.__contains__,
            "sw": str.startswith,
            "ew": str.endswith,
        }
        return string_ops[op](actual, expected)
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
    """Whether ``element`` (one attribute value) satisfies ``node`` (RFC 7644 section 3.4.2.2).

    ``case_exact(name)`` tells whether string comparisons on that attribute are
    case-sensitive; by default they are not.
    """
    if isinstance(node, Logical):
        left = matches(node.left, element, case_exact)
        if node.op == "and":
            return left and matches(node.right, element, case_exact)
        return left or matches(node.right, element, case_exact)
    if isinstance(node, Not):
        return not matches(node.operand, element, case_exact)
    actual = _resolve(element, node.attribute)
    if node.op == "pr":
        return actual not in (None, "", [], {})
    values = actual if isinstance(actual, list) else [actual]
    exact = case_exact(node.attribute)
    if node.op == "ne":
        return not any(_compare_one(v, Compare(node.attribute, "eq", node.value), exact) for v in values)
    return any(_compare_one(v, node, exact) for v in values)


def equality_template(node: Filter) -> dict[str, Any] | None:
    """The attribute values a filter of ``eq`` joined by ``and`` pins down, else ``None``.

    Used to create the missing value for ``emails[type eq "work"].value``.
    """
    if isinstance(node, Compare) and node.op == "eq" and "." not in node.attribute:
        return {node.attribute: node.value}
    if isinstance(node, Logical) and node.op == "and":
        left, right = equality_template(node.left), equality_template(node.right)
        if left is not None and right is not None:
            return {**left, **right}
    return None


def equality_values(node: Filter, attribute: str) -> list[Any] | None:
    """Values of ``attribute eq v`` joined by ``or`` (``value eq "a" or value eq "b"``), else ``None``."""
    if isinstance(node, Compare) and node.op == "eq" and node.attribute.lower() == attribute.lower():
        return [node.value]
    if isinstance(node, Logical) and node.op == "or":
        left, right = equality_values(node.left, attribute), equality_values(node.right, attribute)
        if left is not None and right is not None:
            return left + right
    return None


def filter_attributes(node: Filter) -> list[str]:
    """Every attribute name a filter mentions, in order."""
    if isinstance(node, Compare):
        return [node.attribute]
    if isinstance(node, Not):
        return filter_attributes(node.operand)
    return filter_attributes(node.left) + filter_attributes(node.right)
