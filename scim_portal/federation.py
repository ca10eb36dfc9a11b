"""Federated fields: what the IdP owns is read-only in the portal.

``FederatedFieldsFormMixin`` disables, on any ModelForm of the user model, the
fields mapped from SCIM while the user is managed by an enabled integration.
``FederatedAdminMixin`` does the same in the host's user admin and shows which
integration owns an account.  :func:`touch_scim_identity` moves the SCIM
``meta.version`` and ``lastModified`` (RFC 7643 3.1) when a mapped field is
changed outside SCIM, so an IdP never reads new values under an old version.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from scim_portal.adapter import get_adapter
from scim_portal.models.query import unique_row

#: Host user fields no attribute map carries: saving only these never touches SCIM.
NEVER_MAPPED = frozenset({"last_login", "password"})


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
    """Host field names written by the integration of a SCIM identity (``None``: none).

    A disabled integration owns nothing: with SCIM switched off the portal manages the account.
    """
    if identity is None or not identity.integration.enabled:
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
    """For the host's user admin: IdP-owned fields are read-only for managed users.

    ::

        class UserAdmin(FederatedAdminMixin, ScimHistoryAdminMixin, BaseUserAdmin): ...

    On the change page of a user an enabled integration manages, the fields the
    integration writes (its attribute map within its writable-attribute
    allow-list) are shown, not edited, and a "Managed by" line names the
    integration; portal-only users, and fields outside the allow-list, stay
    editable.  Override :meth:`may_edit_federated_fields` to let some admins
    (superusers, say) repair a broken sync: their edits move the SCIM version.
    """

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "scim_managed_by"]  # type: ignore[misc]
        if obj is not None and not self.may_edit_federated_fields(request, obj):
            readonly += [name for name in federated_fields(obj) if name not in readonly]
        return readonly

    def may_edit_federated_fields(self, request: HttpRequest, obj: Any) -> bool:
        """Whether this admin may change the IdP-owned fields of ``obj``. Default: nobody."""
        return False

    @admin.display(description=_("Managed by"))
    def scim_managed_by(self, obj: Any) -> str:
        identity = scim_identity(obj)
        if identity is None:
            return "-"
        if not identity.integration.enabled:
            return format_html("{} (SCIM userName <code>{}</code>; the integration is disabled, the portal "
                               "manages every field)", identity.integration, identity.user_name)
        return format_html(
            "{} (SCIM userName <code>{}</code>; fields {} are written by the IdP)",
            identity.integration, identity.user_name, ", ".join(owned_fields(identity)),
        )


def touch_scim_identity(sender: Any, instance: Any, created: bool = False, raw: bool = False,
                        update_fields: Any = None, **kwargs: Any) -> None:
    """``post_save`` receiver of the host user model (connected in ``AppConfig.ready``).

    A save outside a SCIM request (the admin, the shell, the portal's views) that
    changed a mapped field bumps the SCIM identity's version and ``lastModified``
    and stores the new values in its document, so the next comparison starts
    from them.  Costs nothing for saves of unmapped fields only (``update_fields``),
    one indexed read for other saves, and one update when something changed.
    """
    from scim_portal.history import current_change

    if created or raw or current_change() is not None:
        return  # a SCIM write versions its own changes
    if update_fields is not None and set(update_fields) <= NEVER_MAPPED:
        return
    identity = scim_identity(instance)
    if identity is None:
        return
    mapping = get_adapter().user_attribute_map(identity.integration)
    if update_fields is not None and not set(update_fields) & set(mapping.fields.values()):
        return
    document = mapping.overlay(identity.document, instance)
    if document != identity.document:
        from scim_portal.mapping import EMAILS, primary_value
        from scim_portal.models.resources import fold

        identity.document = document
        identity.email_key = fold(primary_value(document.get(EMAILS)))
        identity.bump()
        identity.save(update_fields=["document", "email_key", "version", "last_modified"])
