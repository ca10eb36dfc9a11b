"""``manage.py scim_token create|list|revoke``: operate SCIM tokens from a shell or script.

``create`` prints only the raw token on stdout, so ``TOKEN=$(manage.py scim_token create ...)``
works; everything else goes to stderr.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from scim_portal.models import Integration, ScimToken


class Command(BaseCommand):
    help = "Create, list or revoke SCIM bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Issue a token; prints only the raw token.")
        create.add_argument("--integration", required=True, help="Integration slug.")
        create.add_argument("--description", default="")
        create.add_argument("--expires", help="ISO 8601 date-time after which the token stops working.")
        listing = sub.add_parser("list", help="List tokens (prefixes and status only).")
        listing.add_argument("--integration", help="Integration slug.")
        listing.add_argument("--json", action="store_true", help="Machine-readable output.")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    def integration(self, slug: str) -> Integration:
        try:
            return Integration.objects.get(slug=slug)
        except Integration.DoesNotExist:
            raise CommandError(f"No integration with slug '{slug}'.") from None

    def handle_create(self, options: dict[str, Any]) -> None:
        expires = None
        if options.get("expires"):
            expires = parse_datetime(options["expires"])
            if expires is None:
                raise CommandError("--expires must be an ISO 8601 date-time.")
        issued = ScimToken.issue(
            self.integration(options["integration"]), description=options["description"],
            expires_at=expires,
        )
        self.stderr.write(f"Issued token {issued.token.prefix}… (shown once).")
        self.stdout.write(issued.raw)

    def handle_list(self, options: dict[str, Any]) -> None:
        tokens = ScimToken.objects.select_related("integration").order_by("created")
        if options.get("integration"):
            tokens = tokens.filter(integration=self.integration(options["integration"]))
        rows = [
            {
                "prefix": t.prefix,
                "integration": t.integration.slug,
                "description": t.description,
                "status": "revoked" if t.is_revoked else "expired" if t.is_expired else "active",
                "created": t.created.isoformat(),
                "expires": t.expires_at.isoformat() if t.expires_at else None,
                "last_used": t.last_used_at.isoformat() if t.last_used_at else None,
            }
            for t in tokens
        ]
        if options.get("json"):
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(f"{row['prefix']}…  {row['integration']}  {row['status']}  {row['description']}")

    def handle_revoke(self, options: dict[str, Any]) -> None:
        tokens = list(ScimToken.objects.filter(prefix=options["prefix"].rstrip("…")))
        if len(tokens) != 1:
            raise CommandError(f"{len(tokens)} tokens match prefix '{options['prefix']}'.")
        tokens[0].revoke()
        self.stderr.write(f"Revoked {tokens[0].prefix}….")
