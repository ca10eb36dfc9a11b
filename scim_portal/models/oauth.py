"""OAuth 2.0 clients of an integration (Okta's "OAuth2" authentication mode).

The client itself is a django-oauth-toolkit ``Application`` (the model named
by ``OAUTH2_PROVIDER_APPLICATION_MODEL``); :class:`OAuthClient` binds it to
one integration and says which SCIM scopes it may obtain.  Applications that
are not bound here are refused by scim_portal's OAuth endpoints, so a host's
other OAuth clients can never obtain a SCIM token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from simple_history.models import HistoricalRecords

from scim_portal.conf import app_settings
from scim_portal.models.tokens import ALL_SCOPES, parse_scopes


@dataclass(frozen=True)
class IssuedClient:
    """A client with its fresh secret: ``secret`` exists only here (the database keeps a hash)."""

    client: OAuthClient
    secret: str

    def __repr__(self) -> str:
        return f"IssuedClient(client={self.client!r}, secret='…')"


class OAuthClient(models.Model):
    """An OAuth 2.0 client (RFC 6749 section 2) allowed to call the SCIM API for one integration.

    Access tokens issued to the client act as the integration's service
    account, with the scopes granted (a subset of ``scopes``).
    """

    integration = models.ForeignKey(
        "scim_portal.Integration", on_delete=models.CASCADE, related_name="oauth_clients",
        verbose_name=_("integration"),
    )
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="scim_client",
        verbose_name=_("OAuth application"),
    )
    scopes = models.CharField(
        _("scopes"), max_length=100, default=ALL_SCOPES,
        help_text=_("SCIM permissions the client may obtain, space-separated: read, write."),
    )
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    secret_changed_at = models.DateTimeField(_("secret replaced"), null=True, blank=True, editable=False)

    # Who registered it, replaced its secret and revoked it (use is not a change).
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = _("SCIM OAuth client")
        verbose_name_plural = _("SCIM OAuth clients")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.application.name or self.client_id} ({self.integration})"

    @classmethod
    def register(cls, integration: Any, *, name: str, grant_type: str, redirect_uris: list[str] | None = None,
                 scopes: str = ALL_SCOPES, created_by: Any = None) -> IssuedClient:
        """Create a confidential client and return it with its secret, stored hashed by the toolkit.

        ``grant_type`` is ``"authorization-code"`` (Okta; refresh tokens come
        with it) or ``"client-credentials"`` (scripts and generic clients).
        Raises ``ValidationError`` for missing or malformed redirect URIs.
        """
        secret = generate_client_secret()
        application_model = cls._meta.get_field("application").related_model
        application = application_model(
            name=name[:255],
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=grant_type,
            redirect_uris=" ".join(redirect_uris or []),
            client_secret=secret,
            hash_client_secret=True,
            skip_authorization=False,
        )
        application.clean()  # the toolkit's own checks: redirect URIs present and well-formed
        with transaction.atomic():
            application.save()
            client = cls(
                integration=integration, application=application, created_by=created_by,
                scopes=" ".join(sorted(parse_scopes(scopes))),
            )
            client._change_reason = "registered"
            client.save(force_insert=True)
        return IssuedClient(client=client, secret=secret)

    def new_secret(self) -> IssuedClient:
        """Replace the client secret (the old one stops working at once; issued tokens live on)."""
        secret = generate_client_secret()
        self.application.client_secret = secret
        self.application.hash_client_secret = True
        with transaction.atomic():
            self.application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
            self.secret_changed_at = timezone.now()
            self._change_reason = "new secret"
            self.save(update_fields=["secret_changed_at"])
        return IssuedClient(client=self, secret=secret)

    def revoke(self) -> None:
        """Refuse the client and delete every token issued to it, effective on the next request."""
        with transaction.atomic():
            if self.revoked_at is None:
                self.revoked_at = timezone.now()
                self._change_reason = "revoked"
                self.save(update_fields=["revoked_at"])
            get_refresh_token_model().objects.filter(application=self.application).delete()
            get_access_token_model().objects.filter(application=self.application).delete()

    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def scope_set(self) -> frozenset[str]:
        return parse_scopes(self.scopes)

    @property
    def oauth_scope_names(self) -> list[str]:
        """The client's scopes as OAuth scope names (``SCIM_PORTAL["OAUTH_READ_SCOPE"]``...)."""
        return [name for name, scope in app_settings.OAUTH_SCOPES.items() if scope in self.scope_set]

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.integration.enabled

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_at else "active"

    @property
    def label(self) -> str:
        """How logs name the credential (the start of the public client id)."""
        return f"oauth:{self.client_id[:12]}"

    def touch(self) -> bool:
        """Record use, at most once per ``TOKEN_LAST_USED_PRECISION`` seconds; return whether it was
        recorded now (the credential's first request in that time)."""
        now = timezone.now()
        if self.last_used_at and (now - self.last_used_at).total_seconds() < app_settings.TOKEN_LAST_USED_PRECISION:
            return False
        type(self).objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
        return True
