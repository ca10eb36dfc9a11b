"""Incoming resource bodies (POST and PUT) to canonical dicts (RFC 7643 sections 2-4, RFC 7644 3.3/3.5.1).

Parsing follows RFC 7643 and is lenient where the RFC leaves room: attribute
names in any case (section 2.1), single values for multi-valued attributes, a
bare value for a complex attribute with a ``value`` sub-attribute (the
Enterprise ``manager`` as a string), nulls meaning "no value" and unknown
attributes ignored.  What only one IdP sends (booleans as strings, capitalised
PATCH ops, JSON-encoded app roles) is rewritten by its dialect in
``scim_portal.idp`` before it gets here.  Anything that cannot be made sense of raises a
:class:`~scim_portal.exceptions.ScimError` (400), never another exception.

The canonical form: core attributes at the top level under the schema's
spelling, extension attributes nested under their URN key, ``schemas``
recomputed, no read-only attributes, no ``password`` and, for groups, no
``members`` (returned separately as a list of ids).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scim_portal.exceptions import InvalidSyntax, InvalidValue
from scim_portal.scim.schema import (
    Attribute,
    AttributeType,
    ResourceType,
    Schema,
    match_urn,
    split_urn_prefix,
)

PASSWORD = "password"
MEMBERS = "members"

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")
_INTEGER = re.compile(r"[-+]?\d{1,30}")


@dataclass(frozen=True)
class Limits:
    """Bounds on request bodies; exceeding one is 400 ``invalidValue``."""

    max_string_length: int = 64 * 1024
    max_values: int = 200_000
    max_depth: int = 12
    max_attributes: int = 500


DEFAULT_LIMITS = Limits()


@dataclass
class NormalizedResource:
    """The result of :func:`normalize_resource`."""

    resource: dict[str, Any]
    password: str | None = None
    ignored: list[str] = field(default_factory=list)
    members: list[str] | None = None
    """Group member ids in request order (duplicates removed); ``None`` when ``members`` was absent."""


@dataclass(frozen=True)
class Target:
    """Where a (possibly dotted or URN-prefixed) attribute name lives."""

    urn: str
    attribute: Attribute
    sub_attribute: Attribute | None = None
    extension: bool = False

    @property
    def label(self) -> str:
        name = self.attribute.name + (f".{self.sub_attribute.name}" if self.sub_attribute else "")
        return f"{self.urn}:{name}" if self.extension else name


# --- limits -----------------------------------------------------------------------------------


def check_limits(body: Any, limits: Limits = DEFAULT_LIMITS) -> None:
    """Reject absurd input before looking at it: depth, value count, string length."""
    stack: list[tuple[Any, int]] = [(body, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > limits.max_values:
            raise InvalidValue("The request holds too many values.")
        if depth > limits.max_depth:
            raise InvalidValue("The request is nested too deeply.")
        if isinstance(value, str):
            if len(value) > limits.max_string_length:
                raise InvalidValue(f"A string is longer than {limits.max_string_length} characters.")
            if "\x00" in value:
                raise InvalidValue("A string contains a NUL character.")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((item, depth + 1) for item in value)


# --- scalars ----------------------------------------------------------------------------------


def _bad(label: str, expected: str) -> InvalidValue:
    return InvalidValue(f"Attribute '{label}' must be {expected}.")


def _boolean(value: Any, label: str) -> bool:
    """A JSON ``true``/``false`` (RFC 7643 2.3.2); IdPs that send strings have their dialect convert them."""
    if isinstance(value, bool):
        return value
    raise _bad(label, "a boolean (true or false)")


def _integer(value: Any, label: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise _bad(label, "an integer")


def _decimal(value: Any, label: str) -> int | float:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
    elif isinstance(value, str) and len(value) < 64:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise _bad(label, "a decimal number")


def _datetime(value: Any, label: str) -> str:
    if isinstance(value, str) and _RFC3339.fullmatch(value.strip()):
        try:
            datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return value.strip()
    raise _bad(label, "an RFC 3339 dateTime")


def _string(value: Any, label: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    raise _bad(label, "a string")


def coerce_scalar(attribute: Attribute, value: Any, label: str) -> Any:
    """Coerce one simple value to ``attribute``'s type (RFC 7643 section 2.3); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    kind = attribute.type
    if kind is AttributeType.BOOLEAN:
        return _boolean(value, label)
    if kind is AttributeType.INTEGER:
        return _integer(value, label)
    if kind is AttributeType.DECIMAL:
        return _decimal(value, label)
    if kind is AttributeType.DATETIME:
        return _datetime(value, label)
    result = _string(value, label)
    return attribute.canonical_value(result) if attribute.canonical_values else result


# --- complex and multi-valued -----------------------------------------------------------------


