"""The PATCH engine (RFC 7644 section 3.5.2) on canonical resource dicts.

:func:`apply_patch` applies every operation of a ``PatchOp`` message to a copy
of the current resource (as produced by :mod:`scim_portal.scim.normalize`)
and returns the new resource, the group membership change as a
:class:`MembershipDelta` (members are never loaded: a group may have tens of
thousands), the password if one was sent, and whether anything changed.  The
whole message applies or a :class:`~scim_portal.exceptions.ScimError` is
raised and nothing is returned (section 3.5.2: PATCH is atomic).

Values go through the same coercion as POST and PUT, so both canonicalise
identically.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scim_portal.exceptions import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
    TooMany,
)
from scim_portal.scim import filters
from scim_portal.scim.normalize import (
    DEFAULT_LIMITS,
    MEMBERS,
    PASSWORD,
    Limits,
    Target,
    check_limits,
    coerce_complex,
    coerce_scalar,
    coerce_value,
    finish_schemas,
    fix_primary,
    member_ids,
    resolve_name,
)
from scim_portal.scim.schema import PATCH_OP_URN, Attribute, ResourceType, Schema, match_urn
from scim_portal.scim.schema import Mutability as MutabilityKind

OPS = ("add", "replace", "remove")
DEFAULT_MAX_OPERATIONS = 1000
IGNORED_KEYS = frozenset({"schemas"})


@dataclass
class MembershipDelta:
    """Group membership change, as member ids in request order.

    The storage applies it as: when ``replace`` is not ``None`` the members
    become exactly ``replace``; otherwise, when ``remove_all`` is set, every
    member is removed and then ``add`` is added; otherwise ``remove`` is
    removed and ``add`` is added (the two lists never share an id).
    """

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    replace: list[str] | None = None
    remove_all: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.add or self.remove or self.remove_all or self.replace is not None)

    def add_ids(self, ids: Sequence[str]) -> None:
        target = self.replace if self.replace is not None else self.add
        for member in ids:
            if member in self.remove:
                self.remove.remove(member)
            if member not in target:
                target.append(member)

    def remove_ids(self, ids: Sequence[str]) -> None:
        for member in ids:
            if self.replace is not None:
                if member in self.replace:
                    self.replace.remove(member)
                continue
            if member in self.add:
                self.add.remove(member)
            if not self.remove_all and member not in self.remove:
                self.remove.append(member)

    def replace_ids(self, ids: Sequence[str]) -> None:
        self.replace = list(dict.fromkeys(ids))
        self.add, self.remove, self.remove_all = [], [], False

    def clear(self) -> None:
        if self.replace is not None:
            self.replace = []
        else:
            self.add, self.remove, self.remove_all = [], [], True


@dataclass(frozen=True)
class Operation:
    """One PATCH operation (RFC 7644 3.5.2) as sent: ``op`` and ``path`` unchanged, ``has_value``
    telling an absent ``value`` from ``"value": null``.  IdP dialects rewrite these into RFC shape."""

    op: str
    path: str | None = None
    value: Any = None
    has_value: bool = False

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"op": self.op}
        if self.path is not None:
            result["path"] = self.path
        if self.has_value:
            result["value"] = self.value
        return result


def read_operation(raw: Any) -> Operation | None:
    """An operation object read with its keys in any case (RFC 7643 2.1); ``None`` when malformed."""
    if not isinstance(raw, Mapping):
        return None
    op, path, has_value, value = operation_fields(raw)
    if not isinstance(op, str) or (path is not None and not isinstance(path, str)):
        return None
    return Operation(op, path, value, has_value)


def operations_in(body: Any) -> list[Operation | Any] | None:
    """The operations of a PatchOp body, each read as an :class:`Operation` or, when malformed,
    left as sent (for :func:`apply_patch` to report); ``None`` when there is no operation list."""
    if not isinstance(body, Mapping):
        return None
    _, raw = _get_ci(body, "operations")
    if not isinstance(raw, list):
        return None
    return [read_operation(item) or item for item in raw]


def with_operations(body: Mapping[str, Any], operations: Sequence[Operation | Any]) -> dict[str, Any]:
    """``body`` with its ``Operations`` replaced (malformed ones kept as they were)."""
    key = next((k for k in body if isinstance(k, str) and k.lower() == "operations"), "Operations")
    items = [operation.to_dict() if isinstance(operation, Operation) else operation for operation in operations]
    return {**body, key: items}


@dataclass
class PatchResult:
    """The outcome of :func:`apply_patch`."""

    resource: dict[str, Any]
    members: MembershipDelta
    changed: bool
    password: str | None = None
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Where:
    """A resolved operation target."""

    target: Target
    filter: filters.Filter | None = None

    @property
    def attribute(self) -> Attribute:
        return self.target.attribute

    @property
    def sub(self) -> Attribute | None:
        return self.target.sub_attribute


def _get_ci(mapping: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == name:
            return True, value
    return False, None


class _Patcher:
    """Mutable state while the operations of one request are applied."""

    def __init__(self, resource: dict[str, Any], resource_type: ResourceType) -> None:
        self.resource = resource
        self.resource_type = resource_type
        self.delta = MembershipDelta()
        self.password: str | None = None
        self.ignored: list[str] = []

    # --- dispatch -----------------------------------------------------------------------------

    def apply(self, op: str, path: str | None, value: Any, has_value: bool) -> None:
        if path is None:
            if op == "remove":
                raise NoTarget("A 'remove' operation needs a 'path'.")
            self.apply_object(op, value)
            return
        whole = match_urn(path.strip(), [e.id for e in self.resource_type.extensions])
        if whole is not None:
            self.apply_extension(op, whole, value, has_value)
            return
        where = self.resolve(path)
        if where is not None:
            self.apply_at(op, where, value, has_value)

    def apply_object(self, op: str, value: Any) -> None:
        """No-path ``add``/``replace``: keys are attribute names or paths (RFC 7644 3.5.2.1/3.5.2.3)."""
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, Mapping):
            raise InvalidValue(f"'{op}' without a path needs an object value.")
        for key, item in value.items():
            if not isinstance(key, str) or key.lower() in IGNORED_KEYS:
                continue
            target = resolve_name(self.resource_type, key)
            if target is None:
                self.ignored.append(key)
            elif isinstance(target, str):
                self.apply_extension(op, target, item, True)
            elif target.attribute.read_only:
                continue  # id, meta, groups: Okta echoes the id in group renames
            else:
                self.apply_at(op, _Where(target), item, True)

    def apply_extension(self, op: str, urn: str, value: Any, has_value: bool) -> None:
        """An operation whose path is a whole extension URN."""
        if op == "remove":
            self.resource.pop(urn, None)
            return
        if value is None:
            return
        if not isinstance(value, Mapping):
            raise InvalidValue(f"'{urn}' must be an object.")
        for key, item in value.items():
            target = resolve_name(self.resource_type, f"{urn}:{key}") if isinstance(key, str) else None
            if isinstance(target, Target) and not target.attribute.read_only:
                self.apply_at(op, _Where(target), item, True)
            else:
                self.ignored.append(f"{urn}:{key}")

    # --- resolution ---------------------------------------------------------------------------

    def resolve(self, raw: str) -> _Where | None:
        parsed = filters.parse_path(raw, self.resource_type.schema_urns)
        found = self.resource_type.find_attribute(parsed.attribute, parsed.urn)
        if found is None:
            self.ignored.append(raw)
            return None
        urn, attribute, extension = found
        sub = None
        if parsed.sub_attribute is not None:
            if not attribute.is_complex:
                raise InvalidPath(f"'{attribute.name}' has no sub-attributes.")
            sub = attribute.sub_attribute(parsed.sub_attribute)
            if sub is None:
                self.ignored.append(raw)
                return None
        if parsed.filter is not None:
            self.check_filter(attribute, parsed.filter)
        return _Where(Target(urn, attribute, sub, extension), parsed.filter)

    @staticmethod
    def check_filter(attribute: Attribute, node: filters.Filter) -> None:
        if not attribute.is_complex:
            raise InvalidPath(f"'{attribute.name}' is not complex and cannot be filtered.")
        for name in filters.filter_attributes(node):
            if attribute.sub_attribute(name.partition(".")[0]) is None:
                raise InvalidFilter(f"'{attribute.name}' has no sub-attribute '{name}'.")

    # --- one target ---------------------------------------------------------------------------

    def container(self, target: Target, create: bool) -> dict[str, Any]:
        if not target.extension:
            return self.resource
        found = self.resource.get(target.urn)
        if isinstance(found, dict):
            return found
        fresh: dict[str, Any] = {}
        if create:
            self.resource[target.urn] = fresh
        return fresh

    def apply_at(self, op: str, where: _Where, value: Any, has_value: bool) -> None:
        attribute = where.attribute
        if not where.target.extension and attribute.name == PASSWORD:
            if op != "remove" and value is not None:
                self.password = coerce_scalar(attribute, value, PASSWORD)
            return
        if not where.target.extension and attribute.name == MEMBERS and self.resource_type.schema.attribute(MEMBERS):
            self.apply_members(op, where, value, has_value)
            return
        self.check_mutability(op, where, value)
        container = self.container(where.target, create=op != "remove")
        if where.filter is not None:
            _FilteredEdit(self, container, where).apply(op, value)
        elif where.sub is not None:
            self.apply_sub(op, container, where, value)
        else:
            self.apply_whole(op, container, where, value, has_value)

    def check_mutability(self, op: str, where: _Where, value: Any) -> None:
        """RFC 7644 3.5.2: no change to readOnly attributes, immutable only when unset; RFC 7643 2.2."""
        definition = where.sub or where.attribute
        current = self.container(where.target, create=False).get(where.attribute.name)
        if definition.mutability is MutabilityKind.READ_ONLY or where.attribute.read_only:
            label = where.target.label
            unchanged = op != "remove" and where.sub is None and where.filter is None and current is not None
            if unchanged and coerce_value(where.attribute, value, label, []) == current:
                return
            raise Mutability(f"Attribute '{label}' is read-only.")
        if definition.mutability is MutabilityKind.IMMUTABLE and current is not None:
            same = op != "remove" and coerce_value(where.attribute, value, where.target.label, []) == current
            if not same:
                raise Mutability(f"Attribute '{where.target.label}' is immutable and already set.")
        if op == "remove" and where.attribute.required and where.sub is None and where.filter is None:
            raise Mutability(f"Attribute '{where.target.label}' is required and cannot be removed.")

    def apply_whole(self, op: str, container: dict[str, Any], where: _Where, value: Any, has_value: bool) -> None:
        attribute, label = where.attribute, where.target.label
        if op == "remove":
            _no_value_to_remove(where, value)
            container.pop(attribute.name, None)
            return
        new = coerce_value(attribute, value, label, self.ignored)
        if attribute.required and (new is None or new == ""):
            raise InvalidValue(f"Attribute '{label}' is required.")
        current = container.get(attribute.name)
        if new is None:
            if op == "replace":
                container.pop(attribute.name, None)
            return
        if attribute.multi_valued and op == "add" and isinstance(current, list):
            new = _append_unique(current, new)
        elif attribute.is_complex and not attribute.multi_valued and isinstance(current, dict):
            new = _merge_complex(current, new)
        container[attribute.name] = new

    def apply_sub(self, op: str, container: dict[str, Any], where: _Where, value: Any) -> None:
        """``name.givenName``, ``manager.value``; on a multi-valued attribute every value is edited."""
        attribute, sub = where.attribute, where.sub
        assert sub is not None
        current = container.get(attribute.name)
        if attribute.multi_valued:
            items = [dict(item) for item in current] if isinstance(current, list) else []
            if op != "remove" and not items:
                items = [{}]
            for item in items:
                _edit_sub(item, op, sub, value, where.target.label)
            _set_or_pop(container, attribute.name, [item for item in items if item])
            return
        parent = dict(current) if isinstance(current, dict) else {}
        _edit_sub(parent, op, sub, value, where.target.label)
        if sub.name == "value" and isinstance(current, dict) and parent.get("value") != current.get("value"):
            parent = {k: v for k, v in parent.items() if k == "value"}
        _set_or_pop(container, attribute.name, parent)

    # --- members ------------------------------------------------------------------------------

    def apply_members(self, op: str, where: _Where, value: Any, has_value: bool) -> None:
        """Group members as a delta (RFC 7644 3.5.2): ``add``/``replace`` with a value list, ``remove``
        through a ``members[value eq "id" or ...]`` filter or, without a value, of every member.
        A ``remove`` with a value list is refused (:func:`_no_value_to_remove`) rather than
        read as "remove them all"; the built-in dialects rewrite Entra's into filters."""
        if where.sub is not None:
            raise Mutability("Member sub-attributes cannot be modified; add or remove the member.")
        if where.filter is not None:
            if op != "remove":
                raise InvalidPath("Members can be added or replaced only through the 'members' path.")
            ids = filters.equality_values(where.filter, "value")
            if ids is None or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in ids):
                raise InvalidFilter("Only 'value eq \"id\"' (joined by 'or') can select members.")
            self.delta.remove_ids([str(i) for i in ids])
            return
        if op == "add":
            self.delta.add_ids(member_ids(value))
        elif op == "replace":
            self.delta.replace_ids(member_ids(value))
        else:
            _no_value_to_remove(where, value)
            self.delta.clear()


