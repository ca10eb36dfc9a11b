"""Seed one system's database by bulk insert (PostgreSQL COPY), inside that system's Django.

Run by ``bench/run.py`` as ``python -m bench.seed --system S --users N --group-members M``
with ``DJANGO_SETTINGS_MODULE`` and ``DATABASE_URL`` set; prints one JSON line with
what the client needs (the bearer token and the group ids).  Columns come from the
models' metadata, and columns the seeder does not name get the field's default, so
the seeder follows schema changes without edits.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import secrets
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import django  # noqa: E402

from bench import dataset  # noqa: E402

UNUSABLE_PASSWORD = "!bench-seeded"


def copy_rows(model, rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows (dicts keyed by field attname) into the model's table; other columns get defaults."""
    from django.db import connection, models

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    pk = model._meta.pk
    # An auto primary key the rows do not give is left to the database.
    fields = [f for f in model._meta.concrete_fields
              if not (f is pk and isinstance(f, models.AutoField) and f.attname not in first)]
    defaults = {}
    for field in fields:
        defaults[field.attname] = field.get_default()
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in itertools.chain([first], rows):
                values = []
                for field in fields:
                    value = row.get(field.attname, defaults[field.attname])
                    if field.attname in json_fields and value is not None:
                        value = json.dumps(value)
                    values.append(value)
                copy.write_row(values)
                count += 1
    return count


def reset_sequences(*models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)
        through = [f.remote_field.through for m in models for f in m._meta.local_many_to_many]
        for sql in connection.ops.sequence_reset_sql(no_style(), through):
            cursor.execute(sql)


def next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def analyze() -> None:
    """VACUUM ANALYZE, as autovacuum leaves a table that has been in use: planner statistics and
    the visibility map (which index-only scans need) are set in every system alike."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# -- scim_portal ------------------------------------------------------------------------------
def user_document(i: int) -> dict[str, Any]:
    """What scim_portal stores for a user Okta created (the create body minus id, externalId, password)."""
    return {
        "userName": dataset.user_name(i),
        "name": {"givenName": dataset.given_name(i), "familyName": dataset.family_name(i)},
        "emails": [{"primary": True, "value": dataset.email(i), "type": "work"}],
        "displayName": f"{dataset.given_name(i)} {dataset.family_name(i)}",
        "locale": "en-US",
        "active": True,
    }


def seed_portal(users: int, group_members: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from scim_portal.models import Integration, ScimGroup, ScimToken, ScimUser
    from scim_portal.models.resources import fold

    User = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        service = User.objects.create_user(email=f"scim-service@{dataset.DOMAIN}")
        # generic: the phases send both Okta's and Entra's shapes, which only its dialect reads all of
        integration = Integration.objects.create(name="Benchmark IdP", slug="bench", provider="generic",
                                                 service_account=service)
        token = ScimToken.issue(integration, description="benchmark").raw
        first = next_id(User)
        copy_rows(User, (
            {"id": first + i, "password": UNUSABLE_PASSWORD, "email": dataset.email(i),
             "first_name": dataset.given_name(i), "last_name": dataset.family_name(i),
             "is_active": True, "is_staff": False, "is_superuser": False, "date_joined": now}
            for i in range(users)
        ))
        copy_rows(ScimUser, (
            {"id": i + 1, "scim_id": str(dataset.scim_uuid(i)), "integration_id": integration.pk,
             "user_id": first + i, "user_name": dataset.user_name(i),
             "user_name_key": fold(dataset.user_name(i)), "email_key": fold(dataset.email(i)),
             "external_id": dataset.external_id(i), "document": user_document(i), "version": 1,
             "created": now, "last_modified": now, "deleted_at": None}
            for i in range(users)
        ))
        big, small = dataset.group_sizes(users, group_members)
        groups = {}
        for name, size in ((dataset.BIG_GROUP_NAME, big), (dataset.SMALL_GROUP_NAME, small)):
            group = Group.objects.create(name=name)
            scim_group = ScimGroup(integration=integration, group=group, display_name=name,
                                   scim_id=dataset.group_uuid(name), created=now, last_modified=now)
            scim_group.save()
            through = User.groups.through
            copy_rows(through, ({"user_id": first + i, "group_id": group.pk} for i in range(size)))
            groups[name] = str(scim_group.scim_id)
        reset_sequences(User, ScimUser, Group)
    analyze()
    return {"token": token, "groups": groups}


# -- django-scim2 -----------------------------------------------------------------------------
def seed_comparator(users: int, group_members: int) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from bench.comparator.cmp_app.models import Group, Token, User

    now = timezone.now()
    with transaction.atomic():
        copy_rows(User, (
            {"id": i + 1, "password": UNUSABLE_PASSWORD, "username": dataset.user_name(i),
             "email": dataset.email(i), "first_name": dataset.given_name(i), "last_name": dataset.family_name(i),
             "is_active": True, "is_staff": False, "is_superuser": False, "date_joined": now,
             "scim_id": str(i + 1), "scim_external_id": dataset.external_id(i),
             "scim_username": dataset.user_name(i)}
            for i in range(users)
        ))
        reset_sequences(User)
        service = User.objects.create(username="scim-service", email=f"scim-service@{dataset.DOMAIN}")
        token = Token.objects.create(key=secrets.token_hex(20), user=service).key
        big, small = dataset.group_sizes(users, group_members)
        groups = {}
        for name, size in ((dataset.BIG_GROUP_NAME, big), (dataset.SMALL_GROUP_NAME, small)):
            group = Group.objects.create(name=name)  # the mixin sets scim_id and scim_display_name
            through = User.scim_groups.through
            copy_rows(through, ({"user_id": i + 1, "group_id": group.pk} for i in range(size)))
            groups[name] = str(group.pk)
        reset_sequences(Group)
    analyze()
    return {"token": token, "groups": groups}


# -- bare ---------------------------------------------------------------------------------------
def seed_bare(users: int, group_members: int) -> dict[str, Any]:
    from django.db import transaction

    from bench.bare.bare_app.models import ApiToken, Person, Team

    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(digest=hashlib.sha256(token.encode()).hexdigest(), name="benchmark")
        copy_rows(Person, (
            {"id": i + 1, "scim_id": dataset.scim_uuid(i), "user_name": dataset.user_name(i),
             "email": dataset.email(i), "external_id": dataset.external_id(i),
             "given_name": dataset.given_name(i), "family_name": dataset.family_name(i), "active": True}
            for i in range(users)
        ))
        reset_sequences(Person)
        big, small = dataset.group_sizes(users, group_members)
        groups = {}
        for name, size in ((dataset.BIG_GROUP_NAME, big), (dataset.SMALL_GROUP_NAME, small)):
            team = Team.objects.create(name=name, scim_id=dataset.group_uuid(name))
            through = Team.members.through
            copy_rows(through, ({"person_id": i + 1, "team_id": team.pk} for i in range(size)))
            groups[name] = str(team.scim_id)
        reset_sequences(Team)
    analyze()
    return {"token": token, "groups": groups}


SEEDERS = {"scim_portal": seed_portal, "django-scim2": seed_comparator, "bare": seed_bare, "bare+auth+log": seed_bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--system", choices=sorted(SEEDERS), required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--group-members", type=int, required=True)
    args = parser.parse_args()
    django.setup()
    started = time.monotonic()
    result = SEEDERS[args.system](args.users, args.group_members)
    result["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
