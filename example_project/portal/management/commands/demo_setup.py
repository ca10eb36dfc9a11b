"""Prepare the example portal for a demo: an admin login, a licence, a demo Okta
integration with its service account, and a fresh token (printed once)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from portal.models import Licence
from scim_portal.models import IdentityProvider, Integration, ScimToken

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin"
DEMO_TOKEN = "demo token"


class Command(BaseCommand):
    help = "Create the demo admin, licence, Okta integration and a new SCIM token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000/scim/v2/")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if not User.objects.filter(email=ADMIN_EMAIL).exists():
            User.objects.create_superuser(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        Licence.objects.get_or_create(name="Standard", defaults={"seats": 100})
        service, _ = User.objects.get_or_create(
            email="scim-okta@example.com", defaults={"first_name": "SCIM", "last_name": "Okta"}
        )
        service.set_unusable_password()
        service.save()
        integration, _ = Integration.objects.get_or_create(
            slug="okta-demo",
            defaults={"name": "Okta (demo)", "provider": IdentityProvider.OKTA, "service_account": service,
                      "default_grant": "Standard"},
        )
        # Each demo start prints a fresh token; the previous demo tokens are revoked so
        # restarting never runs into the active-token limit.
        for old in ScimToken.objects.filter(integration=integration, description=DEMO_TOKEN, revoked_at=None):
            old.revoke()
        issued = ScimToken.issue(integration, description=DEMO_TOKEN)
        site = options["base_url"].split("/scim/")[0]
        self.stdout.write(
            "\n".join([
                "",
                "Example portal ready.",
                f"  SCIM base URL : {options['base_url']}",
                f"  Bearer token  : {issued.raw}   (shown once; make another with"
                " `python example_project/manage.py scim_token create --integration okta-demo`)",
                f"  Admin login   : {site}/admin/  {ADMIN_EMAIL} / {ADMIN_PASSWORD}",
                f"  Try it        : curl -H 'Authorization: Bearer {issued.raw}' "
                f"{options['base_url']}ServiceProviderConfig",
                "",
            ])
        )
