"""``attributes`` and ``excludedAttributes`` on rendered resources (RFC 7644 sections 3.4.2.5 and 3.9).

Pure functions over a SCIM resource dict whose extension attributes are nested
under their schema URN.  Paths are expected in the normalised form produced by
:func:`scim_portal.scim.filters.parse_attribute_list` but are normalised again
here, so canonical spellings work too.  Names match case-insensitively
(RFC 7643 section 2.1).

Choices where the RFC is silent:

* ``always`` paths (RFC 7643 ``returned: always``: ``id`` and ``schemas`` by
  default) are returned whatever the parameters say; an exclusion that would
  remove one of them, or a part of one, is ignored.  ``meta`` is
  ``returned: default``, so it is left out when ``attributes`` does not name it,
  and removed when excluded.
* ``never_by_default`` paths (``returned: request``) are returned only when
  ``attributes`` names them or one of their sub-attributes.
* When both parameters are given, ``attributes`` selects first and
  ``excludedAttributes`` then removes from that selection.
* A bare schema URN means the whole extension; a bare core schema URN in
  ``attributes`` means every core attribute.  ``urn:...:User.manager`` (a ``.``
  after the URN) is accepted like ``urn:...:User:manager``.
* Complex values, multi-valued elements and extension objects that the
  projection empties are dropped.  An extension URN is removed from
  ``schemas`` when its object is no longer in the result, so that ``schemas``
  lists the schemas the representation actually carries (RFC 7643 section 3).
* A sub-attribute path applied to a simple value selects nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scim_portal.scim.filters import normalize_attribute_path

ALWAYS_RETURNED = frozenset({"id", "schemas"})
_CORE_URN_PREFIX = "urn:ietf:params:scim:schemas:core:"

Tree = dict[str, Any]  # lower-case name -> Tree, or True for "the whole value"


def _normalised(paths: Iterable[str] | None) -> list[str]:
    return [normalize_attribute_path(path) for path in paths or () if path and path.strip()]


def _covers(outer: str, inner: str) -> bool:
    """Whether path ``outer`` is ``inner`` or one of its ancestors (``name`` covers ``name.givenname``).

    A bare core schema URN covers every core (non-URN) path.
    """
    if outer == inner or inner.startswith((outer + ".", outer + ":")):
        return True
    return outer.startswith(_CORE_URN_PREFIX) and not inner.startswith("urn:")


def _overlaps(first: str, second: str) -> bool:
    return _covers(first, second) or _covers(second, first)


def _effective_exclusions(excluded: list[str], requested: list[str], always: list[str], never: list[str]) -> list[str]:
    """Exclusions minus those touching ``always`` paths, plus unrequested ``never_by_default`` paths."""
    hidden = [path for path in never if not any(_covers(path, asked) for asked in requested)]
    return [path for path in [*excluded, *hidden] if not any(_overlaps(path, fixed) for fixed in always)]


# -- resolution against one resource --------------------------------------------------


def _segments(path: str, resource: dict[str, Any]) -> list[tuple[str, ...]]:
    """The lower-case key chains ``path`` denotes in ``resource`` (several only for a bare core URN)."""
    if not path.startswith("urn:"):
        return [tuple(path.split("."))]
    urn_keys = sorted((key.lower() for key in resource if key.lower().startswith("urn:")), key=len, reverse=True)
    for urn in urn_keys:
        if path == urn:
            return [(urn,)]
        if path.startswith(urn) and path[len(urn)] in ":.":
            return [(urn, *path[len(urn) + 1 :].split("."))]
    if path.startswith(_CORE_URN_PREFIX):
        return [(key.lower(),) for key in resource if not key.lower().startswith("urn:")]
    return []


def _tree(paths: Iterable[str], resource: dict[str, Any]) -> Tree:
    tree: Tree = {}
    for path in paths:
        for chain in _segments(path, resource):
            _insert(tree, chain)
    return tree


def _insert(tree: Tree, chain: tuple[str, ...]) -> None:
    node = tree
    for name in chain[:-1]:
        child = node.setdefault(name, {})
        if child is True:
            return
        node = child
    node[chain[-1]] = True


# -- selection and removal ----------------------------------------------------------------


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _select(value: dict[str, Any], tree: Tree) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        branch = tree.get(key.lower())
        if branch is True:
            result[key] = _copy(item)
        elif branch is not None:
            picked = _select_within(item, branch)
            if picked:
                result[key] = picked
    return result


def _select_within(item: Any, tree: Tree) -> Any:
    if isinstance(item, dict):
        return _select(item, tree)
    if isinstance(item, list):
        return [picked for picked in (_select(e, tree) for e in item if isinstance(e, dict)) if picked]
    return None


def _remove(value: dict[str, Any], tree: Tree) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        branch = tree.get(key.lower())
        if branch is None:
            result[key] = _copy(item)
        elif branch is not True:
            kept = _remove_within(item, branch)
            if kept or not item:
                result[key] = kept
    return result


def _remove_within(item: Any, tree: Tree) -> Any:
    if isinstance(item, dict):
        return _remove(item, tree)
    if not isinstance(item, list):
        return _copy(item)
    result = []
    for element in item:
        if not isinstance(element, dict):
            result.append(_copy(element))
            continue
        kept = _remove(element, tree)
        if kept or not element:
            result.append(kept)
    return result


def _fix_schemas(result: dict[str, Any], resource: dict[str, Any]) -> None:
    """Drop from ``schemas`` the extension URNs whose object the projection removed."""
    schemas = result.get("schemas")
    if not isinstance(schemas, list):
        return
    gone = {key.lower() for key in resource if key.lower().startswith("urn:")} - {key.lower() for key in result}
    if gone:
        result["schemas"] = [urn for urn in schemas if not (isinstance(urn, str) and urn.lower() in gone)]


# -- public API ---------------------------------------------------------------------------------


def project(
    resource: dict[str, Any],
    *,
    attributes: list[str] | None,
    excluded: list[str] | None,
    always: frozenset[str] = ALWAYS_RETURNED,
    never_by_default: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A copy of ``resource`` limited by ``attributes`` / ``excludedAttributes`` (RFC 7644 section 3.4.2.5).

    ``attributes`` (when non-empty) keeps only the named attributes plus
    ``always``; ``excluded`` then removes attributes, never an ``always`` one;
    ``never_by_default`` paths appear only when ``attributes`` asks for them.
    The input is not modified.
    """
    requested, fixed = _normalised(attributes), _normalised(always)
    removed = _effective_exclusions(_normalised(excluded), requested, fixed, _normalised(never_by_default))
    result = _select(resource, _tree([*requested, *fixed], resource)) if requested else _copy(resource)
    if removed:
        result = _remove(result, _tree(removed, resource))
    _fix_schemas(result, resource)
    return result


def wants(
    attribute_path: str,
    *,
    attributes: list[str] | None,
    excluded: list[str] | None,
    always: frozenset[str] = ALWAYS_RETURNED,
    never_by_default: frozenset[str] = frozenset(),
) -> bool:
    """Whether :func:`project` with these parameters could return any part of ``attribute_path``.

    Lets a caller skip work for attributes that will be dropped, e.g.
    ``wants("members", attributes=None, excluded=["members"])`` is ``False``.
    """
    path = normalize_attribute_path(attribute_path)
    requested, fixed = _normalised(attributes), _normalised(always)
    if any(_overlaps(path, kept) for kept in fixed):
        return True
    removed = _effective_exclusions(_normalised(excluded), requested, fixed, _normalised(never_by_default))
    if any(_covers(gone, path) for gone in removed):
        return False
    return not requested or any(_overlaps(path, asked) for asked in requested)
