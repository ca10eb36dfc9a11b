"""Audit models: the provisioning log, the membership changes SCIM made, and the
fields SCIM adds to history records."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scim_portal.conf import group_model_label


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
    # What the request was about, for the list and its search (the bodies are not searched).
    subject = models.CharField(
        _("subject"), max_length=255, blank=True, default="",
        help_text=_("The userName or displayName of the resource, as the IdP sent it."),
    )
    subject_key = models.CharField(max_length=255, blank=True, default="", editable=False)
    email_key = models.CharField(max_length=254, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("provisioning log entry")
        verbose_name_plural = _("provisioning log")
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["integration", "-created"], name="scim_log_integration"),
            models.Index(fields=["integration", "outcome", "-created"], name="scim_log_integration_outcome"),
            models.Index(fields=["outcome", "-created"], name="scim_log_outcome"),
            models.Index(fields=["status", "-created"], name="scim_log_status"),
            # Prefix search (LIKE 'alice%') by index whatever the collation; partial: only
            # requests about one resource carry a subject, list requests do not.
            models.Index(fields=["subject_key"], name="scim_log_subject", opclasses=["varchar_pattern_ops"],
                         condition=~models.Q(subject_key="")),
            models.Index(fields=["email_key"], name="scim_log_email", opclasses=["varchar_pattern_ops"],
                         condition=~models.Q(email_key="")),
        ]
        permissions = [
            ("view_log_bodies", _("Can read and export SCIM request and response bodies")),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


def log_subject(obj: Any, body: Any) -> dict[str, str]:
    """``subject``, ``subject_key`` and ``email_key`` of a log entry.

    ``obj`` is the SCIM user or group the request touched (``None`` for a list, or a
    create that failed); ``body`` the request body, read when there is no ``obj``.
    The email is kept only when it differs from the subject (with Okta and Entra
    the userName is usually the email: one index entry is enough).
    """
    from scim_portal.mapping import EMAILS, primary_value
    from scim_portal.models.resources import fold

    document = body if isinstance(body, dict) else {}
    subject = getattr(obj, "user_name", None) or getattr(obj, "display_name", None)
    if obj is None:
        subject = document.get("userName") or document.get("displayName")
    email = getattr(obj, "email_key", None) if obj is not None else primary_value(document.get(EMAILS))
    subject = subject if isinstance(subject, str) else ""
    email_key = fold(email)[:254] if isinstance(email, str) else ""
    subject_key = fold(subject)[:255]
    return {"subject": subject[:255], "subject_key": subject_key,
            "email_key": "" if email_key == subject_key else email_key}


class Membership(models.TextChoices):
    JOINED = "joined", _("joined")
    LEFT = "left", _("left")


class MembershipChange(models.Model):
    """A person joined or left a group through SCIM.

    simple-history does not see the rows SCIM adds to and removes from the
    membership table in bulk, so each change is recorded here, after the request
    committed, and shown in the person's and the group's SCIM history.  Rows keep
    the ids and the group's name when the user or the group is gone.
    """

    created = models.DateTimeField(_("time"))
    integration = models.ForeignKey(
        "scim_portal.Integration", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("integration"),
    )
    # Nullable only so that the admin joins with LEFT JOIN: a row outlives its user and group.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+", verbose_name=_("user"),
    )
    group = models.ForeignKey(
        group_model_label(), null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+", verbose_name=_("group"),
    )
    group_name = models.CharField(_("group name"), max_length=255)
    change = models.CharField(_("change"), max_length=10, choices=Membership.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        db_index=False, related_name="+", verbose_name=_("by"),
    )
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("group membership change")
        verbose_name_plural = _("group membership changes")
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["user", "-created"], name="scim_membership_user"),
            models.Index(fields=["group", "-created"], name="scim_membership_group"),
            # The admin's unfiltered list, newest first.
            models.Index(fields=["-created", "-id"], name="scim_membership_created"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.change} {self.group_name}"