def coerce_complex(attribute: Attribute, value: Any, label: str, ignored: list[str]) -> dict[str, Any] | None:
    """One complex value: sub-attributes renamed to the schema's spelling and typed.

    A bare scalar becomes ``{"value": scalar}`` when the attribute has a
    ``value`` sub-attribute (Entra's ``manager`` as a string, bare member ids).
    Returns ``None`` when nothing is left.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        if attribute.sub_attribute("value") is None or isinstance(value, list | bool):
            raise _bad(label, "an object")
        value = {"value": value}
    item = dict(value)
    result: dict[str, Any] = {}
    for key, sub_value in item.items():
        sub = attribute.sub_attribute(key) if isinstance(key, str) else None
        if sub is None:
            ignored.append(f"{label}.{key}")
            continue
        coerced = coerce_scalar(sub, sub_value, f"{label}.{sub.name}")
        if coerced is not None:
            result[sub.name] = coerced
    return result or None


def fix_primary(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most one ``primary: true`` (RFC 7643 section 2.4): the first one wins, later flags are dropped."""
    seen = False
    for item in items:
        if item.get("primary") is True:
            if seen:
                del item["primary"]
            seen = True
    return items


def coerce_multi(attribute: Attribute, value: Any, label: str, ignored: list[str]) -> list[Any] | None:
    """A multi-valued attribute: a single value is wrapped, nulls dropped; ``None`` when empty."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    result: list[Any] = []
    for item in items:
        if attribute.is_complex:
            coerced = coerce_complex(attribute, item, label, ignored)
        else:
            coerced = coerce_scalar(attribute, item, label)
        if coerced is not None:
            result.append(coerced)
    if attribute.is_complex:
        fix_primary(result)
    return result or None


def coerce_value(attribute: Attribute, value: Any, label: str, ignored: list[str]) -> Any:
    """Coerce a whole attribute value per its definition; ``None`` means "no value".

    A single-valued complex attribute given a one-element list is unwrapped;
    given several values it is a 400 ``invalidValue``.
    """
    if attribute.multi_valued:
        return coerce_multi(attribute, value, label, ignored)
    if attribute.is_complex:
        if isinstance(value, list):
            value = [v for v in value if v is not None]
            if len(value) > 1:
                raise _bad(label, "a single value")
            value = value[0] if value else None
        return coerce_complex(attribute, value, label, ignored)
    return coerce_scalar(attribute, value, label)


def member_ids(value: Any, label: str = MEMBERS) -> list[str]:
    """Member ids from ``[{"value": id, "display": ..}]``, ``{"Value": id}`` or bare ids, in order, deduplicated."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    for item in items:
        if item is None:
            continue
        member = item
        if isinstance(item, Mapping):
            member = next((v for k, v in item.items() if isinstance(k, str) and k.lower() == "value"), None)
        if isinstance(member, int) and not isinstance(member, bool):
            member = str(member)
        if not isinstance(member, str) or not member.strip():
            raise InvalidValue(f"Each of '{label}' needs a 'value' holding the member id.")
        if member not in ids:
            ids.append(member)
    return ids


# --- names ------------------------------------------------------------------------------------


def _resolve_in(resource_type: ResourceType, name: str, urn: str | None) -> Target | None:
    head, _, sub_name = name.partition(".")
    found = resource_type.find_attribute(head, urn)
    if found is None:
        return None
    schema_urn, attribute, extension = found
    if not sub_name:
        return Target(schema_urn, attribute, None, extension)
    sub = attribute.sub_attribute(sub_name)
    if sub is None or "." in sub_name:
        return None
    return Target(schema_urn, attribute, sub, extension)


def resolve_name(resource_type: ResourceType, name: str) -> Target | str | None:
    """Resolve a body key or no-path PATCH key (RFC 7644 section 3.10 attribute notation).

    Returns a :class:`Target`; the extension URN itself when ``name`` names a
    whole extension; ``None`` when unknown.  Names may carry a schema URN
    prefix (``:`` or ``.`` separated, matched leniently); unprefixed names are
    looked up in the core schema, then in the extensions.
    """
    if not name:
        return None
    whole = match_urn(name, [e.id for e in resource_type.extensions])
    if whole is not None:
        return whole
    split = split_urn_prefix(name, resource_type.schema_urns)
    if split is None:
        return _resolve_in(resource_type, name, None)
    urn, rest = split
    return _resolve_in(resource_type, rest, urn) if rest else None


# --- whole resources --------------------------------------------------------------------------


