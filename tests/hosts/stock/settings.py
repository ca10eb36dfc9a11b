"""Host (a): Django's stock ``auth.User``, the default adapter, no attribute map,
SQLite as docs/install.md configures it (PostgreSQL with ``SCIM_PORTAL_TEST_DB=postgres``,
for the tests that need row locks and real concurrency)."""

from __future__ import annotations

from tests.hosts.base import *  # noqa: F403
from tests.hosts.base import INSTALLED_APPS, host_app_path
from tests.pgcluster import SQLITE_AS_DOCUMENTED, database_settings

host_app_path(__file__)
INSTALLED_APPS = [*INSTALLED_APPS, "stockhost"]
SCIM_PORTAL_TEST_HOST = "stock"

DATABASES = database_settings(sqlite_options=SQLITE_AS_DOCUMENTED)
