"""An integration's health, read from the provisioning log, its resources and credentials.

Every log read is a range scan of the ``(integration, outcome, -created)`` or
``(integration, -created)`` index with ``LIMIT``: the cost does not grow with
the millions of rows a busy log holds (``tests/test_admin_health.py`` counts
the queries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from scim_portal.models import Integration, ProvisioningLog, ScimGroup, ScimToken, ScimUser
from scim_portal.models.audit import Outcome
from scim_portal.selfcheck import PROBE_CREDENTIAL

#: Credentials expiring within this window are flagged.
EXPIRY_WARNING = dt.timedelta(days=14)
#: Failures are counted over this window.
FAILURE_WINDOW = dt.timedelta(hours=24)
#: How many of the latest requests are searched for the IdP's test call.
TEST_CALL_WINDOW = 200

LOG_FIELDS = ("created", "method", "path", "status", "outcome", "scim_type", "detail", "request_id")


@dataclass(frozen=True)
class Health:
    """What the integration page shows about an integration's traffic and credentials."""

    last_request: ProvisioningLog | None
    last_success: ProvisioningLog | None
    last_error: ProvisioningLog | None
    failures_24h: int
    managed_users: int
    managed_groups: int
    expiring: list[Any]
    test_call: ProvisioningLog | None


def idp_requests(**filters: Any) -> QuerySet[ProvisioningLog]:
    """Log rows of requests the IdP sent: the self-check's probe requests are left out."""
    return ProvisioningLog.objects.filter(**filters).exclude(credential=PROBE_CREDENTIAL)


def latest(integration: Integration, **filters: Any) -> ProvisioningLog | None:
    """The newest log row of the integration matching ``filters`` (one indexed LIMIT 1 query)."""
    return idp_requests(integration=integration, **filters).only(*LOG_FIELDS).order_by("-created", "-id").first()


def recent_failures(now: dt.datetime, **filters: Any) -> QuerySet[ProvisioningLog]:
    """The IdP's failed requests in the ``FAILURE_WINDOW`` before ``now``."""
    return idp_requests(outcome=Outcome.FAILURE, created__gte=now - FAILURE_WINDOW, **filters)


def expiring_tokens(now: dt.datetime, **filters: Any) -> QuerySet[ScimToken]:
    """Live tokens whose expiry falls within ``EXPIRY_WARNING`` of ``now``."""
    return ScimToken.objects.filter(**filters).expiring(EXPIRY_WARNING, now)


def is_test_call(entry: ProvisioningLog) -> bool:
    """A list or lookup of users: what Okta's "Test Connector Configuration" and Entra's
    "Test Connection" send (``GET /Users?startIndex=1&count=1``, ``GET /Users?filter=userName eq "…"``)."""
    path = entry.path.split("?", 1)[0].rstrip("/")
    return entry.method == "GET" and path.endswith("/Users")


def last_test_call(integration: Integration) -> ProvisioningLog | None:
    """The newest user list or lookup among the latest requests (one bounded query)."""
    recent = idp_requests(integration=integration).only(*LOG_FIELDS).order_by("-created", "-id")[:TEST_CALL_WINDOW]
    return next((entry for entry in recent if is_test_call(entry)), None)


def expiring_credentials(integration: Integration, now: dt.datetime) -> list[Any]:
    """Live tokens whose expiry falls within ``EXPIRY_WARNING``, soonest first."""
    return list(expiring_tokens(now, integration=integration).order_by("expires_at"))


def managed_users(integration: Integration) -> int:
    return ScimUser.objects.filter(integration=integration, deleted_at__isnull=True).count()


def managed_groups(integration: Integration) -> int:
    return ScimGroup.objects.filter(integration=integration, deleted_at__isnull=True).count()


def health(integration: Integration, now: dt.datetime | None = None) -> Health:
    """Eight queries, whatever the size of the log."""
    now = now or timezone.now()
    return Health(
        last_request=latest(integration),
        last_success=latest(integration, outcome=Outcome.SUCCESS),
        last_error=latest(integration, outcome=Outcome.FAILURE),
        failures_24h=recent_failures(now, integration=integration).count(),
        managed_users=managed_users(integration),
        managed_groups=managed_groups(integration),
        expiring=expiring_credentials(integration, now),
        test_call=last_test_call(integration),
    )


__all__ = ["Health", "health", "idp_requests", "is_test_call", "latest"]
