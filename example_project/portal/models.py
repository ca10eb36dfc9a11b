"""The example portal's own models: an email-login user and licences.

This is what a real host looks like to scim_portal: a custom user model it
does not own, with a portal-specific field (the licence) that provisioning
assigns by default.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history import register
from simple_history.models import HistoricalRecords

from scim_portal.models import ScimHistoricalFields


class Licence(models.Model):
    """A kind of seat in the portal (the seeds call it a CAL or a profile)."""

    name = models.CharField(max_length=100, unique=True)
    seats = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    licence = models.ForeignKey(
        Licence, null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )

    objects = UserManager()
    # The one line that gives the portal's users a SCIM-aware change history.
    history = HistoricalRecords(bases=[ScimHistoricalFields], excluded_fields=["password", "last_login"])

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="portal_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


# Groups belong to django.contrib.auth, so their history model lives in this app.
register(Group, app=__package__, bases=[ScimHistoricalFields])


class UserSession(models.Model):
    """Which session belongs to which user, so a leaver's sessions are found by user id.

    Django's session table is keyed by session key only: finding a user's
    sessions there means decoding every session.  The row is written when the
    user logs in (``portal.apps``) and goes with the session or the user.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.session_key[:8]})"