class _FilteredEdit:
    """An operation on ``attr[filter]`` or ``attr[filter].sub`` (RFC 7644 3.5.2, valuePath)."""

    def __init__(self, patcher: _Patcher, container: dict[str, Any], where: _Where) -> None:
        self.patcher = patcher
        self.container = container
        self.where = where
        self.attribute = where.attribute
        assert where.filter is not None
        self.filter: filters.Filter = where.filter

    def case_exact(self, name: str) -> bool:
        sub = self.attribute.sub_attribute(name.partition(".")[0])
        return bool(sub and sub.case_exact)

    def apply(self, op: str, value: Any) -> None:
        current = self.container.get(self.attribute.name)
        if self.attribute.multi_valued:
            items = [dict(item) for item in current if isinstance(item, dict)] if isinstance(current, list) else []
        else:
            items = [dict(current)] if isinstance(current, dict) else []
        hits = [i for i, item in enumerate(items) if filters.matches(self.filter, item, self.case_exact)]
        if op == "remove":
            items = self.remove(items, hits)
        elif hits:
            for index in hits:
                items[index] = self.edit(op, items[index], value)
            items = _prefer(items, hits)
        elif op == "replace":
            # RFC 7644 3.5.2.3: a value filter that matches nothing is noTarget for replace.
            raise NoTarget(f"No value of '{self.attribute.name}' matches the filter.")
        else:
            items = _prefer([*items, self.create(value)], [len(items)])
        items = [item for item in items if item]
        if self.attribute.multi_valued:
            _set_or_pop(self.container, self.attribute.name, fix_primary(items))
        else:
            _set_or_pop(self.container, self.attribute.name, items[-1] if items else None)

    def remove(self, items: list[dict[str, Any]], hits: list[int]) -> list[dict[str, Any]]:
        sub = self.where.sub
        if sub is None:
            return [item for i, item in enumerate(items) if i not in hits]
        for index in hits:
            items[index].pop(sub.name, None)
        return items

    def edit(self, op: str, item: dict[str, Any], value: Any) -> dict[str, Any]:
        sub = self.where.sub
        if sub is not None:
            _edit_sub(item, op, sub, value, self.where.target.label)
            return item
        new = self.coerce_item(value)
        if op == "add":
            return {**item, **new}
        return {**self.template(), **new}

    def create(self, value: Any) -> dict[str, Any]:
        """No value matched: ``emails[type eq "work"].value`` creates ``{"type": "work", "value": ..}``."""
        template = self.template()
        if not template:
            raise NoTarget(f"No value of '{self.attribute.name}' matches the filter.")
        sub = self.where.sub
        if sub is not None:
            _edit_sub(template, "add", sub, value, self.where.target.label)
            return template
        return {**template, **self.coerce_item(value)}

    def template(self) -> dict[str, Any]:
        raw = filters.equality_template(self.filter) or {}
        result: dict[str, Any] = {}
        for name, literal in raw.items():
            sub = self.attribute.sub_attribute(name)
            if sub is not None and literal is not None:
                result[sub.name] = coerce_scalar(sub, literal, f"{self.attribute.name}.{sub.name}")
        return result

    def coerce_item(self, value: Any) -> dict[str, Any]:
        if isinstance(value, list):
            if len(value) != 1:
                raise InvalidValue(f"'{self.attribute.name}' with a filter takes a single value.")
            value = value[0]
        return coerce_complex(self.attribute, value, self.where.target.label, self.patcher.ignored) or {}


