"""Guard rails: the deprovisioning brake's settings, counters, bursts and held requests.

See docs/guard-rails.md.  The brake row of an integration is locked by every
deprovisioning request of that integration (``SELECT ... FOR UPDATE``), so
concurrent IdP workers count one after the other; the counts live in one row
per integration and minute, so a check reads at most ``window`` rows.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from scim_portal.conf import app_settings
from scim_portal.models.resources import ScimUser

#: The longest sliding window (30 days): a longer one would overflow the window's start date.
MAX_WINDOW_MINUTES = 43200


class DeprovisioningBrake(models.Model):
    """One integration's brake: its own limits (empty: the portal's defaults) and its state.

    The state fields (``paused_by``, ``approved_pending``) are written with
    ``UPDATE`` statements by the request path, so the history of this row holds
    the admins' changes of the limits only.
    """

    integration = models.OneToOneField(
        "scim_portal.Integration", on_delete=models.CASCADE, primary_key=True, related_name="brake",
        verbose_name=_("integration"),
    )
    enabled = models.BooleanField(
        _("brake on"), null=True, blank=True,
        help_text=_("Empty: the portal default (SCIM_PORTAL['BRAKE_ENABLED'])."),
    )
    max_count = models.PositiveIntegerField(
        _("more than (deprovisionings)"), null=True, blank=True,
        help_text=_("Trip past this many deactivations and deletions in the window. "
                    "Empty: SCIM_PORTAL['BRAKE_MAX_COUNT']."),
    )
    max_percent = models.PositiveSmallIntegerField(
        _("and more than (% of active users)"), null=True, blank=True, validators=[MaxValueValidator(100)],
        help_text=_("... and past this share of the integration's active users. "
                    "Empty: SCIM_PORTAL['BRAKE_MAX_PERCENT']."),
    )
    window_minutes = models.PositiveIntegerField(
        _("window (minutes)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WINDOW_MINUTES)],
        help_text=_("Empty: SCIM_PORTAL['BRAKE_WINDOW_MINUTES']."),
    )
    notify_emails = models.TextField(
        _("tell these addresses"), blank=True,
        help_text=_("One email address per line, told when the brake trips "
                    "(besides SCIM_PORTAL['BRAKE_NOTIFY_EMAILS']; ADMINS when both are empty)."),
    )
    paused_by = models.ForeignKey(
        "scim_portal.DeprovisioningBurst", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False, verbose_name=_("paused by"),
    )
    approved_pending = models.PositiveIntegerField(
        default=0, editable=False,
        help_text=_("Released holds whose retry has not arrived yet."),
    )

    history = HistoricalRecords(excluded_fields=["paused_by", "approved_pending"])

    class Meta:
        verbose_name = _("deprovisioning brake")
        verbose_name_plural = _("deprovisioning brakes")

    def __str__(self) -> str:
        return str(self.integration)

    # Effective limits: the row's own value, else the portal default (read live).
    @property
    def is_on(self) -> bool:
        return app_settings.BRAKE_ENABLED if self.enabled is None else self.enabled

    @property
    def limit_count(self) -> int:
        return app_settings.BRAKE_MAX_COUNT if self.max_count is None else self.max_count

    @property
    def limit_percent(self) -> int:
        return app_settings.BRAKE_MAX_PERCENT if self.max_percent is None else self.max_percent

    @property
    def window(self) -> int:
        return app_settings.BRAKE_WINDOW_MINUTES if self.window_minutes is None else self.window_minutes

    @property
    def recipients(self) -> list[str]:
        own = [line.strip() for line in self.notify_emails.splitlines() if line.strip()]
        return list(dict.fromkeys([*own, *app_settings.BRAKE_NOTIFY_EMAILS]))


class DeprovisioningCount(models.Model):
    """Deprovisionings applied by one integration in one minute (the brake's sliding window)."""

    integration = models.ForeignKey("scim_portal.Integration", on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "minute"], name="scim_deprovisioning_minute"),
        ]

    def __str__(self) -> str:
        return f"{self.minute:%H:%M}: {self.count}"


class BurstStatus(models.TextChoices):
    PAUSED = "paused", _("Paused: awaiting a decision")
    KEPT = "kept", _("Kept paused by an admin")
    RELEASED = "released", _("Released: held requests apply on retry")
    DISMISSED = "dismissed", _("Resumed without the held requests")


class DeprovisioningBurst(models.Model):
    """A tripped brake: when, after how many deprovisionings, and the admin's decision."""

    integration = models.ForeignKey(
        "scim_portal.Integration", on_delete=models.CASCADE, related_name="deprovisioning_bursts",
        verbose_name=_("integration"),
    )
    tripped_at = models.DateTimeField(_("tripped"), db_index=True)
    count = models.PositiveIntegerField(
        _("deprovisionings in the window"), help_text=_("Applied before the brake tripped."),
    )
    window_minutes = models.PositiveIntegerField(_("window (minutes)"))
    active_users = models.PositiveIntegerField(_("active users when tripped"))
    status = models.CharField(
        _("status"), max_length=10, choices=BurstStatus.choices, default=BurstStatus.PAUSED,
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("decided by"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deprovisioning burst")
        verbose_name_plural = _("deprovisioning bursts")
        ordering = ["-tripped_at"]

    def __str__(self) -> str:
        return f"{self.integration.name}: {self.tripped_at:%Y-%m-%d %H:%M}"

    @property
    def holding(self) -> bool:
        return self.status in (BurstStatus.PAUSED, BurstStatus.KEPT)


class HeldRequest(models.Model):
    """A deprovisioning request answered 503 while its integration's brake was tripped.

    One row per person and burst; an IdP's retries update it.  ``applied_at`` is
    set when, after a release, the retry went through.
    """

    burst = models.ForeignKey(DeprovisioningBurst, on_delete=models.CASCADE, related_name="held")
    scim_user = models.ForeignKey(
        "scim_portal.ScimUser", null=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("SCIM user"),
    )
    user_name = models.CharField(_("userName"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    request_id = models.CharField(_("last request id"), max_length=64)
    first_held_at = models.DateTimeField(_("first held"))
    last_held_at = models.DateTimeField(_("last held"))
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    applied_at = models.DateTimeField(_("applied after release"), null=True, blank=True)

    class Meta:
        verbose_name = _("held request")
        verbose_name_plural = _("held requests")
        ordering = ["first_held_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["burst", "scim_user"], name="scim_held_request_once"),
        ]
        indexes = [
            models.Index(fields=["scim_user", "applied_at"], name="scim_held_request_user"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.user_name}"


class AccessReview(ScimUser):
    """The access review report in the admin (no table of its own; ``view_accessreview`` opens it)."""

    class Meta:
        proxy = True
        verbose_name = _("access review")
        verbose_name_plural = _("access review")
        default_permissions = ("view",)
