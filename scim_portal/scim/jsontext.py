"""JSON text as it arrives: what Python can parse, encode and store (RFC 8259).

Two kinds of valid JSON break a server that trusts its parser:

* a lone UTF-16 surrogate (``"\\ud800"``, RFC 8259 section 8.2): Python decodes it
  into a ``str`` that UTF-8 cannot encode and PostgreSQL cannot store;
* deep nesting (``[[[[...]]]]``): the parser and every recursive walk of the
  value raise ``RecursionError``.

:func:`check` reports both in a parsed body as :class:`UnsafeJSON` (the API's parsers,
``scim_portal.api.negotiation``, refuse the request; a parser's own ``RecursionError`` is
theirs to answer), and :func:`escaped` lets the log keep the body without crashing.
"""

from __future__ import annotations

import re
from typing import Any

#: Deeper than any SCIM document (a PatchOp value of a complex multi-valued
#: attribute is 5 levels); recursive walks of the value stay far from Python's limit.
MAX_DEPTH = 64

#: A ``\\uD800``-``\\uDFFF`` escape: the only way a surrogate gets into UTF-8 JSON text.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class UnsafeJSON(ValueError):
    """Valid JSON we refuse to handle: too deep, or holding a lone surrogate at ``where``."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


def depth(value: Any) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 1), computed without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def surrogate_at(value: Any) -> str | None:
    """The path (``members[0].value``) of the first string or key holding a lone surrogate."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str) and not _encodable(item):
            return where or "(the body)"
        if isinstance(item, dict):
            for key, child in item.items():
                if not _encodable(key):
                    return f"{where}.{key!a}" if where else repr(key)
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(value: Any, raw: bytes) -> Any:
    """``value`` (parsed from ``raw``) if it is safe to handle, else :class:`UnsafeJSON`."""
    if depth(value) > MAX_DEPTH:
        raise UnsafeJSON(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
    if SURROGATE_ESCAPE.search(raw):
        where = surrogate_at(value)
        if where is not None:
            raise UnsafeJSON(
                f"'{where[:100]}' holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not valid "
                "Unicode; send the text as valid UTF-8.", where)
    return value


def escaped(value: Any) -> Any:
    """A copy of a parsed JSON value that PostgreSQL can store: NULs dropped, lone surrogates
    written as ``\\udXXX`` text."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        return value if _encodable(value) else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escaped(v) for v in value]
    return value
