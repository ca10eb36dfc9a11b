"""Host (b): a custom email-login user with a required ``employee_number`` (no
default) that the host's adapter fills, on PostgreSQL (SQLite with
``SCIM_PORTAL_TEST_DB=sqlite``, for a quick local run)."""

from __future__ import annotations

from tests.hosts.base import *  # noqa: F403
from tests.hosts.base import INSTALLED_APPS, host_app_path
from tests.pgcluster import SQLITE_AS_DOCUMENTED, database_settings

host_app_path(__file__)
INSTALLED_APPS = [*INSTALLED_APPS, "emailhost"]
AUTH_USER_MODEL = "emailhost.User"
SCIM_PORTAL = {"ADAPTER": "emailhost.scim.EmailHostAdapter"}
SCIM_PORTAL_TEST_HOST = "emaillogin"

DATABASES = database_settings(default="postgres", sqlite_options=SQLITE_AS_DOCUMENTED)
