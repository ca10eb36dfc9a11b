"""Typed, live access to the ``SCIM_PORTAL`` setting.

Every property reads ``django.conf.settings`` when it is accessed, so
``override_settings`` works in tests and nothing is frozen at import time.
Defaults are documented in ``docs/settings.md``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    "ADAPTER": "scim_portal.adapter.ScimAdapter",
    "USER_ATTRIBUTE_MAP": None,
    "GROUP_NAME_FIELD": "name",
    "USER_GROUPS_FIELD": "groups",
    "DEFAULT_PAGE_SIZE": 100,
    "MAX_PAGE_SIZE": 500,
    "MAX_BODY_BYTES": 1024 * 1024,
    "MAX_FILTER_LENGTH": 4096,
    "MAX_OPERATIONS": 1000,
    "TOKEN_PREFIX": "scim_",
    "TOKEN_LAST_USED_PRECISION": 60,
    "STORE_PASSWORDS": False,
    "BASE_URL": None,
    "EXTENSION_SCHEMAS": [],
    "UNKNOWN_MEMBERS": "reject",
    "LOG_REQUESTS": True,
    "LOG_BODY_BYTES": 16 * 1024,
    "LOG_RETENTION_DAYS": 90,
    # -- credentials (docs/authentication.md)
    "MAX_ACTIVE_TOKENS": 2,
    "TOKEN_ROTATION_GRACE": 3600,
    "OAUTH_READ_SCOPE": "scim.read",
    "OAUTH_WRITE_SCOPE": "scim.write",
    "OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "OAUTH_PKCE_REQUIRED": False,
    "OAUTH_APPROVE_PERMISSION": "scim_portal.manage_integration",
    "OAUTH_REDIRECT_URI_TEMPLATES": [
        "https://system-admin.okta.com/admin/app/cpc/{appName}/oauth/callback",
        "https://system-admin.okta-emea.com/admin/app/cpc/{appName}/oauth/callback",
        "https://system-admin.oktapreview.com/admin/app/cpc/{appName}/oauth/callback",
        "https://system-admin.trexcloud.com/admin/app/cpc/{appName}/oauth/callback",
        "https://system-admin.okta1.com:1802/admin/app/cpc/{appName}/oauth/callback",
    ],
    "RATE_LIMIT": None,
    "RATE_LIMIT_CACHE": "default",
    "UNAUTHENTICATED_RATE_LIMIT": "30/min",
}


def group_model_label() -> str:
    return getattr(settings, "SCIM_PORTAL_GROUP_MODEL", "auth.Group")


class AppSettings:
    """Read-through view of ``settings.SCIM_PORTAL`` with defaults."""

    def _get(self, name: str) -> Any:
        user = getattr(settings, "SCIM_PORTAL", {}) or {}
        return user.get(name, DEFAULTS[name])

    def user_settings(self) -> dict[str, Any]:
        return dict(getattr(settings, "SCIM_PORTAL", {}) or {})

    @property
    def ADAPTER(self) -> type:
        value = self._get("ADAPTER")
        return import_string(value) if isinstance(value, str) else value

    @property
    def USER_ATTRIBUTE_MAP(self) -> dict[str, str] | None:
        return self._get("USER_ATTRIBUTE_MAP")

    @property
    def GROUP_MODEL(self) -> str:
        """``settings.SCIM_PORTAL_GROUP_MODEL`` (a top-level setting, like ``AUTH_USER_MODEL``,
        because migrations point at it)."""
        return group_model_label()

    @property
    def GROUP_NAME_FIELD(self) -> str:
        return self._get("GROUP_NAME_FIELD")

    @property
    def USER_GROUPS_FIELD(self) -> str:
        return self._get("USER_GROUPS_FIELD")

    @property
    def DEFAULT_PAGE_SIZE(self) -> int:
        return int(self._get("DEFAULT_PAGE_SIZE"))

    @property
    def MAX_PAGE_SIZE(self) -> int:
        return int(self._get("MAX_PAGE_SIZE"))

    @property
    def MAX_BODY_BYTES(self) -> int:
        return int(self._get("MAX_BODY_BYTES"))

    @property
    def MAX_FILTER_LENGTH(self) -> int:
        return int(self._get("MAX_FILTER_LENGTH"))

    @property
    def MAX_OPERATIONS(self) -> int:
        return int(self._get("MAX_OPERATIONS"))

    @property
    def TOKEN_PREFIX(self) -> str:
        return self._get("TOKEN_PREFIX")

    @property
    def TOKEN_LAST_USED_PRECISION(self) -> int:
        return int(self._get("TOKEN_LAST_USED_PRECISION"))

    @property
    def STORE_PASSWORDS(self) -> bool:
        return bool(self._get("STORE_PASSWORDS"))

    @property
    def BASE_URL(self) -> str | None:
        return self._get("BASE_URL")

    @property
    def EXTENSION_SCHEMAS(self) -> list[dict[str, Any]]:
        return list(self._get("EXTENSION_SCHEMAS"))

    @property
    def UNKNOWN_MEMBERS(self) -> str:
        """``"reject"`` (400 naming the ids, nothing changed) or ``"ignore"`` (apply the rest)."""
        return str(self._get("UNKNOWN_MEMBERS"))

    @property
    def LOG_REQUESTS(self) -> bool:
        return bool(self._get("LOG_REQUESTS"))

    @property
    def LOG_BODY_BYTES(self) -> int:
        return int(self._get("LOG_BODY_BYTES"))

    @property
    def LOG_RETENTION_DAYS(self) -> int:
        return int(self._get("LOG_RETENTION_DAYS"))

    # -- credentials

    @property
    def MAX_ACTIVE_TOKENS(self) -> int:
        """Most unexpired, unrevoked, not-yet-rotated permanent tokens per integration."""
        return int(self._get("MAX_ACTIVE_TOKENS"))

    @property
    def TOKEN_ROTATION_GRACE(self) -> int:
        """Seconds a rotated token keeps working by default (0: revoked at once)."""
        return int(self._get("TOKEN_ROTATION_GRACE"))

    @property
    def OAUTH_READ_SCOPE(self) -> str:
        return self._get("OAUTH_READ_SCOPE")

    @property
    def OAUTH_WRITE_SCOPE(self) -> str:
        return self._get("OAUTH_WRITE_SCOPE")

    @property
    def OAUTH_SCOPES(self) -> dict[str, str]:
        """OAuth scope name -> SCIM permission (``read`` or ``write``)."""
        return {self.OAUTH_READ_SCOPE: "read", self.OAUTH_WRITE_SCOPE: "write"}

    @property
    def OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS(self) -> int:
        return int(self._get("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS"))

    @property
    def OAUTH_PKCE_REQUIRED(self) -> bool:
        return bool(self._get("OAUTH_PKCE_REQUIRED"))

    @property
    def OAUTH_APPROVE_PERMISSION(self) -> str:
        return self._get("OAUTH_APPROVE_PERMISSION")

    @property
    def OAUTH_REDIRECT_URI_TEMPLATES(self) -> list[str]:
        return list(self._get("OAUTH_REDIRECT_URI_TEMPLATES"))

    @property
    def RATE_LIMIT(self) -> str | None:
        """``"<requests>/<sec|min|hour|day>"`` per credential, or ``None`` for no limit."""
        return self._get("RATE_LIMIT")

    @property
    def UNAUTHENTICATED_RATE_LIMIT(self) -> str | None:
        """Refused requests (401, 403 before authentication) per client address, e.g. ``"30/min"``."""
        return self._get("UNAUTHENTICATED_RATE_LIMIT")

    @property
    def RATE_LIMIT_CACHE(self) -> str:
        return self._get("RATE_LIMIT_CACHE")


app_settings = AppSettings()
