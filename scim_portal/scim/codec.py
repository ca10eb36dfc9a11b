"""Request bodies in, canonical documents out: the provisioning layer's view of the SCIM engine.

This module binds :mod:`scim_portal.scim.normalize` and :mod:`scim_portal.scim.patch`
to the live settings (host extension schemas, PATCH operation limit), so the
write path never has to know about either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim_portal.conf import app_settings
from scim_portal.scim import schema
from scim_portal.scim.normalize import NormalizedResource, normalize_resource
from scim_portal.scim.patch import MembershipDelta, PatchResult, apply_patch

__all__ = [
    "MembershipDelta",
    "NormalizedResource",
    "PatchResult",
    "group_from_body",
    "group_resource_type",
    "members_of",
    "patch_group",
    "patch_user",
    "user_extensions",
    "user_from_body",
    "user_resource_type",
]


def user_extensions() -> list[schema.Schema]:
    """The host's ``EXTENSION_SCHEMAS`` (the enterprise extension is built into ``schema.USER``)."""
    return [schema.Schema.from_scim(document) for document in app_settings.EXTENSION_SCHEMAS]


def user_resource_type() -> schema.ResourceType:
    """``User`` with the enterprise extension and the host's ``EXTENSION_SCHEMAS``."""
    return schema.USER.with_extensions(user_extensions())


def group_resource_type() -> schema.ResourceType:
    return schema.GROUP


def user_from_body(body: Any) -> NormalizedResource:
    """A POST/PUT ``User`` body as a canonical document (400 on anything malformed)."""
    return normalize_resource(body, schema.USER, extensions=user_extensions())


def group_from_body(body: Any) -> NormalizedResource:
    """A POST/PUT ``Group`` body as a canonical document plus its member ids."""
    return normalize_resource(body, schema.GROUP)


def members_of(incoming: NormalizedResource) -> MembershipDelta:
    """PUT/POST membership: a ``members`` list replaces; no ``members`` key leaves membership alone."""
    if incoming.members is None:
        return MembershipDelta()
    return MembershipDelta(replace=list(incoming.members))


def patch_user(current: Mapping[str, Any], body: Any) -> PatchResult:
    """Apply a ``PatchOp`` to a user's current canonical document."""
    return apply_patch(
        current, body, schema.USER, extensions=user_extensions(), max_operations=app_settings.MAX_OPERATIONS
    )


def patch_group(current: Mapping[str, Any], body: Any) -> PatchResult:
    """Apply a ``PatchOp`` to a group's document (members come back as a delta, never loaded)."""
    return apply_patch(current, body, schema.GROUP, max_operations=app_settings.MAX_OPERATIONS)
