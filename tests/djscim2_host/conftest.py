"""Collected only under its own settings (the host's user model is not the example portal's)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

HOST_SETTINGS = "tests.djscim2_host.settings"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if settings.SETTINGS_MODULE != HOST_SETTINGS and collection_path.suffix == ".py":
        return True
    return None
