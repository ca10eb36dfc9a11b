from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from scim_portal.conf import group_model_label


class IdentityProvider(models.TextChoices):
    """The IdP dialects scim_portal knows; each selects quirk handling in ``scim_portal.idp``."""

    OKTA = "okta", _("Okta")
    ENTRA = "entra", _("Microsoft Entra ID")
    GENERIC = "generic", _("Generic SCIM 2.0 client")


def provider_choices() -> list[tuple[str, str]]:
    """The built-in providers, then the host's dialects from ``SCIM_PORTAL["DIALECTS"]``.

    A callable, so that registering a dialect needs no migration.
    """
    from scim_portal.idp import custom_dialects

    built_in = list(IdentityProvider.choices)
    known = {key for key, _label in built_in}
    return built_in + [(key, str(dialect.label)) for key, dialect in custom_dialects().items() if key not in known]


class UniqueIdentifier(models.TextChoices):
    """The SCIM attribute that identifies a person (the IdP's "unique identifier field")."""

    USER_NAME = "userName", _("userName")
    EMAIL = "email", _("work email")


class Deprovisioning(models.TextChoices):
    """What ``active: false`` and ``DELETE`` do to the portal account."""

    DEACTIVATE = "deactivate", _("Deactivate the account")
    DEACTIVATE_AND_UNGROUP = "deactivate_ungroup", _("Deactivate and remove from all groups")
    DELETE = "delete", _("Delete the account permanently")


class UnknownAttributes(models.TextChoices):
    IGNORE = "ignore", _("Ignore attributes outside the allow-list")
    REJECT = "reject", _("Reject requests that change them (400)")


class Integration(models.Model):
    """One SCIM connection: an identity provider pushing users and groups into the portal.

    Every change made through the integration is attributed to its
    ``service_account``, a dedicated portal user.  A portal can hold several
    integrations side by side (one per customer organisation); each sees
    only the users and groups it provisioned.  The policy fields decide what
    happens to people in the portal (see docs/policies.md).
    """

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    provider = models.CharField(
        _("identity provider"), max_length=20, choices=provider_choices,
        default=IdentityProvider.GENERIC,
    )
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("A disabled integration refuses all its credentials.")
    )
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scim_integrations",
        verbose_name=_("service account"),
        help_text=_("Changes made through this integration are recorded as made by this user."),
    )
    # -- identity matching
    unique_identifier = models.CharField(
        _("unique identifier"), max_length=20, choices=UniqueIdentifier.choices,
        default=UniqueIdentifier.USER_NAME,
        help_text=_("Choose the same field as the IdP's unique identifier for users."),
    )
    link_existing_users = models.BooleanField(
        _("link existing portal users"), default=False,
        help_text=_("A create that matches an existing portal account (without a usable password, i.e. "
                    "an SSO user) takes it over instead of answering 409."),
    )
    adopt_existing_groups = models.BooleanField(
        _("adopt existing portal groups"), default=False,
        help_text=_("A group the IdP creates with the name of a portal group no integration manages "
                    "takes that group over (its portal members stay) instead of answering 409. The IdP "
                    "may then rename it, change its members and delete it."),
    )
    # -- account creation
    default_groups = models.ManyToManyField(
        group_model_label(), blank=True, related_name="+", verbose_name=_("default groups"),
        help_text=_("Groups every user created by this integration joins."),
    )
    default_grant = models.CharField(
        _("default licence or profile"), max_length=100, blank=True,
        help_text=_("What a new user gets when no group rule applies (the portal defines the choices)."),
    )
    required_attributes = models.JSONField(
        _("required attributes"), default=list, blank=True,
        help_text=_('SCIM paths a create must carry, besides the IdP\'s own, e.g. ["name.givenName"].'),
    )
    seat_limit = models.PositiveIntegerField(
        _("seat limit"), null=True, blank=True,
        help_text=_("Most active users this integration may provision. Empty: no limit."),
    )
    # -- leavers and returners
    deprovisioning = models.CharField(
        _("on deactivation or delete"), max_length=20, choices=Deprovisioning.choices,
        default=Deprovisioning.DEACTIVATE,
    )
    reactivation_allowed = models.BooleanField(_("allow reactivation"), default=True)
    reactivation_cooldown_days = models.PositiveIntegerField(
        _("no reactivation within (days)"), null=True, blank=True,
        help_text=_("Refuse reactivation of users deactivated fewer than this many days ago."),
    )
    # -- what the IdP may write
    writable_attributes = models.JSONField(
        _("writable attributes"), default=list, blank=True,
        help_text=_('Allow-list of SCIM attributes the IdP may set, e.g. ["name", "emails", "title"]. '
                    "Empty: all. userName, active and externalId are always writable."),
    )
    unknown_attributes = models.CharField(
        _("attributes outside the allow-list"), max_length=10, choices=UnknownAttributes.choices,
        default=UnknownAttributes.IGNORE,
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["default_groups"])

    class Meta:
        verbose_name = _("SCIM integration")
        verbose_name_plural = _("SCIM integrations")
        ordering = ["name"]
        permissions = [("manage_integration", _("Can manage SCIM integrations and their credentials"))]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def dialect(self):  # -> scim_portal.idp.base.Dialect
        """The provider's dialect (``SCIM_PORTAL["DIALECTS"]`` included)."""
        from scim_portal.idp import get_dialect

        return get_dialect(self.provider)

    def lock(self) -> None:
        """Take this integration's row lock until the transaction ends.

        Serialises what must be counted or checked per integration (seats,
        active tokens, a unique work email); SQLite serialises writes anyway.
        """
        list(type(self).objects.select_for_update().filter(pk=self.pk).values_list("pk", flat=True))


class GroupRule(models.Model):
    """"Members of IdP group X get licence/profile Y": evaluated on create and on membership changes.

    ``grant`` is a key the host portal interprets (a licence name, a profile
    code) through :meth:`ScimAdapter.apply_grants`.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="group_rules")
    group = models.ForeignKey(
        "scim_portal.ScimGroup", on_delete=models.CASCADE, related_name="rules",
        verbose_name=_("IdP group"),
    )
    grant = models.CharField(_("grants"), max_length=100)
    priority = models.PositiveIntegerField(
        _("priority"), default=100, help_text=_("Lower numbers first, when a portal allows one grant only."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("group rule")
        verbose_name_plural = _("group rules")
        ordering = ["priority", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["group", "grant"], name="scim_group_rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.group} → {self.grant}"
