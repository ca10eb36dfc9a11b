"""``manage.py scim_token create|list|rotate|revoke``: operate SCIM tokens from a shell or script.

``create`` and ``rotate`` print only the raw token on stdout, so
``TOKEN=$(manage.py scim_token create ...)`` works; with ``--json`` they print
one JSON object instead.  Messages go to stderr.  Tokens are named by their
prefix (``scim_AbCd1234``), never by their secret.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scim_portal.conf import app_settings
from scim_portal.management import integration_by_slug
from scim_portal.models import ScimToken, Scope
from scim_portal.models.tokens import IssuedToken


def describe(token: ScimToken) -> dict[str, Any]:
    """What may be shown about a token: everything but the secret."""
    return {
        "prefix": token.prefix,
        "integration": token.integration.slug,
        "description": token.description,
        "scopes": sorted(token.scope_set),
        "status": token.status,
        "created": token.created.isoformat(),
        "expires": token.expires_at.isoformat() if token.expires_at else None,
        "last_used": token.last_used_at.isoformat() if token.last_used_at else None,
    }


class Command(BaseCommand):
    help = "Create, list, rotate or revoke SCIM bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Issue a token; prints only the raw token (shown once).")
        create.add_argument("--integration", required=True, help="Integration slug.")
        create.add_argument("--description", default="")
        create.add_argument("--expires", help="ISO 8601 date-time after which the token stops working.")
        create.add_argument("--scopes", default=" ".join(Scope.values),
                            help='Space-separated scopes: "read write" (default) or "read".')
        create.add_argument("--service-account", help="Username of the user changes are attributed to "
                                                      "(default: the integration's service account).")
        create.add_argument("--json", action="store_true", help="Print a JSON object with the token.")
        listing = sub.add_parser("list", help="List tokens (prefixes and status only).")
        listing.add_argument("--integration", help="Integration slug.")
        listing.add_argument("--json", action="store_true", help="Machine-readable output.")
        rotate = sub.add_parser("rotate", help="Issue a successor and retire the token; prints the new token.")
        rotate.add_argument("prefix")
        rotate.add_argument("--grace", type=int, default=None,
                            help="Seconds the old token keeps working (default: TOKEN_ROTATION_GRACE; 0: at once).")
        rotate.add_argument("--json", action="store_true", help="Print a JSON object with the new token.")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")
        revoke.add_argument("--json", action="store_true", help="Print the revoked token's description as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    def token(self, prefix: str) -> ScimToken:
        tokens = list(ScimToken.objects.select_related("integration").filter(prefix=prefix.rstrip("…")))
        if len(tokens) != 1:
            raise CommandError(f"{len(tokens)} tokens match prefix '{prefix}'.")
        return tokens[0]

    def handle_create(self, options: dict[str, Any]) -> None:
        fields = {
            "description": options["description"],
            "expires_at": self.expiry(options.get("expires")),
            "scopes": self.scopes(options["scopes"]),
            "service_account": self.service_account(options.get("service_account")),
        }
        try:
            issued = ScimToken.issue(integration_by_slug(options["integration"]), **fields)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stderr.write(f"Issued token {issued.token.prefix}… (shown once).")
        self.emit(issued, options)

    def handle_list(self, options: dict[str, Any]) -> None:
        tokens = ScimToken.objects.select_related("integration").order_by("created")
        if options.get("integration"):
            tokens = tokens.filter(integration=integration_by_slug(options["integration"]))
        rows = [describe(t) for t in tokens]
        if options.get("json"):
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(f"{row['prefix']}…  {row['integration']}  {row['status']}  "
                              f"{' '.join(row['scopes'])}  {row['description']}")

    def handle_rotate(self, options: dict[str, Any]) -> None:
        old = self.token(options["prefix"])
        grace = options.get("grace")
        seconds = app_settings.TOKEN_ROTATION_GRACE if grace is None else grace
        if seconds < 0:
            raise CommandError("--grace must be 0 or more seconds.")
        try:
            issued = old.rotate(grace=dt.timedelta(seconds=seconds))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        old.refresh_from_db()
        until = f"keeps working until {old.expires_at.isoformat()}" if old.status == "rotated" else "revoked"
        self.stderr.write(f"Rotated {old.prefix}… ({until}); new token {issued.token.prefix}… (shown once).")
        self.emit(issued, options)

    def handle_revoke(self, options: dict[str, Any]) -> None:
        token = self.token(options["prefix"])
        token.revoke()
        self.stderr.write(f"Revoked {token.prefix}….")
        if options.get("json"):
            self.stdout.write(json.dumps(describe(token)))

    def emit(self, issued: IssuedToken, options: dict[str, Any]) -> None:
        if options.get("json"):
            self.stdout.write(json.dumps({**describe(issued.token), "token": issued.raw}))
        else:
            self.stdout.write(issued.raw)

    def expiry(self, value: str | None) -> dt.datetime | None:
        if not value:
            return None
        expires = parse_datetime(value)
        if expires is None:
            raise CommandError("--expires must be an ISO 8601 date-time.")
        return timezone.make_aware(expires) if timezone.is_naive(expires) else expires

    def scopes(self, value: str) -> str:
        words = value.replace(",", " ").split()
        unknown = set(words) - set(Scope.values)
        if unknown or not words:
            raise CommandError(f"--scopes takes {' and/or '.join(Scope.values)}, not {value!r}.")
        return " ".join(words)

    def service_account(self, username: str | None) -> Any:
        if not username:
            return None
        user_model = get_user_model()
        try:
            return user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"No user '{username}'.") from None
