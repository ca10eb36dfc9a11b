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


class ApiToken(models.Model):
    """A bearer token of the ``bare+auth+log`` floor: only its SHA-256 digest is stored."""

    digest = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class RequestLog(models.Model):
    """One row per request of the ``bare+auth+log`` floor: a few columns and the JSON bodies."""

    created = models.DateTimeField()
    token = models.ForeignKey(ApiToken, null=True, on_delete=models.SET_NULL)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    request_body = models.JSONField(null=True)
    response_body = models.JSONField(null=True)

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"