# --- helpers ----------------------------------------------------------------------------------


def _no_value_to_remove(where: _Where, value: Any) -> None:
    """RFC 7644 3.5.2.2: ``remove`` takes no value; removing by value is a filter's job.

    Read literally, ``remove members`` with a value list would empty the group: refuse it
    rather than guess (the Entra ID dialect rewrites its legacy form into a filter).
    """
    if where.attribute.multi_valued and value not in (None, [], {}):
        name = where.attribute.name
        raise InvalidValue(
            f"'remove' takes no 'value' (RFC 7644 3.5.2.2); to remove some values of '{name}', "
            f"use a path like {name}[value eq \"...\"]."
        )


def _edit_sub(item: dict[str, Any], op: str, sub: Attribute, value: Any, label: str) -> None:
    if op == "remove":
        item.pop(sub.name, None)
        return
    coerced = coerce_scalar(sub, value, label)
    if coerced is None:
        if op == "replace":
            item.pop(sub.name, None)
        return
    item[sub.name] = coerced


def _append_unique(current: list[Any], new: list[Any]) -> list[Any]:
    """``add`` to a multi-valued attribute: append values not already present (RFC 7644 3.5.2.1)."""
    result = [dict(item) if isinstance(item, dict) else item for item in current]
    added: list[int] = []
    for item in new:
        if item in result:
            continue
        result.append(item)
        added.append(len(result) - 1)
    return fix_primary(_prefer(result, added))


