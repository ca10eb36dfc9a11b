"""Audit models: the provisioning log, and the fields SCIM adds to history records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ScimHistoricalFields(models.Model):
    """Abstract base for a host's django-simple-history records.

    Add to the host's own model, in the host's own app (so the host owns the
    migration that copies its fields)::

        history = HistoricalRecords(bases=[ScimHistoricalFields])

    Records written by a SCIM request then carry the integration, the request id
    and the credential prefix; ``history_user`` is the integration's service account.
    """

    scim_integration = models.ForeignKey(
        "scim_portal.Integration", null=True, blank=True, on_delete=models.SET_NULL,
        db_constraint=False, related_name="+", verbose_name=_("SCIM integration"),
    )
    scim_request_id = models.CharField(_("SCIM request id"), max_length=64, blank=True, db_index=True)
    scim_credential = models.CharField(_("SCIM credential"), max_length=64, blank=True)

    class Meta:
        abstract = True


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")


class ProvisioningLog(models.Model):
    """One row per SCIM request: what the IdP asked, what the portal answered."""

    created = models.DateTimeField(_("time"), db_index=True)
    integration = models.ForeignKey(
        "scim_portal.Integration", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="provisioning_logs", verbose_name=_("integration"),
    )
    credential = models.CharField(_("credential"), max_length=64, blank=True)
    dialect = models.CharField(_("IdP dialect"), max_length=20, blank=True)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    resource_type = models.CharField(_("resource type"), max_length=20, blank=True)
    resource_id = models.CharField(_("resource id"), max_length=64, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        db_constraint=False, related_name="+", verbose_name=_("affected user"),
    )
    status = models.PositiveSmallIntegerField(_("status"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    scim_type = models.CharField(_("scimType"), max_length=30, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    request_id = models.CharField(_("request id"), max_length=64, db_index=True)
    request_body = models.JSONField(_("request body"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)

    class Meta:
        verbose_name = _("provisioning log entry")
        verbose_name_plural = _("provisioning log")
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["integration", "-created"], name="scim_log_integration"),
            models.Index(fields=["integration", "outcome", "-created"], name="scim_log_integration_outcome"),
            models.Index(fields=["outcome", "-created"], name="scim_log_outcome"),
            models.Index(fields=["status", "-created"], name="scim_log_status"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"
