"""Microsoft Entra ID.

Sources: Microsoft's "Tutorial: Develop and plan provisioning for a SCIM endpoint"
(use-scim-to-provision-users-and-groups) and "Known issues and resolutions with SCIM 2.0
protocol compliance" (application-provisioning-config-problem-scim-compatibility), both in
MicrosoftDocs/entra-docs under docs/identity/app-provisioning/.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from scim_portal.exceptions import ScimError
from scim_portal.idp.base import Dialect
from scim_portal.scim.filters import MAX_FILTER_LENGTH, parse_path
from scim_portal.scim.normalize import Target, member_ids, resolve_name
from scim_portal.scim.patch import Operation
from scim_portal.scim.schema import Attribute, AttributeType, ResourceType


class EntraDialect(Dialect):
    """Entra's provisioning service, with and without the ``aadOptscim062020`` flag."""

    name = "entra"
    label = "Microsoft Entra ID"
    # "Group PATCH should return 204" (returning the member list is "not advisable"): the
    # RFC default of the base dialect.
    unique_identifier = "userName"
    # Entra always sends mail, givenName and surname for a properly mapped user; requiring
    # them turns a broken attribute mapping into a clear 400 instead of a nameless account.
    required_user_attributes = ("emails", "name.givenName", "name.familyName")
    attribute_labels = {"emails": "mail", "name.givenName": "givenName", "name.familyName": "surname"}
    auth_mode_hint = "Secret Token (bearer)"
    # OAuth: the base defaults (machine grant, no redirect URI). Non-gallery apps take a
    # long-lived bearer token; Entra's OAuth grants exist for gallery apps only, and Okta's
    # callback URLs mean nothing to Entra.

    def prepare_resource(self, body: Any, resource_type: ResourceType) -> Any:
        return entra_body(body, resource_type)

    def patch_operation(self, operation: Operation, resource_type: ResourceType) -> list[Operation]:
        return entra_operation(operation, resource_type)


def entra_operation(operation: Operation, resource_type: ResourceType) -> list[Operation]:
    """Entra's PATCH shapes (the "Known issues" page lists each) rewritten into RFC 7644 3.5.2."""
    operation = lowercase_op(operation)
    operation = entra_values_in_operation(operation, resource_type)
    return [replace_creates_typed_value(each) for each in remove_by_value(operation, resource_type)]


def lowercase_op(operation: Operation) -> Operation:
    """``"op": "Replace"`` / ``"Add"`` / ``"Remove"`` (without ``aadOptscim062020``)."""
    return replace(operation, op=operation.op.strip().lower())


def replace_creates_typed_value(operation: Operation) -> Operation:
    """``Replace emails[type eq "work"].value`` for a user without a work email means "set it".

    RFC 7644 3.5.2.3 answers noTarget when the filter matches nothing; ``add`` on the same
    path creates ``{"type": "work", "value": ...}`` and edits it when present, which is what
    Entra means.
    """
    path = operation.path or ""
    if operation.op == "replace" and "]." in path:
        return replace(operation, op="add")
    return operation


#: Values per filtered remove: Entra lists every member it removes in one operation, and
#: a path holds at most ``MAX_FILTER_LENGTH`` characters (50 UUIDs take about 2,500).
REMOVE_BATCH = 50


def remove_by_value(operation: Operation, resource_type: ResourceType) -> list[Operation]:
    """``Remove`` path ``members`` with ``value: [{"value": id}, ...]`` removes only those values.

    Read per RFC 7644 3.5.2.2 it would remove them all (servers that did so emptied
    groups); Entra means ``members[value eq "a" or value eq "b"]``, one such remove per
    batch of values so that no path outgrows ``MAX_FILTER_LENGTH``.
    """
    if operation.op != "remove" or not operation.path or "[" in operation.path:
        return [operation]
    if operation.value in (None, [], {}):
        return [replace(operation, value=None, has_value=False)]
    attribute = _attribute_at(operation.path, resource_type)
    if attribute is None or not attribute.multi_valued:
        return [operation]
    path = operation.path.strip()
    ids = member_ids(operation.value, path)
    if not ids:
        return [operation]  # only nulls: the engine refuses a remove with a value
    batches: list[list[str]] = [[]]
    length = len(path) + 2  # the path and its brackets
    for value in ids:
        condition = f"value eq {json.dumps(value)}"
        batch = batches[-1]
        if batch and (len(batch) == REMOVE_BATCH or length + 4 + len(condition) > MAX_FILTER_LENGTH):
            batch = []
            batches.append(batch)
            length = len(path) + 2
        length += len(condition) + (4 if batch else 0)  # " or " between conditions
        batch.append(condition)
    return [Operation("remove", f"{path}[{' or '.join(batch)}]") for batch in batches]


