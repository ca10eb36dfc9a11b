"""Shared by the management commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.management.base import CommandError

if TYPE_CHECKING:
    from scim_portal.models import Integration


def integration_by_slug(slug: str) -> Integration:
    """The integration with ``slug`` (its service account read with it), or a ``CommandError``
    that names the known slugs and says how to create it."""
    from scim_portal.models import Integration

    try:
        return Integration.objects.select_related("service_account").get(slug=slug)
    except Integration.DoesNotExist:
        known = ", ".join(Integration.objects.order_by("slug").values_list("slug", flat=True)[:20]) or "none"
        raise CommandError(
            f"No integration with slug '{slug}' (known: {known}). Create it first, e.g.: manage.py "
            f"scim_integration create --slug {slug} --name '{slug}' --provider okta|entra|generic "
            "--service-account USERNAME --create-service-account"
        ) from None
