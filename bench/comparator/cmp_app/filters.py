"""django-scim2's user filter parser, extended the documented way with two more attributes."""

from __future__ import annotations

from django_scim.filters import UserFilterQuery as BaseUserFilterQuery


class UserFilterQuery(BaseUserFilterQuery):
    attr_map = {
        **BaseUserFilterQuery.attr_map,
        ("externalId", None, None): "scim_external_id",
        ("emails", "value", None): "email",
        ("emails", "type", None): None,
    }
