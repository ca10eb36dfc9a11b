"""Test settings: the example portal's settings on SQLite, or on a throwaway
PostgreSQL cluster started here when ``SCIM_PORTAL_TEST_DB=postgres``."""

from __future__ import annotations

from portal_site.settings import *  # noqa: F403
from tests.pgcluster import database_settings

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SCIM_PORTAL = {"ADAPTER": "portal.scim.PortalScimAdapter"}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DATABASES = database_settings()
