from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class IdentityProvider(models.TextChoices):
    """The IdP dialects scim_portal knows; each selects quirk handling in ``scim_portal.idp``."""

    OKTA = "okta", _("Okta")
    ENTRA = "entra", _("Microsoft Entra ID")
    GENERIC = "generic", _("Generic SCIM 2.0 client")


class Integration(models.Model):
    """One SCIM connection: an identity provider pushing users and groups into the portal.

    Every change made through the integration is attributed to its
    ``service_account``, a dedicated portal user.  A portal can hold several
    integrations side by side (one per customer organisation); each sees
    only the users and groups it provisioned.
    """

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    provider = models.CharField(
        _("identity provider"),
        max_length=20,
        choices=IdentityProvider.choices,
        default=IdentityProvider.GENERIC,
    )
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("A disabled integration refuses all its credentials.")
    )
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="scim_integrations",
        verbose_name=_("service account"),
        help_text=_("Changes made through this integration are recorded as made by this user."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SCIM integration")
        verbose_name_plural = _("SCIM integrations")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def dialect(self):  # -> scim_portal.idp.base.Dialect
        from scim_portal.idp import get_dialect

        return get_dialect(self.provider)
