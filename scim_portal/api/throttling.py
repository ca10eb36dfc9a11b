"""Request rate limits, counted in Django's cache or in our own counter table.

``SCIM_PORTAL["RATE_LIMIT"] = "600/min"`` lets each token or OAuth client make
600 requests per clock minute; the next one gets 429 with ``Retry-After``
(the seconds until the window ends), which Okta and Entra ID honour before
retrying.

``UNAUTHENTICATED_RATE_LIMIT`` (default ``"30/min"``) bounds the requests a
client address may have refused (401, or 403 before a credential was accepted)
per window; past it, its requests get 429 before authentication and are not
written to the provisioning log, so nobody fills the disk with refused requests.

Counters are fixed windows, incremented atomically wherever several app servers
may share them:

* Redis and Memcached: ``cache.add`` + ``cache.incr`` (``INCR``/``incr`` are atomic);
* a database cache (``DatabaseCache``, whose ``incr`` reads and writes back):
  a :class:`~scim_portal.models.RateCounter` row, incremented by one
  ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement;
* local memory: atomic within its process only (each process gets the whole
  allowance; check ``scim_portal.W020``);
* file and dummy caches cannot count atomically: check ``scim_portal.E024``.
"""

from __future__ import annotations

import ipaddress
import math
import time
from typing import Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from scim_portal.conf import app_settings
from scim_portal.context import ScimContext
from scim_portal.models import RateCounter, ScimToken

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


def address_key(request: Request) -> str:
    """The client address as a counter key; IPv6 by its /64 (one host holds a whole /64).

    An IPv4 client reached through an IPv6 socket arrives as ``::ffff:1.2.3.4``: it is
    counted as the IPv4 address it is, not in the /64 every such client would share.
    """
    raw = str(request.META.get("REMOTE_ADDR") or "unknown")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return f"addr:{raw[:64]}"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.version == 6:
        return f"addr:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"addr:{address}"


# -- counters ------------------------------------------------------------------------------


def counter_cache() -> BaseCache:
    return caches[app_settings.RATE_LIMIT_CACHE]


def cache_key(name: str, period: int, window: int) -> str:
    return f"scim_portal:rate:{name}:{period}:{window}"


def hit(name: str, period: int, now: float) -> int:
    """Count one request for ``name`` in the window holding ``now``; return the window's count."""
    window = int(now // period)
    cache = counter_cache()
    if isinstance(cache, DatabaseCache):
        return database_hit(name, window * period)
    key = cache_key(name, period, window)
    cache.add(key, 0, timeout=period + 1)
    try:
        return int(cache.incr(key))
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, timeout=period + 1)
        return 1


def hits(name: str, period: int, now: float) -> int:
    """The window's count for ``name`` without counting (0 if none)."""
    window = int(now // period)
    cache = counter_cache()
    if isinstance(cache, DatabaseCache):
        row = RateCounter.objects.filter(name=name, period_start=window * period).values_list("hits", flat=True)
        return next(iter(row), 0)
    return int(cache.get(cache_key(name, period, window)) or 0)


UPSERT = (
    "INSERT INTO {table} (name, period_start, hits) VALUES (%s, %s, 1) "
    "ON CONFLICT (name) DO UPDATE SET "
    "hits = CASE WHEN {table}.period_start = excluded.period_start THEN {table}.hits + 1 ELSE 1 END, "
    "period_start = excluded.period_start "
    "RETURNING hits"
)


def database_hit(name: str, period_start: int) -> int:
    """One atomic statement: the row is created, incremented, or reset for a new window.

    PostgreSQL and SQLite (3.35+) take the same ``INSERT ... ON CONFLICT ... RETURNING``;
    the row lock held by the conflicting update serialises concurrent requests.
    """
    using = router.db_for_write(RateCounter)
    connection = connections[using]
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(UPSERT.format(table=table), [name[:150], period_start])
        return int(cursor.fetchone()[0])


# -- throttles -----------------------------------------------------------------------------


class CredentialRateThrottle(BaseThrottle):
    """DRF throttle over ``SCIM_PORTAL["RATE_LIMIT"]``; does nothing when it is ``None``."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        context = request.auth
        if not app_settings.RATE_LIMIT or not isinstance(context, ScimContext):
            return True
        limit, period = parse_rate(app_settings.RATE_LIMIT)
        now = time.time()
        if hit(credential_key(context), period, now) <= limit:
            return True
        self.retry_after = (int(now // period) + 1) * period - now
        return False

    def wait(self) -> float | None:
        return None if self.retry_after is None else max(1, math.ceil(self.retry_after))


class RefusalLimit:
    """``UNAUTHENTICATED_RATE_LIMIT``: refused requests per client address and window."""

    @staticmethod
    def rate() -> tuple[int, int] | None:
        rate = app_settings.UNAUTHENTICATED_RATE_LIMIT
        return parse_rate(rate) if rate else None

    @classmethod
    def retry_after(cls, request: Request) -> int | None:
        """Seconds to wait when this address used up its refusals, else ``None`` (one cache read)."""
        rate = cls.rate()
        if rate is None:
            return None
        limit, period = rate
        now = time.time()
        if hits(address_key(request), period, now) < limit:
            return None
        return max(1, math.ceil((int(now // period) + 1) * period - now))

    @classmethod
    def record(cls, request: Request) -> None:
        """Count one refused request of this address."""
        rate = cls.rate()
        if rate is not None:
            hit(address_key(request), rate[1], time.time())
