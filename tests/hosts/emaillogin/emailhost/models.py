"""An email-login user with a field the portal requires and no IdP sends."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.db import models
from django.utils import timezone
from simple_history import register
from simple_history.models import HistoricalRecords

from scim_portal.models import ScimHistoricalFields


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("employee_number", f"E-{email}")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    employee_number = models.CharField(max_length=40, unique=True)  # required, no default
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()
    # Added after 0001_user, as docs/tracking.md says: its migration (0002) depends on
    # scim_portal, which itself depends on this user model's first migration.
    history = HistoricalRecords(bases=[ScimHistoricalFields], excluded_fields=["password", "last_login"])

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["employee_number"]


register(Group, app=__package__, bases=[ScimHistoricalFields])
