"""Host (b): a custom email-login user with a required ``employee_number`` (no
default) that the host's adapter fills, on PostgreSQL (SQLite with
``SCIM_PORTAL_TEST_DB=sqlite``, for a quick local run)."""

from __future__ import annotations

import os

from tests.hosts.base import *  # noqa: F403
from tests.hosts.base import INSTALLED_APPS, host_app_path

host_app_path(__file__)
INSTALLED_APPS = [*INSTALLED_APPS, "emailhost"]
AUTH_USER_MODEL = "emailhost.User"
SCIM_PORTAL = {"ADAPTER": "emailhost.scim.EmailHostAdapter"}
SCIM_PORTAL_TEST_HOST = "emaillogin"

if os.environ.get("SCIM_PORTAL_TEST_DB", "postgres") == "postgres":
    from tests.pgcluster import start_cluster

    _cluster = start_cluster()
    DATABASES = {"default": _cluster.django_database()}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            "TEST": {"NAME": os.environ.get("SCIM_PORTAL_SQLITE_TEST_NAME", "")},
        }
    }