def _prefer(items: list[Any], chosen: list[int]) -> list[Any]:
    """A value just set ``primary: true`` takes the flag from the others (RFC 7643 2.4)."""
    winners = [i for i in chosen if isinstance(items[i], dict) and items[i].get("primary") is True]
    if winners:
        for index, item in enumerate(items):
            if index != winners[0] and isinstance(item, dict) and item.get("primary") is True:
                del item["primary"]
    return items


def _merge_complex(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Sub-attributes given replace or add, the others stay (RFC 7644 3.5.2.1 and 3.5.2.3).

    Exception: when the ``value`` (the identity of a reference such as
    ``manager``) changes, the old ``$ref``/``displayName`` would describe
    someone else and are dropped.
    """
    if "value" in new and "value" in current and new["value"] != current["value"]:
        return dict(new)
    return {**current, **new}


def _set_or_pop(container: dict[str, Any], name: str, value: Any) -> None:
    if value in (None, [], {}):
        container.pop(name, None)
    else:
        container[name] = value


def _operations(body: Mapping[str, Any], max_operations: int) -> list[Any]:
    found, schemas = _get_ci(body, "schemas")
    if found and schemas is not None:
        listed = [schemas] if isinstance(schemas, str) else schemas
        if not isinstance(listed, list) or not any(
            isinstance(s, str) and s.lower() == PATCH_OP_URN.lower() for s in listed
        ):
            raise InvalidSyntax(f"'schemas' must contain {PATCH_OP_URN}.")
    found, operations = _get_ci(body, "operations")
    if not found or not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty list.")
    if len(operations) > max_operations:
        raise TooMany(f"At most {max_operations} operations are accepted in one request.")
    return operations


def operation_fields(raw: Mapping[str, Any]) -> tuple[Any, Any, bool, Any]:
    """``(op, path, has_value, value)`` of one operation, its member names matched without
    regard to case (Entra ID sends ``"Op"``, ``"Path"``, ``"Value"``).  The log's redaction
    reads operations through this function too, so it sees what the engine applies."""
    _, op = _get_ci(raw, "op")
    _, path = _get_ci(raw, "path")
    has_value, value = _get_ci(raw, "value")
    return op, path, has_value, value


def writes_password(name: Any, resource_type: ResourceType) -> bool:
    """Whether the engine takes ``name`` (an operation ``path`` or a key of a body or no-path
    value) for the core ``password`` attribute (RFC 7643 section 4.1.1), resolved as it
    resolves paths: case, surrounding spaces and a schema URN prefix do not matter."""
    if not isinstance(name, str) or not name.strip():
        return False
    target = resolve_name(resource_type, name)
    if isinstance(target, Target):
        return not target.extension and target.attribute.name == PASSWORD
    try:
        parsed = filters.parse_path(name, resource_type.schema_urns)
    except ScimError:
        return False
    found = resource_type.find_attribute(parsed.attribute, parsed.urn)
    return found is not None and not found[2] and found[1].name == PASSWORD


def _operation(raw: Any, index: int) -> tuple[str, str | None, Any, bool]:
    if not isinstance(raw, Mapping):
        raise InvalidSyntax(f"Operation {index} must be an object.")
    op, path, has_value, value = operation_fields(raw)
    if not isinstance(op, str) or op not in OPS:
        raise InvalidSyntax(f"Operation {index}: 'op' must be add, replace or remove (RFC 7644 3.5.2).")
    if path is not None and not isinstance(path, str):
        raise InvalidPath(f"Operation {index}: 'path' must be a string.")
    if op != "remove" and not has_value:
        raise InvalidValue(f"Operation {index}: '{op}' needs a 'value'.")
    return op, (path if path and path.strip() else None), value, has_value


def apply_patch(
    resource: Mapping[str, Any],
    body: Any,
    resource_type: ResourceType,
    *,
    extensions: Sequence[Schema] = (),
    max_operations: int = DEFAULT_MAX_OPERATIONS,
    limits: Limits = DEFAULT_LIMITS,
) -> PatchResult:
    """Apply a ``PatchOp`` message (RFC 7644 section 3.5.2) to a copy of ``resource``.

    ``resource`` is the current canonical dict, without group members.  The
    returned :class:`PatchResult` holds the new dict (``schemas`` recomputed),
    the membership delta, the password if one was patched, attribute names
    that were ignored because unknown, and ``changed``: whether the resource,
    the membership or the password is affected.  Raises only
    :class:`~scim_portal.exceptions.ScimError`; ``resource`` is never mutated.
    """
    if not isinstance(body, Mapping):
        raise InvalidSyntax("The request body must be a JSON object.")
    check_limits(body, limits)
    operations = _operations(body, max_operations)
    resource_type = resource_type.with_extensions(extensions)
    patcher = _Patcher(copy.deepcopy(dict(resource)), resource_type)
    for index, raw in enumerate(operations):
        op, path, value, has_value = _operation(raw, index)
        patcher.apply(op, path, value, has_value)
    new = finish_schemas(patcher.resource, resource_type)
    original = dict(resource)
    changed = (
        {k: v for k, v in new.items() if k != "schemas"} != {k: v for k, v in original.items() if k != "schemas"}
        or not patcher.delta.is_empty
        or patcher.password is not None
    )
    return PatchResult(new, patcher.delta, changed, patcher.password, patcher.ignored)
