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
    "DOCS_URL": None,
    "EXTENSION_SCHEMAS": [],
    "UNKNOWN_MEMBERS": "reject",
    "LOG_REQUESTS": True,
    "LOG_READS": "sampled",
    "LOG_BODY_BYTES": 16 * 1024,
    "LOG_RETENTION_DAYS": 90,
    # -- guard rails (docs/guard-rails.md)
    "BRAKE_ENABLED": True,
    "BRAKE_MAX_COUNT": 50,
    "BRAKE_MAX_PERCENT": 10,
    "BRAKE_WINDOW_MINUTES": 10,
    "BRAKE_RETRY_AFTER": 900,
    "BRAKE_NOTIFY_EMAILS": [],
    "ACCESS_REVIEW_CHUNK_SIZE": 2000,
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
    # -- IdP dialects (docs/extending.md)
    "DIALECTS": {},
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
    def DIALECTS(self) -> dict[str, str]:
        """Provider key -> dotted path of a ``scim_portal.idp.base.Dialect`` subclass."""
        value = self._get("DIALECTS")
        return dict(value) if isinstance(value, dict) else {}

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
    def DOCS_URL(self) -> str | None:
        """Root of the published scim_portal docs; the admin's setup guides link to their page there."""
        return self._get("DOCS_URL")

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
    def LOG_READS(self) -> str:
        return str(self._get("LOG_READS"))

    @property
    def LOG_BODY_BYTES(self) -> int:
        return int(self._get("LOG_BODY_BYTES"))

    @property
    def LOG_RETENTION_DAYS(self) -> int:
        return int(self._get("LOG_RETENTION_DAYS"))

    # -- guard rails

    @property
    def BRAKE_ENABLED(self) -> bool:
        """Default for integrations without their own brake setting."""
        return bool(self._get("BRAKE_ENABLED"))

    @property
    def BRAKE_MAX_COUNT(self) -> int:
        """The brake trips past this many deprovisionings in the window (and past the share)."""
        return int(self._get("BRAKE_MAX_COUNT"))

    @property
    def BRAKE_MAX_PERCENT(self) -> int:
        """... and past this share (percent) of the integration's active users."""
        return int(self._get("BRAKE_MAX_PERCENT"))

    @property
    def BRAKE_WINDOW_MINUTES(self) -> int:
        return int(self._get("BRAKE_WINDOW_MINUTES"))

    @property
    def BRAKE_RETRY_AFTER(self) -> int:
        """Seconds sent in ``Retry-After`` with a held request's 503."""
        return int(self._get("BRAKE_RETRY_AFTER"))

    @property
    def BRAKE_NOTIFY_EMAILS(self) -> list[str]:
        """Told when a brake trips, besides the integration's own list (``ADMINS`` when both are empty)."""
        return list(self._get("BRAKE_NOTIFY_EMAILS"))

    @property
    def ACCESS_REVIEW_CHUNK_SIZE(self) -> int:
        """Users read per query by the access review."""
        return int(self._get("ACCESS_REVIEW_CHUNK_SIZE"))

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
