"""Host (a): Django's stock ``auth.User``, the default adapter, no attribute map,
SQLite as docs/install.md configures it (PostgreSQL with ``SCIM_PORTAL_TEST_DB=postgres``,
for the tests that need row locks and real concurrency)."""

from __future__ import annotations

import os

from tests.hosts.base import *  # noqa: F403
from tests.hosts.base import INSTALLED_APPS, host_app_path

host_app_path(__file__)
INSTALLED_APPS = [*INSTALLED_APPS, "stockhost"]
SCIM_PORTAL_TEST_HOST = "stock"

if os.environ.get("SCIM_PORTAL_TEST_DB", "sqlite") == "postgres":
    from tests.pgcluster import start_cluster

    _cluster = start_cluster()
    DATABASES = {"default": _cluster.django_database()}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            # As docs/install.md: writers queue for the lock instead of failing with
            # "database is locked" (Django 5.1+).
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            "TEST": {"NAME": os.environ.get("SCIM_PORTAL_SQLITE_TEST_NAME", "")},
        }
    }
