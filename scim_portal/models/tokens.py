from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scim_portal.conf import app_settings

PREFIX_LENGTH = 8


def hash_token(raw: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so a fast hash is enough.

    Lookups go by this digest through a unique index, so comparing a presented
    token never walks stored secrets character by character.
    """
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A freshly minted token: ``raw`` exists only here and is never stored."""

    token: ScimToken
    raw: str


class ScimTokenQuerySet(models.QuerySet["ScimToken"]):
    def active(self) -> ScimTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ScimToken(models.Model):
    """A permanent bearer token bound to one integration (``Authorization: Bearer <token>``).

    The raw value is shown once when it is issued; only its SHA-256 digest and a
    short visible prefix (to tell tokens apart) are stored.
    """

    integration = models.ForeignKey(
        "scim_portal.Integration",
        on_delete=models.CASCADE,
        related_name="tokens",
        verbose_name=_("integration"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    prefix = models.CharField(_("prefix"), max_length=32, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = ScimTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("SCIM token")
        verbose_name_plural = _("SCIM tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.description or self.integration})"

    @classmethod
    def issue(cls, integration, *, description: str = "", created_by=None, expires_at=None) -> IssuedToken:
        """Create a token and return it with its raw value (the only time it exists)."""
        raw = app_settings.TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            integration=integration,
            description=description,
            prefix=raw[: len(app_settings.TOKEN_PREFIX) + PREFIX_LENGTH],
            digest=hash_token(raw),
            created_by=created_by,
            expires_at=expires_at,
        )
        return IssuedToken(token=token, raw=raw)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired and self.integration.enabled

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.digest, hash_token(raw))

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self) -> None:
        """Record use, at most once per ``TOKEN_LAST_USED_PRECISION`` seconds (no write per request)."""
        now = timezone.now()
        precision = app_settings.TOKEN_LAST_USED_PRECISION
        if self.last_used_at and (now - self.last_used_at).total_seconds() < precision:
            return
        type(self).objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
