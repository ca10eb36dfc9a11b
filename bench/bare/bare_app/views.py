"""The limit each SCIM request is measured against: one indexed query (or the one write) per request.

No authentication, no SCIM parsing, no rendering beyond ``JsonResponse``.
"""

from __future__ import annotations

import json
import uuid

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Person, Team

FIELDS = ("scim_id", "user_name", "email", "external_id", "given_name", "family_name", "active")
LOOKUPS = {"userName": "user_name", "externalId": "external_id", "email": "email"}


def row(values: dict) -> dict:
    values["scim_id"] = str(values["scim_id"])
    return values


@csrf_exempt
def users(request):
    if request.method == "POST":
        body = json.loads(request.body)
        person = Person.objects.create(scim_id=uuid.uuid4(), **body)
        return JsonResponse({"id": str(person.scim_id)}, status=201)
    for param, column in LOOKUPS.items():
        if param in request.GET:  # one indexed lookup
            found = [row(v) for v in Person.objects.filter(**{column: request.GET[param]}).values(*FIELDS)]
            return JsonResponse({"totalResults": len(found), "Resources": found})
    start = int(request.GET.get("startIndex", 1))
    count = int(request.GET.get("count", 100))
    total = Person.objects.count()  # a page of 100 plus COUNT
    page = [row(v) for v in Person.objects.order_by("id").values(*FIELDS)[start - 1 : start - 1 + count]]
    return JsonResponse({"totalResults": total, "startIndex": start, "Resources": page})


@csrf_exempt
def user(request, scim_id):
    if request.method in ("PATCH", "PUT"):  # one UPDATE by the indexed id
        updated = Person.objects.filter(scim_id=scim_id).update(**json.loads(request.body))
        return JsonResponse({"updated": updated})
    values = Person.objects.filter(scim_id=scim_id).values(*FIELDS).first()
    if values is None:
        return JsonResponse({"detail": "not found"}, status=404)
    return JsonResponse(row(values))


def group(request, scim_id):
    team = Team.objects.filter(scim_id=scim_id).values("id", "scim_id", "name").first()
    if team is None:
        return JsonResponse({"detail": "not found"}, status=404)
    body = {"id": str(team["scim_id"]), "displayName": team["name"]}
    if request.GET.get("members") == "1":  # one join over the membership table
        body["members"] = [
            {"value": str(s), "display": n}
            for s, n in Person.objects.filter(teams=team["id"]).order_by("id").values_list("scim_id", "user_name")
        ]
    return JsonResponse(body)


@csrf_exempt
def members(request, scim_id):
    """POST adds, DELETE removes the listed members: one statement on the through table."""
    ids = [str(uuid.UUID(v)) for v in json.loads(request.body)]
    through = Team.members.through._meta.db_table
    person, team = Person._meta.db_table, Team._meta.db_table
    with connection.cursor() as cursor:
        if request.method == "POST":
            cursor.execute(
                f"INSERT INTO {through} (team_id, person_id) "
                f"SELECT t.id, p.id FROM {team} t, {person} p WHERE t.scim_id = %s AND p.scim_id = ANY(%s::uuid[]) "
                "ON CONFLICT DO NOTHING",
                [str(scim_id), ids],
            )
        else:
            cursor.execute(
                f"DELETE FROM {through} WHERE team_id = (SELECT id FROM {team} WHERE scim_id = %s) "
                f"AND person_id IN (SELECT id FROM {person} WHERE scim_id = ANY(%s::uuid[]))",
                [str(scim_id), ids],
            )
        changed = cursor.rowcount
    return JsonResponse({"changed": changed})
