from __future__ import annotations

from django.apps import AppConfig


class DjangoScim2HostConfig(AppConfig):
    name = "tests.djscim2_host"
    label = "djscim2_host"
    default_auto_field = "django.db.models.BigAutoField"
