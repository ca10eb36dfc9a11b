"""One table of users with the identifiers IdPs look up by, indexed; groups; a membership table."""

from __future__ import annotations

from django.db import models


class Person(models.Model):
    scim_id = models.UUIDField(unique=True)
    user_name = models.CharField(max_length=255, unique=True)
    email = models.CharField(max_length=254, db_index=True)
    external_id = models.CharField(max_length=255, db_index=True)
    given_name = models.CharField(max_length=150)
    family_name = models.CharField(max_length=150)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.user_name


class Team(models.Model):
    scim_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=255, unique=True)
    members = models.ManyToManyField(Person, related_name="teams")

    def __str__(self) -> str:
        return self.name
