"""``manage.py scim_import_django_scim2 --integration SLUG [--dry-run] [--json]``.

A portal that ran django-scim2 keeps, on its own user and group models
(``AbstractSCIMUserMixin`` / ``AbstractSCIMGroupMixin``), the ``id`` it gave
each resource (``scim_id``: the primary key by default, any string up to 254
characters), the IdP's ``externalId`` (``scim_external_id``), and the
``userName`` / ``displayName`` (``scim_username`` / ``scim_display_name``).
This command gives each such user and group a scim_portal identity
(:class:`~scim_portal.models.ScimUser` / :class:`~scim_portal.models.ScimGroup`)
in one integration, with the same ``id``, so Okta and Entra ID keep addressing
them without re-provisioning (RFC 7643 3.1: ``id`` is stable).

Idempotent: a resource already imported into this integration with the same
id is left alone; one that cannot be imported (already owned elsewhere, its id
or name taken) is reported and skipped.  Everything is written in one
transaction; ``--dry-run`` writes nothing and reports the same.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, models, transaction

from scim_portal.adapter import get_adapter
from scim_portal.conf import app_settings, group_model_label
from scim_portal.management import integration_by_slug
from scim_portal.mapping import AttributeMap
from scim_portal.models import Integration, ScimGroup, ScimUser
from scim_portal.models.resources import fold
from scim_portal.resources import parse_scim_id

BATCH = 1000


@dataclass
class Report:
    """What the import did (or, with ``--dry-run``, would do)."""

    integration: str
    dry_run: bool
    users_created: int = 0
    users_unchanged: int = 0
    groups_created: int = 0
    groups_unchanged: int = 0
    groups_imported: bool = True
    skipped: list[dict[str, str]] = field(default_factory=list)

    def skip(self, kind: str, obj: models.Model, scim_id: Any, reason: str) -> None:
        self.skipped.append({"type": kind, "pk": str(obj.pk), "id": str(scim_id), "reason": reason})


def has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


class Importer:
    """Plans the identities to create, reading each table once; :meth:`save` writes them."""

    def __init__(self, integration: Integration, report: Report) -> None:
        self.integration = integration
        self.report = report
        self.users: list[ScimUser] = []
        self.groups: list[ScimGroup] = []

    # -- users ---------------------------------------------------------------------
    def plan_users(self) -> None:
        user_model = get_user_model()
        if not has_field(user_model, "scim_id"):
            raise CommandError(f"{user_model._meta.label} has no scim_id field: it is not a django-scim2 user "
                               "model (AbstractSCIMUserMixin), so there is nothing to import.")
        owners = dict(ScimUser.objects.values_list("user_id", "integration_id"))
        ids = dict(ScimUser.objects.values_list("scim_id", "user_id"))
        names = set(ScimUser.objects.values_list("user_name_key", flat=True))
        attribute_map = get_adapter().user_attribute_map(self.integration)
        for user in user_model._default_manager.exclude(scim_id=None).exclude(scim_id="").order_by("pk"):
            self.plan_user(user, attribute_map, owners, ids, names)

    def plan_user(self, user: Any, attribute_map: AttributeMap, owners: dict[Any, int], ids: dict[str, Any],
                  names: set[str]) -> None:
        scim_id = parse_scim_id(str(user.scim_id))
        user_name = user.scim_username or user.get_username()
        if user.pk in owners:
            if owners[user.pk] == self.integration.pk and ids.get(scim_id or "") == user.pk:
                self.report.users_unchanged += 1
            else:
                self.report.skip("User", user, user.scim_id, "already has a SCIM identity with another id "
                                 "or in another integration")
            return
        reason = self.user_problem(scim_id, user_name, ids, names)
        if reason:
            self.report.skip("User", user, user.scim_id, reason)
            return
        assert scim_id is not None
        ids[scim_id], owners[user.pk] = user.pk, self.integration.pk
        names.add(fold(user_name))
        self.users.append(self.identity(user, scim_id, user_name, attribute_map))
        self.report.users_created += 1

    @staticmethod
    def user_problem(scim_id: str | None, user_name: str, ids: dict[str, Any], names: set[str]) -> str:
        if scim_id is None:
            return "the id is not usable (empty or longer than 254 characters)"
        if scim_id in ids:
            return "another SCIM user already has this id"
        if not user_name:
            return "no userName"
        if fold(user_name) in names:
            return f"another SCIM user already has the userName {user_name!r} (compared without case)"
        return ""

    def identity(self, user: Any, scim_id: str, user_name: str, attribute_map: AttributeMap) -> ScimUser:
        # "active" starts assigned, so the overlay copies the host's flag (an absent one reads as
        # unassigned, RFC 7644 3.5.2.2): an account switched off before the move stays off for SCIM.
        document = attribute_map.overlay({"userName": user_name, "active": True}, user)
        email = getattr(user, user.get_email_field_name(), "") or ""
        return ScimUser(
            scim_id=scim_id, integration=self.integration, user=user, user_name=user_name,
            user_name_key=fold(user_name), external_id=user.scim_external_id or "", email_key=fold(email),
            document=document,
        )

    # -- groups --------------------------------------------------------------------
    def plan_groups(self) -> None:
        group_model = apps.get_model(group_model_label())
        if not has_field(group_model, "scim_id"):
            self.report.groups_imported = False
            return
        owned = {group_id: (scim_id, integration_id) for group_id, scim_id, integration_id
                 in ScimGroup.objects.values_list("group_id", "scim_id", "integration_id")}
        ids = set(ScimGroup.objects.values_list("scim_id", flat=True))
        names = set(ScimGroup.objects.filter(integration=self.integration).values_list("display_name_key", flat=True))
        for group in group_model._default_manager.exclude(scim_id=None).exclude(scim_id="").order_by("pk"):
            self.plan_group(group, owned, ids, names)

    def plan_group(self, group: Any, owned: dict[Any, tuple[str, int]], ids: set[str], names: set[str]) -> None:
        scim_id = parse_scim_id(str(group.scim_id))
        display_name = getattr(group, "scim_display_name", None) or str(getattr(group, app_settings.GROUP_NAME_FIELD))
        if group.pk in owned:
            if owned[group.pk] == (scim_id, self.integration.pk):
                self.report.groups_unchanged += 1
            else:
                self.report.skip("Group", group, group.scim_id, "already has a SCIM identity with another id "
                                 "or in another integration")
            return
        if scim_id is None or scim_id in ids or fold(display_name) in names:
            reason = "the id is not usable or already taken" if scim_id is None or scim_id in ids else \
                f"another group of the integration is called {display_name!r}"
            self.report.skip("Group", group, group.scim_id, reason)
            return
        ids.add(scim_id)
        names.add(fold(display_name))
        self.groups.append(ScimGroup(
            scim_id=scim_id, integration=self.integration, group=group, display_name=display_name,
            display_name_key=fold(display_name), external_id=getattr(group, "scim_external_id", None) or "",
            document={"displayName": display_name},
        ))
        self.report.groups_created += 1

    def save(self) -> None:
        with transaction.atomic():
            ScimUser.objects.bulk_create(self.users, batch_size=BATCH)
            ScimGroup.objects.bulk_create(self.groups, batch_size=BATCH)


class Command(BaseCommand):
    help = "Give the users and groups django-scim2 provisioned scim_portal identities with the same SCIM ids."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--integration", required=True, help="Slug of the integration that will own them.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be imported; write nothing.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        integration = integration_by_slug(options["integration"])
        report = Report(integration=integration.slug, dry_run=options["dry_run"])
        importer = Importer(integration, report)
        importer.plan_users()
        importer.plan_groups()
        if not options["dry_run"]:
            try:
                importer.save()
            except IntegrityError as exc:
                raise CommandError(f"Nothing imported: {exc}. Was SCIM traffic creating resources meanwhile? "
                                   "Disable the integration and run the command again.") from None
        self.emit(report, json_output=options["json"])

    def emit(self, report: Report, *, json_output: bool) -> None:
        if json_output:
            self.stdout.write(json.dumps(asdict(report), indent=2))
        verb = "Would import" if report.dry_run else "Imported"
        self.stderr.write(
            f"{verb} {report.users_created} users and {report.groups_created} groups into '{report.integration}' "
            f"({report.users_unchanged} users and {report.groups_unchanged} groups were already there, "
            f"{len(report.skipped)} skipped)."
        )
        if not report.groups_imported:
            self.stderr.write("The group model has no scim_id field (not a django-scim2 group model): groups "
                              "were not imported; the IdP's next group push creates them.")
        for item in report.skipped[:50]:
            self.stderr.write(f"  skipped {item['type']} pk={item['pk']} id={item['id']}: {item['reason']}")
