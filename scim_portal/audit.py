"""The provisioning log: one row per SCIM request, written after the request's
own transaction has finished, so a failed request is logged and a logged
success was committed.  Passwords and secrets are removed and bodies capped."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from scim_portal.conf import app_settings
from scim_portal.models import Outcome, ProvisioningLog

logger = logging.getLogger("scim_portal.audit")

SECRET_KEYS = frozenset({"password", "client_secret", "access_token", "refresh_token", "token", "secret"})
REDACTED = "[removed]"


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret-bearing keys replaced."""
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def capped(value: Any) -> Any:
    """The value itself when its JSON is small enough, else a truncated preview."""
    if value is None:
        return None
    limit = app_settings.LOG_BODY_BYTES
    text = json.dumps(value, default=str)
    if len(text) <= limit:
        return value
    return {"truncated": True, "size": len(text), "preview": text[:limit]}


def write_log(**fields: Any) -> ProvisioningLog | None:
    """Insert one log row; a logging failure never breaks the SCIM response."""
    if not app_settings.LOG_REQUESTS:
        return None
    fields["request_body"] = capped(redact(fields.get("request_body")))
    fields["response_body"] = capped(redact(fields.get("response_body")))
    fields["outcome"] = Outcome.SUCCESS if fields["status"] < 400 else Outcome.FAILURE
    fields.setdefault("created", timezone.now())
    try:
        with transaction.atomic():
            return ProvisioningLog.objects.create(**fields)
    except DatabaseError:
        logger.exception("Could not write the provisioning log entry")
        return None


def prune(days: int | None = None) -> int:
    """Delete log rows older than ``days`` (default ``LOG_RETENTION_DAYS``); return how many."""
    days = app_settings.LOG_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = ProvisioningLog.objects.filter(created__lt=cutoff).delete()
    return deleted
