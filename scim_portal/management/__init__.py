"""Shared by the management commands."""

from __future__ import annotations

from django.core.management.base import CommandError


def integration_by_slug(slug: str):
    """The integration with ``slug``, or a ``CommandError`` that says how to create it."""
    from scim_portal.models import Integration

    try:
        return Integration.objects.get(slug=slug)
    except Integration.DoesNotExist:
        raise CommandError(
            f"No integration with slug '{slug}'. Create it first, e.g.: manage.py scim_integration create "
            f"--slug {slug} --name '{slug}' --provider okta|entra|generic --service-account USERNAME "
            "--create-service-account  (list existing ones: manage.py scim_integration list)."
        ) from None
