"""Test settings: the example portal's settings on SQLite, or on a throwaway
PostgreSQL cluster started here when ``SCIM_PORTAL_TEST_DB=postgres``."""

from __future__ import annotations

import os

from portal_site.settings import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SCIM_PORTAL = {"ADAPTER": "portal.scim.PortalScimAdapter"}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if os.environ.get("SCIM_PORTAL_TEST_DB", "sqlite") == "postgres":
    from tests.pgcluster import start_cluster

    _cluster = start_cluster()
    DATABASES = {"default": _cluster.django_database()}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": os.environ.get("SCIM_PORTAL_SQLITE_TEST_NAME", "")},
        }
    }