# -- booleans as strings, JSON-encoded app roles -----------------------------------------------

#: Multi-valued attributes whose ``value`` Entra may send as a JSON-encoded object (app roles).
JSON_VALUE_ATTRIBUTES = frozenset({"roles", "entitlements"})


def entra_values_in_operation(operation: Operation, resource_type: ResourceType) -> Operation:
    """An operation's value through :func:`entra_value`: ``{"op": "Replace", "path": "active",
    "value": "False"}`` (without ``aadOptscim062020``), app roles added as JSON text."""
    if not operation.has_value:
        return operation
    if operation.path is None:
        return replace(operation, value=entra_body(operation.value, resource_type))
    attribute = _attribute_at(operation.path, resource_type, sub=True)
    if attribute is None:
        return operation
    return replace(operation, value=entra_value(operation.value, attribute))


def entra_body(body: Any, resource_type: ResourceType) -> Any:
    """A POST/PUT body (or no-path PATCH value) with each attribute through :func:`entra_value`."""
    if not isinstance(body, Mapping):
        return body
    result: dict[Any, Any] = {}
    for key, value in body.items():
        target = resolve_name(resource_type, key) if isinstance(key, str) else None
        if isinstance(target, Target):
            value = entra_value(value, target.sub_attribute or target.attribute)
        elif isinstance(target, str) and isinstance(value, Mapping):
            value = {k: entra_value(v, found.sub_attribute or found.attribute)
                     if isinstance(k, str) and isinstance(found := resolve_name(resource_type, f"{target}:{k}"), Target)
                     else v for k, v in value.items()}
        result[key] = value
    return result


def entra_value(value: Any, attribute: Attribute) -> Any:
    """One attribute's value in RFC shape.

    * ``"active": "True"``, ``"primary": "true"`` (Microsoft's own test suite) as JSON booleans;
    * an app role, ``{"value": "{\\"id\\":..,\\"value\\":\\"Admin\\",\\"displayName\\":..}"}``,
      as the decoded fields (``displayName`` read as ``display``).
    """
    if attribute.type is AttributeType.BOOLEAN:
        if isinstance(value, list):
            return [_boolean(v) for v in value]
        return _boolean(value)
    if not attribute.is_complex:
        return value
    if isinstance(value, list):
        return [entra_value(item, attribute) for item in value]
    if attribute.name.lower() in JSON_VALUE_ATTRIBUTES:
        value = _decoded(value)
    if isinstance(value, Mapping):
        return {key: entra_value(item, sub) if isinstance(key, str) and (sub := attribute.sub_attribute(key)) else item
                for key, item in value.items()}
    return value


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _decoded(item: Any) -> Any:
    """An app role item (or bare value) whose ``value`` is a JSON object, as that object's fields."""
    raw = item
    if isinstance(item, Mapping):
        raw = next((v for k, v in item.items() if isinstance(k, str) and k.lower() == "value"), None)
    if not isinstance(raw, str) or not raw.lstrip().startswith("{"):
        return item
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        return item
    if not isinstance(decoded, dict):
        return item
    rest = {}
    if isinstance(item, Mapping):
        rest = {k: v for k, v in item.items() if not (isinstance(k, str) and k.lower() == "value")}
    if "displayName" in decoded and "display" not in decoded:
        decoded["display"] = decoded.pop("displayName")
    return {**rest, **decoded}


def _attribute_at(path: str, resource_type: ResourceType, *, sub: bool = False) -> Attribute | None:
    """The attribute (or, with ``sub``, the sub-attribute) a PATCH path names; ``None`` if unknown."""
    try:
        parsed = parse_path(path, resource_type.schema_urns)
    except ScimError:
        return None
    found = resource_type.find_attribute(parsed.attribute, parsed.urn)
    if found is None:
        return None
    attribute = found[1]
    if sub and parsed.sub_attribute is not None:
        return attribute.sub_attribute(parsed.sub_attribute)
    return attribute
