"""Permanent bearer tokens (Entra ID "Secret Token", Okta "HTTP Header" mode).

A token is 256 random bits behind a recognisable prefix.  Only its SHA-256
digest and the prefix are stored; the raw value exists once, in the
:class:`IssuedToken` returned by :meth:`ScimToken.issue` or
:meth:`ScimToken.rotate`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from scim_portal.conf import app_settings

PREFIX_LENGTH = 8


class Scope(models.TextChoices):
    """What a credential may do: ``read`` (GET, ``.search``) and ``write`` (POST, PUT, PATCH, DELETE)."""

    READ = "read", _("read users and groups")
    WRITE = "write", _("create, change and deactivate users and groups")


ALL_SCOPES = f"{Scope.READ} {Scope.WRITE}"


def parse_scopes(value: str) -> frozenset[str]:
    """The known scopes in a space-separated string (unknown words are ignored)."""
    return frozenset(value.split()) & set(Scope.values)


def hash_token(raw: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so a fast hash is enough.

    Lookups go by this digest through a unique index, so comparing a presented
    token never walks stored secrets character by character.
    """
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class TokenLimitReached(ValidationError):
    """Issuing one more token would exceed ``SCIM_PORTAL["MAX_ACTIVE_TOKENS"]``."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly minted token: ``raw`` exists only here and is never stored."""

    token: ScimToken
    raw: str

    def __repr__(self) -> str:  # keep the secret out of tracebacks and debug output
        return f"IssuedToken(token={self.token!r}, raw='{self.token.prefix}…')"


class ScimTokenQuerySet(models.QuerySet["ScimToken"]):
    def active(self) -> ScimTokenQuerySet:
        """Tokens that authenticate now (ignoring the integration switch)."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def counted(self) -> ScimTokenQuerySet:
        """Active tokens that count towards the limit: a rotated token in its grace period does not."""
        return self.active().filter(replaced_by__isnull=True)

    def expiring(self, within: dt.timedelta, now: dt.datetime | None = None) -> ScimTokenQuerySet:
        """Tokens not revoked by ``now`` whose expiry falls in the ``within`` that follows it."""
        now = now or timezone.now()
        return self.filter(models.Q(revoked_at__isnull=True) | models.Q(revoked_at__gt=now),
                           expires_at__gt=now, expires_at__lte=now + within)


class ScimToken(models.Model):
    """A permanent bearer token bound to one integration (``Authorization: Bearer <token>``).

    The raw value is shown once when it is issued; only its SHA-256 digest and a
    short visible prefix (to tell tokens apart) are stored.  Changes made with
    the token are attributed to ``service_account`` (default: the
    integration's).
    """

    integration = models.ForeignKey(
        "scim_portal.Integration",
        on_delete=models.CASCADE,
        related_name="tokens",
        verbose_name=_("integration"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("service account"),
        help_text=_("Changes made with this token are recorded as made by this user. "
                    "Empty: the integration's service account."),
    )
    scopes = models.CharField(
        _("scopes"), max_length=100, default=ALL_SCOPES,
        help_text=_("Space-separated: read, write."),
    )
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
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="replaces",
        verbose_name=_("replaced by"),
    )

    objects = ScimTokenQuerySet.as_manager()
    # Who issued, rotated and revoked it (the digest stays out; use is not a change).
    history = HistoricalRecords(excluded_fields=["digest", "last_used_at"])

    class Meta:
        verbose_name = _("SCIM token")
        verbose_name_plural = _("SCIM tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.description or self.integration})"

    @classmethod
    def issue(cls, integration: Any, *, description: str = "", created_by: Any = None,
              expires_at: dt.datetime | None = None, service_account: Any = None,
              scopes: str = ALL_SCOPES) -> IssuedToken:
        """Create a token and return it with its raw value (the only time it exists).

        Raises :class:`TokenLimitReached` when the integration already has
        ``MAX_ACTIVE_TOKENS`` active tokens: revoke or rotate one first.
        """
        with transaction.atomic():
            integration.lock()
            limit = app_settings.MAX_ACTIVE_TOKENS
            if cls.objects.filter(integration=integration).counted().count() >= limit:
                raise TokenLimitReached(
                    _("%(integration)s already has %(limit)d active tokens: rotate or revoke one first."),
                    code="token_limit", params={"integration": integration, "limit": limit},
                )
            return cls._create(integration, description=description, created_by=created_by,
                               expires_at=expires_at, service_account=service_account, scopes=scopes)

    @classmethod
    def _create(cls, integration: Any, **fields: Any) -> IssuedToken:
        raw = app_settings.TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls(
            integration=integration,
            prefix=raw[: len(app_settings.TOKEN_PREFIX) + PREFIX_LENGTH],
            digest=hash_token(raw),
            scopes=" ".join(sorted(parse_scopes(fields.pop("scopes")))),
            **fields,
        )
        token._change_reason = "issued"
        token.save(force_insert=True)
        return IssuedToken(token=token, raw=raw)

    def rotate(self, *, grace: dt.timedelta | None = None, created_by: Any = None) -> IssuedToken:
        """Issue a successor with the same settings and retire this token.

        With ``grace`` (default ``TOKEN_ROTATION_GRACE`` seconds) this token
        keeps working until now + grace, so the IdP can be switched over
        without a gap; with a zero grace it is revoked at once.  The successor
        takes this token's place under the limit.
        """
        if grace is None:
            grace = dt.timedelta(seconds=app_settings.TOKEN_ROTATION_GRACE)
        with transaction.atomic():
            self.integration.lock()
            current = type(self).objects.select_for_update().get(pk=self.pk)
            if current.revoked_at is not None or current.replaced_by_id is not None or current.is_expired:
                raise ValidationError(_("Only an active token can be rotated."), code="not_active")
            issued = self._create(
                self.integration, description=self.description, created_by=created_by,
                expires_at=self.expires_at, service_account=self.service_account, scopes=self.scopes,
            )
            self.retire(issued.token, grace)
        return issued

    def retire(self, successor: ScimToken, grace: dt.timedelta) -> None:
        now = timezone.now()
        self.replaced_by = successor
        if grace.total_seconds() <= 0:
            self.revoked_at = now
        else:
            end = now + grace
            self.expires_at = min(self.expires_at, end) if self.expires_at else end
        self._change_reason = "rotated"
        self.save(update_fields=["replaced_by", "revoked_at", "expires_at"])

    @property
    def scope_set(self) -> frozenset[str]:
        return parse_scopes(self.scopes)

    @property
    def actor(self) -> Any:
        """The user the token's changes are attributed to."""
        return self.service_account or self.integration.service_account

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired and self.integration.enabled

    @property
    def status(self) -> str:
        """``active``, ``rotated`` (still working until its expiry), ``expired`` or ``revoked``."""
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "rotated" if self.replaced_by_id else "active"

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.digest, hash_token(raw))

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self._change_reason = "revoked"
            self.save(update_fields=["revoked_at"])

    def touch(self) -> bool:
        """Record use, at most once per ``TOKEN_LAST_USED_PRECISION`` seconds (no write per request);
        return whether it was recorded now (the credential's first request in that time)."""
        now = timezone.now()
        precision = app_settings.TOKEN_LAST_USED_PRECISION
        if self.last_used_at and (now - self.last_used_at).total_seconds() < precision:
            return False
        type(self).objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
        return True