def _check_schemas(body: Mapping[str, Any], resource_type: ResourceType, ignored: list[str]) -> None:
    """``schemas`` may be absent; when present it must list the core schema (RFC 7643 section 3)."""
    key = next((k for k in body if isinstance(k, str) and k.lower() == "schemas"), None)
    if key is None or body[key] is None:
        return
    schemas = body[key]
    if isinstance(schemas, str):
        schemas = [schemas]
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidSyntax("'schemas' must be a list of schema URNs.")
    if not any(match_urn(s, [resource_type.schema.id]) for s in schemas):
        raise InvalidSyntax(f"'schemas' must contain {resource_type.schema.id}.")
    known = resource_type.schema_urns
    ignored.extend(s for s in schemas if match_urn(s, known) is None)


class _Builder:
    """Accumulates canonical attributes, the password and member ids."""

    def __init__(self, resource_type: ResourceType) -> None:
        self.resource_type = resource_type
        self.resource: dict[str, Any] = {}
        self.ignored: list[str] = []
        self.password: str | None = None
        self.members: list[str] | None = None

    def add_key(self, key: Any, value: Any) -> None:
        if not isinstance(key, str) or key.lower() == "schemas":
            return
        target = resolve_name(self.resource_type, key)
        if target is None:
            self.ignored.append(key)
        elif isinstance(target, str):
            self.add_extension(target, value)
        else:
            self.set(target, value)

    def add_extension(self, urn: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            raise InvalidValue(f"'{urn}' must be an object.")
        for key, item in value.items():
            if not isinstance(key, str):
                continue
            target = resolve_name(self.resource_type, f"{urn}:{key}")
            if isinstance(target, Target):
                self.set(target, item)
            else:
                self.ignored.append(f"{urn}:{key}")

    def set(self, target: Target, value: Any) -> None:
        attribute = target.attribute
        if attribute.read_only:
            return
        if not target.extension and attribute.name == PASSWORD:
            self.password = coerce_scalar(attribute, value, PASSWORD)
            return
        if not target.extension and attribute.name == MEMBERS and self.resource_type.schema.attribute(MEMBERS):
            self.members = member_ids(value)
            return
        container = self.resource.setdefault(target.urn, {}) if target.extension else self.resource
        if target.sub_attribute is None:
            coerced = coerce_value(attribute, value, target.label, self.ignored)
            _store(container, attribute.name, coerced)
            return
        if attribute.multi_valued:
            self.ignored.append(target.label)
            return
        coerced = coerce_scalar(target.sub_attribute, value, target.label)
        parent = container.get(attribute.name)
        parent = dict(parent) if isinstance(parent, dict) else {}
        _store(parent, target.sub_attribute.name, coerced)
        _store(container, attribute.name, parent or None)


def _store(container: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        container.pop(name, None)
    else:
        container[name] = value


def finish_schemas(resource: dict[str, Any], resource_type: ResourceType) -> dict[str, Any]:
    """Drop empty extension objects and recompute ``schemas`` (core first, then extensions present)."""
    schemas = [resource_type.schema.id]
    for extension in resource_type.extensions:
        if resource.get(extension.id):
            schemas.append(extension.id)
        else:
            resource.pop(extension.id, None)
    resource["schemas"] = schemas
    return resource


def check_required(resource: Mapping[str, Any], resource_type: ResourceType) -> None:
    """Core required attributes must have a non-empty value (RFC 7643 section 2.2 ``required``)."""
    for attribute in resource_type.schema.attributes:
        if not attribute.required:
            continue
        value = resource.get(attribute.name)
        if value is None or (isinstance(value, str) and not value.strip()) or value in ([], {}):
            raise InvalidValue(f"Attribute '{attribute.name}' is required.")


def normalize_resource(
    body: Any,
    resource_type: ResourceType,
    *,
    extensions: Sequence[Schema] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> NormalizedResource:
    """Canonicalise a POST/PUT body (RFC 7644 sections 3.3 and 3.5.1).

    ``extensions`` are host-declared schemas added to ``resource_type``'s own.
    Raises only :class:`~scim_portal.exceptions.ScimError` subclasses: 400
    ``invalidSyntax`` for a non-object body or a ``schemas`` list without the
    core URN, 400 ``invalidValue`` for a wrong type, a missing required
    attribute or input over ``limits``.
    """
    if not isinstance(body, Mapping):
        raise InvalidSyntax("The request body must be a JSON object.")
    check_limits(body, limits)
    if len(body) > limits.max_attributes:
        raise InvalidValue("The request has too many attributes.")
    resource_type = resource_type.with_extensions(extensions)
    builder = _Builder(resource_type)
    _check_schemas(body, resource_type, builder.ignored)
    for key, value in body.items():
        builder.add_key(key, value)
    resource = finish_schemas(builder.resource, resource_type)
    check_required(resource, resource_type)
    return NormalizedResource(resource, builder.password, builder.ignored, builder.members)
