"""``manage.py scim_integration create|list|show|update|disable|enable``: integrations from a shell.

For scripts and infrastructure as code.  ``create`` is idempotent: run twice
with the same options it changes nothing and exits 0; when the integration
exists with other values for the options given it exits with an error naming
them and the ``update`` command that would apply them.  ``--json`` prints one
JSON object (``list``: an array) on stdout; messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from scim_portal.conf import app_settings, group_model_label
from scim_portal.management import integration_by_slug
from scim_portal.models import (
    Deprovisioning,
    IdentityProvider,
    Integration,
    ScimToken,
    UniqueIdentifier,
    UnknownAttributes,
)

#: Integration fields set from options of the same name (``--seat-limit`` -> ``seat_limit``).
POLICY_FIELDS = (
    "name", "provider", "unique_identifier", "link_existing_users", "default_grant", "required_attributes",
    "seat_limit", "deprovisioning", "reactivation_allowed", "reactivation_cooldown_days",
    "writable_attributes", "unknown_attributes",
)


def describe(integration: Integration) -> dict[str, Any]:
    """Everything about an integration a script may read (credentials only as counts)."""
    account = integration.service_account
    return {
        "slug": integration.slug,
        **{field: getattr(integration, field) for field in POLICY_FIELDS},
        "enabled": integration.enabled,
        "service_account": account.get_username(),
        "default_groups": sorted(str(group) for group in integration.default_groups.all()),
        "active_tokens": ScimToken.objects.active().filter(integration=integration).count(),
        "oauth_clients": integration.oauth_clients.filter(revoked_at=None).count(),
        "created": integration.created.isoformat(),
        "modified": integration.modified.isoformat(),
    }


def attribute_list(value: str) -> list[str]:
    """``"name.givenName, emails"`` -> ``["name.givenName", "emails"]`` (an empty string clears)."""
    return [item.strip() for item in value.split(",") if item.strip()]


#: What ``--seat-limit none`` parses to: "clear the field", unlike an option not given (``None``).
CLEAR = "none"


def optional_number(value: str) -> int | str:
    """A non-negative number, or ``none`` to clear the field."""
    if value.lower() in (CLEAR, ""):
        return CLEAR
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number or 'none', not {value!r}")
    return int(value)


class Command(BaseCommand):
    help = "Create, list, show, update, disable or enable SCIM integrations."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create an integration; with the same options again, no change.")
        create.add_argument("--slug", required=True, help="Stable identifier used by the other commands.")
        create.add_argument("--create-service-account", action="store_true",
                            help="Create the --service-account user (no usable password) if it does not exist.")
        self.add_fields(create, creating=True)
        listing = sub.add_parser("list", help="List integrations.")
        listing.add_argument("--json", action="store_true", help="Machine-readable output.")
        show = sub.add_parser("show", help="Show one integration.")
        show.add_argument("slug")
        show.add_argument("--json", action="store_true", help="Machine-readable output.")
        update = sub.add_parser("update", help="Change the options given; the others stay as they are.")
        update.add_argument("slug")
        self.add_fields(update, creating=False)
        for action, text in (("disable", "Refuse all its credentials (reversible)."),
                             ("enable", "Accept its credentials again.")):
            switch = sub.add_parser(action, help=text)
            switch.add_argument("slug")
            switch.add_argument("--json", action="store_true", help="Machine-readable output.")

    def add_fields(self, parser: CommandParser, *, creating: bool) -> None:
        parser.add_argument("--name", required=creating, help="Shown to admins, e.g. 'Okta production'.")
        parser.add_argument("--provider", required=creating, choices=IdentityProvider.values)
        parser.add_argument("--service-account", required=creating,
                            help="Username (or email) of the dedicated user changes are attributed to.")
        parser.add_argument("--unique-identifier", choices=UniqueIdentifier.values)
        parser.add_argument("--link-existing-users", action=argparse.BooleanOptionalAction, default=None)
        parser.add_argument("--default-group", action="append", dest="default_groups", metavar="NAME",
                            help="A group every new user joins (repeat for several; must exist).")
        parser.add_argument("--no-default-groups", action="store_true", help="Clear the default groups.")
        parser.add_argument("--default-grant", help="Licence or profile key a new user gets.")
        parser.add_argument("--required-attributes", type=attribute_list,
                            help="Comma-separated SCIM paths a create must carry, e.g. name.givenName.")
        parser.add_argument("--seat-limit", type=optional_number, help="Most active users; 'none': no limit.")
        parser.add_argument("--deprovisioning", choices=Deprovisioning.values)
        parser.add_argument("--reactivation-allowed", action=argparse.BooleanOptionalAction, default=None)
        parser.add_argument("--reactivation-cooldown-days", type=optional_number)
        parser.add_argument("--writable-attributes", type=attribute_list,
                            help="Comma-separated allow-list of SCIM attributes; empty: all.")
        parser.add_argument("--unknown-attributes", choices=UnknownAttributes.values)
        parser.add_argument("--json", action="store_true", help="Print the integration as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    # -- subcommands ---------------------------------------------------------------
    def handle_create(self, options: dict[str, Any]) -> None:
        slug = options["slug"]
        existing = Integration.objects.filter(slug=slug).first()
        if existing is not None:
            self.confirm_unchanged(existing, options)
            self.stderr.write(f"Integration '{slug}' exists with these options: unchanged.")
            return self.emit(existing, options)
        account = self.service_account(options["service_account"], create=options["create_service_account"])
        integration = Integration(slug=slug, service_account=account)
        self.save(integration, options, reason="created with scim_integration")
        self.stderr.write(f"Created integration '{slug}'.")
        self.emit(integration, options)

    def handle_list(self, options: dict[str, Any]) -> None:
        integrations = Integration.objects.select_related("service_account").order_by("slug")
        rows = [describe(integration) for integration in integrations]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            state = "enabled" if row["enabled"] else "disabled"
            self.stdout.write(f"{row['slug']}  {row['provider']}  {state}  {row['service_account']}  {row['name']}")

    def handle_show(self, options: dict[str, Any]) -> None:
        self.emit(integration_by_slug(options["slug"]), options)

    def handle_update(self, options: dict[str, Any]) -> None:
        integration = integration_by_slug(options["slug"])
        if options["service_account"]:
            integration.service_account = self.service_account(options["service_account"], create=False)
        self.save(integration, options, reason="updated with scim_integration")
        self.stderr.write(f"Updated integration '{integration.slug}'.")
        self.emit(integration, options)

    def handle_disable(self, options: dict[str, Any]) -> None:
        self.switch(options, enabled=False)

    def handle_enable(self, options: dict[str, Any]) -> None:
        self.switch(options, enabled=True)

    # -- helpers -------------------------------------------------------------------
    def switch(self, options: dict[str, Any], *, enabled: bool) -> None:
        integration = integration_by_slug(options["slug"])
        word = "enabled" if enabled else "disabled"
        if integration.enabled != enabled:
            integration.enabled = enabled
            integration._change_reason = f"{word} with scim_integration"  # type: ignore[attr-defined]
            integration.save(update_fields=["enabled", "modified"])
        self.stderr.write(f"Integration '{integration.slug}' is {word}.")
        self.emit(integration, options)

    def requested(self, options: dict[str, Any]) -> dict[str, Any]:
        """The policy fields the options set (options not given are left alone)."""
        given = {field: options[field] for field in POLICY_FIELDS if options.get(field) is not None}
        return {field: None if value == CLEAR else value for field, value in given.items()}

    def requested_groups(self, options: dict[str, Any]) -> list[Any] | None:
        if options.get("no_default_groups"):
            return []
        names = options.get("default_groups")
        if names is None:
            return None
        group_model = apps.get_model(group_model_label())
        name_field = app_settings.GROUP_NAME_FIELD
        groups = list(group_model._default_manager.filter(**{f"{name_field}__in": names}))
        missing = sorted(set(names) - {str(getattr(group, name_field)) for group in groups})
        if missing:
            raise CommandError(f"No group named {', '.join(repr(n) for n in missing)}: create it first.")
        return groups

    def confirm_unchanged(self, integration: Integration, options: dict[str, Any]) -> None:
        """Idempotent create: the integration must already say what the options say."""
        differences = self.differences(integration, options)
        if differences:
            raise CommandError(
                f"Integration '{integration.slug}' exists with other options: {'; '.join(differences)}. "
                f"To change them run: manage.py scim_integration update {integration.slug} <options>."
            )

    def differences(self, integration: Integration, options: dict[str, Any]) -> list[str]:
        differences = [
            f"{field}={getattr(integration, field)!r} (asked: {value!r})"
            for field, value in self.requested(options).items() if getattr(integration, field) != value
        ]
        account, asked = integration.service_account, options["service_account"]
        if asked not in (account.get_username(), getattr(account, account.get_email_field_name())):
            differences.append(f"service_account={account.get_username()!r} (asked: {asked!r})")
        groups = self.requested_groups(options)
        current = set(integration.default_groups.values_list("pk", flat=True))
        if groups is not None and {group.pk for group in groups} != current:
            differences.append("default groups differ")
        return differences

    def save(self, integration: Integration, options: dict[str, Any], *, reason: str) -> None:
        for field, value in self.requested(options).items():
            setattr(integration, field, value)
        groups = self.requested_groups(options)
        try:
            integration.full_clean(exclude=["default_groups"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        integration._change_reason = reason  # type: ignore[attr-defined]
        with transaction.atomic():
            integration.save()
            if groups is not None:
                integration.default_groups.set(groups)

    def service_account(self, name: str, *, create: bool) -> AbstractBaseUser:
        """The user named ``name`` (username, else email); created without a usable password if asked."""
        user_model = get_user_model()
        manager = user_model._default_manager
        try:
            return manager.get_by_natural_key(name)
        except user_model.DoesNotExist:
            pass
        email_field = user_model.get_email_field_name()
        by_email = list(manager.filter(**{f"{email_field}__iexact": name})[:2]) if "@" in name else []
        if len(by_email) == 1:
            return by_email[0]
        if not create:
            raise CommandError(f"No user '{name}'. Add --create-service-account to create it "
                               "(without a usable password: it only signs SCIM changes).")
        return self.create_account(name)

    def create_account(self, name: str) -> AbstractBaseUser:
        user_model = get_user_model()
        fields = {user_model.USERNAME_FIELD: name}
        email_field = user_model.get_email_field_name()
        if "@" in name and email_field != user_model.USERNAME_FIELD:
            fields[email_field] = name
        try:
            user = user_model._default_manager.create_user(**fields)  # type: ignore[attr-defined]
        except (TypeError, ValueError, ValidationError) as exc:
            raise CommandError(f"Could not create the user '{name}': {exc}. Create it in the admin, then "
                               "pass its username to --service-account.") from None
        user.set_unusable_password()
        user.save()
        self.stderr.write(f"Created service account '{name}' (no usable password).")
        return user

    def emit(self, integration: Integration, options: dict[str, Any]) -> None:
        row = describe(integration)
        if options.get("json"):
            self.stdout.write(json.dumps(row, indent=2))
            return
        for key, value in row.items():
            self.stdout.write(f"{key}: {value}")
