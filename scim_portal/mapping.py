"""The declarative map between SCIM user attributes and the host's user fields.

``SCIM_PORTAL["USER_ATTRIBUTE_MAP"]`` maps a SCIM attribute path to a field of
the host's user model, e.g.::

    {
        "userName": "email",
        "name.givenName": "first_name",
        "name.familyName": "last_name",
        "active": "is_active",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "department",
    }

The special path ``"emails"`` stands for the primary (else first) email's value.
Attributes without a host field are kept verbatim on the SCIM identity row, so
everything an IdP sends reads back unchanged.  When the setting is ``None`` a
map is derived from the user model (``USERNAME_FIELD``, ``get_email_field_name()``,
``first_name``, ``last_name``, ``is_active`` when present).

A configured map replaces the derived one, except for ``active``: switching a
person off is the write path's job, not the map's, so a map that leaves
``active`` out still binds it to the model's ``is_active`` field (the flag
Django's login refuses).  A map may bind ``active`` to another field on purpose.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist

URN_SEPARATOR = ":"
EMAILS = "emails"
ACTIVE = "active"


@dataclass(frozen=True)
class AttributePath:
    """A SCIM attribute path split into schema URN (or ``None`` for core), attribute, sub-attribute."""

    urn: str | None
    attribute: str
    sub_attribute: str | None = None

    @classmethod
    def parse(cls, path: str) -> AttributePath:
        urn = None
        if path.lower().startswith("urn:"):
            urn, _, path = path.rpartition(URN_SEPARATOR)
        attribute, _, sub = path.partition(".")
        return cls(urn=urn, attribute=attribute, sub_attribute=sub or None)

    def container(self, document: dict[str, Any], *, create: bool = False) -> dict[str, Any] | None:
        """The dict holding this attribute (the extension object for URN paths)."""
        if self.urn is None:
            return document
        if create:
            return document.setdefault(self.urn, {})
        value = document.get(self.urn)
        return value if isinstance(value, dict) else None

    def get(self, document: dict[str, Any]) -> Any:
        holder = self.container(document)
        if holder is None:
            return None
        if self.attribute == EMAILS and self.urn is None:
            return primary_value(holder.get(EMAILS))
        value = holder.get(self.attribute)
        if self.sub_attribute is None:
            return value
        return value.get(self.sub_attribute) if isinstance(value, dict) else None

    def set(self, document: dict[str, Any], value: Any) -> None:
        holder = self.container(document, create=True)
        assert holder is not None
        if self.attribute == EMAILS and self.urn is None:
            set_primary_value(holder, value)
        elif self.sub_attribute is None:
            _assign(holder, self.attribute, value)
        else:
            child = holder.setdefault(self.attribute, {})
            _assign(child, self.sub_attribute, value)
            if not child:
                holder.pop(self.attribute, None)


def _assign(holder: dict[str, Any], key: str, value: Any) -> None:
    if value is None or value == "":
        holder.pop(key, None)
    else:
        holder[key] = value


def primary_entry(values: Any) -> dict[str, Any] | None:
    """The ``primary`` entry of a multi-valued attribute, else the first (RFC 7643 2.4)."""
    if not isinstance(values, list) or not values:
        return None
    entries = [v for v in values if isinstance(v, dict)]
    for entry in entries:
        if entry.get("primary") is True:
            return entry
    return entries[0] if entries else None


def primary_value(values: Any) -> Any:
    entry = primary_entry(values)
    return entry.get("value") if entry else None


def set_primary_value(holder: dict[str, Any], value: Any) -> None:
    entry = primary_entry(holder.get(EMAILS))
    if entry is not None:
        if value:
            entry["value"] = value
        else:
            holder[EMAILS] = [e for e in holder[EMAILS] if e is not entry] or None
            if holder[EMAILS] is None:
                holder.pop(EMAILS)
    elif value:
        holder[EMAILS] = [{"value": value, "type": "work", "primary": True}]


class AttributeMap:
    """SCIM attribute paths bound to host user fields."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.fields: dict[str, str] = dict(mapping)
        if not any(path.lower() == ACTIVE for path in self.fields):
            # Deactivation must end the login whatever the host mapped (see the module docstring).
            active_field = host_active_field()
            if active_field is not None:
                self.fields[ACTIVE] = active_field
        self.paths = {path: AttributePath.parse(path) for path in self.fields}

    def __iter__(self) -> Iterator[tuple[AttributePath, str]]:
        for path, field_name in self.fields.items():
            yield self.paths[path], field_name

    def field_for(self, path: str) -> str | None:
        """The host field of a SCIM path, compared without regard to case."""
        wanted = path.lower()
        for candidate, field_name in self.fields.items():
            if candidate.lower() == wanted:
                return field_name
        return None

    def to_host(self, document: dict[str, Any]) -> dict[str, Any]:
        """Host field values carried by a SCIM document."""
        values: dict[str, Any] = {}
        for path, field_name in self:
            value = path.get(document)
            values[field_name] = _host_value(field_name, value)
        return values

    def overlay(self, document: dict[str, Any], user: Any) -> dict[str, Any]:
        """The document with mapped attributes read from the host user (the portal may edit them).

        ``document`` is not changed.  The result shares the parts the host user does not
        change with it: an attribute is copied only before a host value is written into it
        (a page of 100 users used to deep-copy 100 documents that were then only read).
        """
        result = dict(document)
        copied: set[str] = set()
        for path, field_name in self:
            current = getattr(user, field_name, None)
            stored = path.get(result)
            # An empty or false host value is no value when the document holds none: a removed
            # "active" reads as unassigned (RFC 7644 3.5.2.2), not as false.
            if stored != current and not ((current in ("", None) or current is False) and stored is None):
                key = path.urn or path.attribute
                if key not in copied:
                    if key in result:
                        result[key] = copy.deepcopy(result[key])
                    copied.add(key)
                path.set(result, current)
        return result


def _host_value(field_name: str, value: Any) -> Any:
    model = get_user_model()
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return value
    if value is None and not field.null:
        if field.get_internal_type() == "BooleanField":
            return False
        return ""
    return value


def host_active_field() -> str | None:
    """The user model's concrete boolean ``is_active`` field, which Django's ``ModelBackend``
    refuses to log in when false; ``None`` when the model has none."""
    try:
        field = get_user_model()._meta.get_field("is_active")
    except FieldDoesNotExist:
        return None
    if getattr(field, "concrete", False) and field.get_internal_type() == "BooleanField":
        return field.name
    return None


def default_user_attribute_map() -> dict[str, str]:
    """A map derived from the host user model."""
    model = get_user_model()
    names = {f.name for f in model._meta.get_fields()}
    mapping = {"userName": model.USERNAME_FIELD}
    email_field = model.get_email_field_name()
    if email_field in names and email_field != model.USERNAME_FIELD:
        mapping[EMAILS] = email_field
    for path, field_name in (
        ("name.givenName", "first_name"),
        ("name.familyName", "last_name"),
        ("active", "is_active"),
    ):
        if field_name in names:
            mapping[path] = field_name
    return mapping
