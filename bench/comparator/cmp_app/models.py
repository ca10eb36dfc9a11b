"""User and group models as django-scim2's docs describe them (mixins on the host's models)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):
    name = models.CharField(max_length=150, unique=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractSCIMUserMixin, AbstractUser):
    # Indexed, as any portal that matches IdP users by email would have it.
    email = models.EmailField(blank=True, db_index=True)
    scim_groups = models.ManyToManyField(Group, related_name="user_set", blank=True)

    def __str__(self) -> str:
        return self.username


class Token(models.Model):
    """A bearer token for the IdP's service account (what DRF's TokenAuthentication keeps)."""

    key = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return self.key[:6]
