"""Federated fields: what the IdP owns is read-only for the person in the portal.

``FederatedFieldsFormMixin`` disables, on any ModelForm of the user model, the
fields mapped from SCIM while the user is managed by an active integration.
``FederatedAdminMixin`` shows portal admins which integration owns an account
(admins keep full control, so they can repair a broken sync).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from scim_portal.adapter import get_adapter
from scim_portal.models.query import unique_row


def scim_identity(user: Any):
    """The user's SCIM identity, or None for a portal-only account."""
    from scim_portal.models import ScimUser

    if user is None or user.pk is None:
        return None
    return unique_row(ScimUser.objects.select_related("integration").filter(user=user, deleted_at=None))


def federated_fields(user: Any) -> list[str]:
    """Host field names the user's IdP writes (empty when no integration manages the user).

    Fields outside the integration's writable-attribute allow-list stay the user's.
    """
    return owned_fields(scim_identity(user))


def owned_fields(identity: Any) -> list[str]:
    """Host field names written by the integration of a SCIM identity (``None``: none)."""
    if identity is None:
        return []
    from scim_portal.policies import writable

    integration = identity.integration
    mapping = get_adapter().user_attribute_map(integration)
    return [field for path, field in mapping if field != "is_active" and writable(integration, path)]


class FederatedFieldsFormMixin:
    """Put first in a user ModelForm's bases: IdP-owned fields become disabled (and ignored on POST)."""

    fields: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owned = set(federated_fields(getattr(self, "instance", None)))
        for name in owned & set(self.fields):
            field = self.fields[name]
            field.disabled = True
            field.help_text = _("Managed by your organisation's identity provider.")


class FederatedAdminMixin:
    """Adds a read-only "Managed by" line to a user admin."""

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "scim_managed_by"]  # type: ignore[misc]

    @admin.display(description=_("Managed by"))
    def scim_managed_by(self, obj: Any) -> str:
        identity = scim_identity(obj)
        if identity is None:
            return "-"
        return format_html(
            "{} (SCIM userName <code>{}</code>; fields {} are written by the IdP)",
            identity.integration, identity.user_name, ", ".join(owned_fields(identity)),
        )
