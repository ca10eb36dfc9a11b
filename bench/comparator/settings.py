"""The comparator: a plain django-scim2 service provider, set up as its README and docs say.

- ``django_scim`` in INSTALLED_APPS, ``django_scim.urls`` mounted at ``/scim/v2/``;
- ``SCIM_SERVICE_PROVIDER`` with the two mandatory settings (NETLOC, AUTHENTICATION_SCHEMES);
- its own user and group models with ``AbstractSCIMUserMixin`` / ``AbstractSCIMGroupMixin``;
- authentication left to the host (the README's advice): a bearer-token middleware that
  logs the service account in, so the default "is authenticated" predicate passes;
- a user filter parser extended with externalId and emails.value (the documented way to
  filter on more attributes), so those lookups are compared rather than refused.
"""

from __future__ import annotations

import os

import dj_database_url

SECRET_KEY = "bench-comparator-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_scim",
    "bench.comparator.cmp_app.apps.CmpAppConfig",
]

MIDDLEWARE = [
    *(["bench.querycount.QueryCountMiddleware"] if os.environ.get("BENCH_QUERY_COUNT", "1") == "1" else []),
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "bench.comparator.cmp_app.auth.BearerTokenMiddleware",
]

ROOT_URLCONF = "bench.comparator.urls"
WSGI_APPLICATION = "bench.comparator.wsgi.application"
DATABASES = {"default": dj_database_url.config(default="postgres:///bench_comparator", conn_max_age=60)}
AUTH_USER_MODEL = "cmp_app.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

SCIM_SERVICE_PROVIDER = {
    "NETLOC": "localhost",
    "AUTHENTICATION_SCHEMES": [
        {"type": "oauth2", "name": "OAuth 2", "description": "Oauth 2 implemented with bearer token"},
    ],
    "GROUP_MODEL": "bench.comparator.cmp_app.models.Group",
    "USER_FILTER_PARSER": "bench.comparator.cmp_app.filters.UserFilterQuery",
}
