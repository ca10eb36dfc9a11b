"""A request rate limit per credential, counted in Django's cache.

``SCIM_PORTAL["RATE_LIMIT"] = "600/min"`` lets each token or OAuth client make
600 requests per clock minute; the next one gets 429 with ``Retry-After``
(the seconds until the window ends), which Okta and Entra ID honour before
retrying.  The counter is a fixed window incremented with ``cache.incr``,
atomic on Redis and Memcached, so several app servers sharing that cache
share the limit.  A per-process cache (local memory) limits each process
separately; system check ``scim_portal.W020`` says so.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from scim_portal.conf import app_settings
from scim_portal.context import ScimContext
from scim_portal.models import ScimToken

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` -> ``(600, 60)``; the period is read from its first letter (s, m, h, d).

    Raises ``ValueError`` for anything else.
    """
    count, _sep, period = str(rate).partition("/")
    seconds = PERIODS.get(period.strip()[:1].lower())
    if not count.strip().isdigit() or int(count) <= 0 or seconds is None:
        raise ValueError(f"Invalid rate {rate!r}: use '<requests>/<sec|min|hour|day>'.")
    return int(count), seconds


def credential_key(context: ScimContext) -> str:
    """A stable, non-secret key per credential: a token's digest, or an OAuth client's id.

    OAuth access tokens change every hour; the client they are issued to does not.
    """
    credential: Any = context.credential
    if isinstance(credential, ScimToken):
        return f"token:{credential.digest[:32]}"
    application = getattr(credential, "application", None)
    return f"oauth:{getattr(application, 'client_id', context.credential_label)}"


class CredentialRateThrottle(BaseThrottle):
    """DRF throttle over ``SCIM_PORTAL["RATE_LIMIT"]``; does nothing when it is ``None``."""

    cache_prefix = "scim_portal:rate"

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        context = request.auth
        if not app_settings.RATE_LIMIT or not isinstance(context, ScimContext):
            return True
        limit, period = parse_rate(app_settings.RATE_LIMIT)
        now = time.time()
        window = int(now // period)
        if self.count(f"{self.cache_prefix}:{credential_key(context)}:{period}:{window}", period) <= limit:
            return True
        self.retry_after = (window + 1) * period - now
        return False

    def count(self, key: str, period: int) -> int:
        """Increment the window's counter and return it (atomic where the cache backend is)."""
        cache = caches[app_settings.RATE_LIMIT_CACHE]
        cache.add(key, 0, timeout=period + 1)
        try:
            return cache.incr(key)
        except ValueError:  # the key expired between add() and incr()
            cache.set(key, 1, timeout=period + 1)
            return 1

    def wait(self) -> float | None:
        return None if self.retry_after is None else max(1, math.ceil(self.retry_after))
