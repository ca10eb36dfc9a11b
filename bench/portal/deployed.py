"""The example portal as ``bench/deployed.py`` serves it: production switches on, and the
rate limit and its cache from the environment (``BENCH_RATE_LIMIT``, ``BENCH_CACHE`` =
``database`` or a Redis ``unix://`` socket URL)."""

from __future__ import annotations

import os

from portal_site.settings import *  # noqa: F403
from portal_site.settings import SCIM_PORTAL

DEBUG = False
# The race check switches one person off hundreds of times: the deprovisioning brake would
# hold most of those (rightly), and the check is about locks.
SCIM_PORTAL = {**SCIM_PORTAL, "RATE_LIMIT": os.environ.get("BENCH_RATE_LIMIT") or None, "BRAKE_ENABLED": False}

_cache = os.environ.get("BENCH_CACHE", "")
if _cache == "database":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "bench_cache"}}
elif _cache.startswith("unix://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache}}
