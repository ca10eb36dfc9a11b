"""The floor: plain Django views, each doing the least a SCIM server must do for a request."""

from __future__ import annotations

import os

import dj_database_url

SECRET_KEY = "bench-bare-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["bench.bare.bare_app.apps.BareAppConfig"]
MIDDLEWARE = [
    *(["bench.querycount.QueryCountMiddleware"] if os.environ.get("BENCH_QUERY_COUNT", "1") == "1" else []),
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
DATABASES = {"default": dj_database_url.config(default="postgres:///bench_bare", conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
