"""System checks (ids ``scim_portal.E0xx`` / ``W0xx``).  They never query the
database (they run before ``migrate``) and never raise."""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import models
from django.utils.module_loading import import_string

from scim_portal.conf import DEFAULTS, app_settings
from scim_portal.models.guard import MAX_WINDOW_MINUTES

REQUIRED_APPS = ("django.contrib.auth", "django.contrib.contenttypes", "oauth2_provider")


@checks.register()
def check_installed_apps(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"{app} must be in INSTALLED_APPS for scim_portal.",
            hint=f'Add "{app}" to INSTALLED_APPS.',
            id="scim_portal.E001",
        )
        for app in REQUIRED_APPS
        if not apps.is_installed(app)
    ]


UNKNOWN_MEMBER_CHOICES = ("reject", "ignore")
LOG_READS_CHOICES = ("sampled", "all")


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    raw = getattr(settings, "SCIM_PORTAL", {})
    if not isinstance(raw, dict):
        return [checks.Error("SCIM_PORTAL must be a dict.", hint="See docs/settings.md.",
                             id="scim_portal.E002")]
    errors: list[checks.CheckMessage] = []
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        errors.append(checks.Error(
            f"Unknown SCIM_PORTAL key(s): {', '.join(unknown)}.",
            hint="Check the spelling against docs/settings.md.", id="scim_portal.E003"))
    errors += check_sizes()
    errors += check_adapter()
    errors += check_dialects()
    if app_settings.UNKNOWN_MEMBERS not in UNKNOWN_MEMBER_CHOICES:
        errors.append(checks.Error(
            f"SCIM_PORTAL['UNKNOWN_MEMBERS'] must be one of {', '.join(UNKNOWN_MEMBER_CHOICES)}.",
            hint='"reject" (the default) answers 400; "ignore" applies the known members.',
            id="scim_portal.E011"))
    if app_settings.LOG_READS not in LOG_READS_CHOICES:
        errors.append(checks.Error(
            f"SCIM_PORTAL['LOG_READS'] must be one of {', '.join(LOG_READS_CHOICES)}.",
            hint='"sampled" (the default) logs a credential\'s first successful read in '
                 'TOKEN_LAST_USED_PRECISION seconds; "all" logs every read.',
            id="scim_portal.E013"))
    return errors


def check_sizes() -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name in ("DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "MAX_BODY_BYTES", "MAX_FILTER_LENGTH",
                 "MAX_OPERATIONS"):
        try:
            value = getattr(app_settings, name)
        except (TypeError, ValueError):
            value = -1
        if value <= 0:
            errors.append(checks.Error(
                f"SCIM_PORTAL['{name}'] must be a positive integer.",
                hint=f"Remove it to use the default ({DEFAULTS[name]}).", id="scim_portal.E004"))
    if not errors and app_settings.DEFAULT_PAGE_SIZE > app_settings.MAX_PAGE_SIZE:
        errors.append(checks.Error(
            "SCIM_PORTAL['DEFAULT_PAGE_SIZE'] is larger than MAX_PAGE_SIZE.",
            hint="Lower DEFAULT_PAGE_SIZE or raise MAX_PAGE_SIZE.", id="scim_portal.E004"))
    return errors


def check_adapter() -> list[checks.CheckMessage]:
    value = app_settings.user_settings().get("ADAPTER", DEFAULTS["ADAPTER"])
    try:
        adapter = import_string(value) if isinstance(value, str) else value
    except ImportError as exc:
        return [checks.Error(f"SCIM_PORTAL['ADAPTER'] cannot be imported: {exc}.",
                             hint="Give the dotted path of a ScimAdapter subclass.",
                             id="scim_portal.E005")]
    from scim_portal.adapter import ScimAdapter

    if not (isinstance(adapter, type) and issubclass(adapter, ScimAdapter)):
        return [checks.Error("SCIM_PORTAL['ADAPTER'] is not a ScimAdapter subclass.",
                             hint="Subclass scim_portal.adapter.ScimAdapter.", id="scim_portal.E005")]
    return []


def check_dialects() -> list[checks.CheckMessage]:
    """``DIALECTS``: provider keys ``Integration.provider`` can store, each naming a dialect class."""
    from scim_portal.idp import MAX_KEY_LENGTH, resolve

    raw = (getattr(settings, "SCIM_PORTAL", {}) or {}).get("DIALECTS", {})
    if not isinstance(raw, dict):
        return [checks.Error("SCIM_PORTAL['DIALECTS'] must be a dict of provider key to dotted path.",
                             hint='For example {"keycloak": "portal.scim.KeycloakDialect"}.',
                             id="scim_portal.E030")]
    errors: list[checks.CheckMessage] = []
    for key, path in raw.items():
        if not isinstance(key, str) or not re.fullmatch(rf"[a-z0-9_-]{{1,{MAX_KEY_LENGTH}}}", key):
            errors.append(checks.Error(
                f"SCIM_PORTAL['DIALECTS'] key {key!r} is not a provider key.",
                hint=f"Use lower-case letters, digits, '-' or '_', at most {MAX_KEY_LENGTH} characters "
                     "(Integration.provider stores it).", id="scim_portal.E030"))
        try:
            resolve(path)
        except (ImportError, TypeError, ValueError) as exc:
            errors.append(checks.Error(
                f"SCIM_PORTAL['DIALECTS'][{key!r}] does not name an IdP dialect: {exc}",
                hint="Give the dotted path of a subclass of scim_portal.idp.base.Dialect.",
                id="scim_portal.E031"))
    return errors


@checks.register(checks.Tags.models)
def check_models(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        group_model = apps.get_model(app_settings.GROUP_MODEL)
    except (LookupError, ValueError):
        return [checks.Error(
            f"SCIM_PORTAL_GROUP_MODEL '{app_settings.GROUP_MODEL}' is not an installed model.",
            hint='Use "app_label.ModelName", e.g. "auth.Group".', id="scim_portal.E006")]
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    errors: list[checks.CheckMessage] = []
    try:
        field = user_model._meta.get_field(app_settings.USER_GROUPS_FIELD)
    except Exception:
        field = None
    if not isinstance(field, models.ManyToManyField) or field.related_model is not group_model:
        errors.append(checks.Error(
            f"{user_model.__name__}.{app_settings.USER_GROUPS_FIELD} is not a many-to-many field "
            f"to {app_settings.GROUP_MODEL}.",
            hint="Set SCIM_PORTAL['USER_GROUPS_FIELD'] to the user model's M2M field to the group model.",
            id="scim_portal.E007"))
    try:
        group_model._meta.get_field(app_settings.GROUP_NAME_FIELD)
    except Exception:
        errors.append(checks.Error(
            f"{group_model.__name__} has no field '{app_settings.GROUP_NAME_FIELD}'.",
            hint="Set SCIM_PORTAL['GROUP_NAME_FIELD'] to the group model's name field.",
            id="scim_portal.E008"))
    errors += check_attribute_map(user_model)
    errors += check_active_field(user_model)
    errors += check_required_fields(user_model)
    return errors


def check_active_field(user_model: type[models.Model]) -> list[checks.CheckMessage]:
    """A deactivation must switch the login off: the map or the model must give ``active`` a field."""
    from scim_portal.mapping import host_active_field

    mapping = app_settings.USER_ATTRIBUTE_MAP
    if isinstance(mapping, dict) and any(str(path).lower() == "active" for path in mapping):
        return []
    if host_active_field() is not None:
        return []
    return [checks.Error(
        f"{user_model.__name__} has no boolean is_active field and USER_ATTRIBUTE_MAP does not map "
        "active: an IdP deactivation could not stop the person from logging in.",
        hint='Add an is_active BooleanField, or map "active" to the boolean field your login checks.',
        id="scim_portal.E012")]


def check_attribute_map(user_model: type[models.Model]) -> list[checks.CheckMessage]:
    mapping = app_settings.USER_ATTRIBUTE_MAP
    if mapping is None:
        return []
    if not isinstance(mapping, dict) or not mapping.get("userName"):
        return [checks.Error("SCIM_PORTAL['USER_ATTRIBUTE_MAP'] must be a dict that maps userName.",
                             hint='For example {"userName": "email"}.', id="scim_portal.E009")]
    names = {f.name for f in user_model._meta.get_fields()}
    return [
        checks.Error(
            f"SCIM_PORTAL['USER_ATTRIBUTE_MAP'] maps {path} to unknown field '{field}'.",
            hint=f"Fields of {user_model.__name__}: {', '.join(sorted(names))}.",
            id="scim_portal.E010")
        for path, field in mapping.items()
        if field not in names
    ]


def check_required_fields(user_model: type[models.Model]) -> list[checks.CheckMessage]:
    """W030: a field the user model requires that neither the map nor the adapter fills.

    Such a field would otherwise be saved as ``''``; scim_portal answers such a create
    with 400 ``invalidValue`` naming the field, so every create would fail.
    """
    from scim_portal.adapter import required_user_fields
    from scim_portal.mapping import default_user_attribute_map

    mapping = app_settings.USER_ATTRIBUTE_MAP
    if mapping is None:
        mapping = default_user_attribute_map()
    elif not isinstance(mapping, dict):
        return []  # reported as E009
    try:
        filled = tuple(getattr(app_settings.ADAPTER, "filled_user_fields", ()))
    except Exception:
        return []  # reported as E005
    return [
        checks.Warning(
            f"{user_model.__name__}.{field.name} is required (blank=False, no default) but no SCIM "
            "attribute is mapped to it and the adapter does not fill it: every SCIM create will be "
            "refused with 400 invalidValue.",
            hint=f"Map an attribute to it in SCIM_PORTAL['USER_ATTRIBUTE_MAP'], or fill it in your "
                 f"adapter's new_user() and add '{field.name}' to its filled_user_fields; see "
                 "docs/extending.md#required-user-fields.",
            id="scim_portal.W030")
        for field in required_user_fields([*mapping.values(), *filled])
    ]


@checks.register()
def check_sqlite_writes(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """SQLite in its default (deferred) transaction mode fails concurrent writers at once.

    A deferred transaction that reads and then writes cannot wait for the write lock
    (SQLite answers ``database is locked`` without using its timeout), so two IdP
    workers writing at once make a 500.  ``BEGIN IMMEDIATE`` takes the lock first and
    waits for it up to ``timeout`` seconds (Django 5.1+).  In-memory databases serve one
    process (tests) and are left alone.  Reads settings only: no connection is opened.
    """
    from django.contrib.auth import get_user_model
    from django.db import router

    from scim_portal.models import ScimUser

    aliases = {router.db_for_write(ScimUser), router.db_for_write(get_user_model())}
    return [
        checks.Warning(
            f"DATABASES['{alias}'] is SQLite in its default transaction mode: IdP requests that "
            "write at the same time fail with \"database is locked\".",
            hint='Add "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20} to it, or use '
                 "PostgreSQL for more than one IdP worker.",
            id="scim_portal.W012")
        for alias in sorted(aliases)
        if sqlite_without_immediate(settings.DATABASES.get(alias) or {})
    ]


def sqlite_without_immediate(database: dict[str, Any]) -> bool:
    if not str(database.get("ENGINE", "")).endswith("sqlite3"):
        return False
    name = str(database.get("NAME", ""))
    if name in ("", ":memory:") or "mode=memory" in name:
        return False
    options = database.get("OPTIONS") or {}
    return str(options.get("transaction_mode", "")).upper() != "IMMEDIATE"


@checks.register()
def check_credentials(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Token, OAuth and rate-limit settings (docs/authentication-developers.md)."""
    if not isinstance(getattr(settings, "SCIM_PORTAL", {}), dict):
        return []  # reported as E002
    return [*check_token_settings(), *check_oauth_scopes(), *check_rate_limit(), *check_oauth_toolkit()]


def check_token_settings() -> list[checks.CheckMessage]:
    try:
        valid = app_settings.MAX_ACTIVE_TOKENS > 0 and app_settings.TOKEN_ROTATION_GRACE >= 0
    except (TypeError, ValueError):
        valid = False
    if valid:
        return []
    return [checks.Error(
        "SCIM_PORTAL['MAX_ACTIVE_TOKENS'] must be a positive integer and TOKEN_ROTATION_GRACE "
        "a number of seconds (0 or more).",
        hint="Remove them to use the defaults (2 tokens, 3600 seconds).", id="scim_portal.E022")]


def check_oauth_scopes() -> list[checks.CheckMessage]:
    names = [app_settings.OAUTH_READ_SCOPE, app_settings.OAUTH_WRITE_SCOPE]
    if all(isinstance(n, str) and n and n.split() == [n] for n in names) and names[0] != names[1]:
        return []
    return [checks.Error(
        "SCIM_PORTAL['OAUTH_READ_SCOPE'] and ['OAUTH_WRITE_SCOPE'] must be two different "
        "non-empty scope names without spaces.",
        hint='For example "scim.read" and "scim.write" (the defaults).', id="scim_portal.E020")]


def check_rate_limit() -> list[checks.CheckMessage]:
    from scim_portal.api.throttling import parse_rate

    errors: list[checks.CheckMessage] = []
    for name in ("RATE_LIMIT", "UNAUTHENTICATED_RATE_LIMIT"):
        rate = getattr(app_settings, name)
        try:
            if rate is not None:
                parse_rate(rate)
        except ValueError as exc:
            errors.append(checks.Error(f"SCIM_PORTAL['{name}']: {exc}",
                                       hint='For example "600/min", or None for no limit.', id="scim_portal.E021"))
    if errors:
        return errors
    alias = app_settings.RATE_LIMIT_CACHE
    backend = getattr(settings, "CACHES", {}).get(alias, {}).get("BACKEND", "")
    if not backend:
        return [checks.Error(f"SCIM_PORTAL['RATE_LIMIT_CACHE'] names no cache: '{alias}'.",
                             hint="Use an alias from CACHES.", id="scim_portal.E021")]
    # Both limits count in the same cache; the refusal limit is on by default.
    limits = [name for name in ("RATE_LIMIT", "UNAUTHENTICATED_RATE_LIMIT") if getattr(app_settings, name)]
    if not limits:
        return []
    kind = backend.rsplit(".", 1)[-1]
    if kind in ("FileBasedCache", "DummyCache"):
        # An error when the portal asked for RATE_LIMIT; only a warning for the refusal limit,
        # which is on by default: a portal whose cache is a file must not stop starting on upgrade.
        level, check_id = ((checks.Error, "scim_portal.E024") if app_settings.RATE_LIMIT is not None
                           else (checks.Warning, "scim_portal.W024"))
        return [level(
            f"{' and '.join(limits)} cannot be counted in the '{alias}' cache ({kind}): its increments are "
            "not atomic (file) or not kept (dummy), so concurrent requests pass the limit.",
            hint="Use Redis or Memcached (several app servers), a DatabaseCache (counted atomically in "
                 "scim_portal's own table), or local memory (one process); or set the limit to None.",
            id=check_id)]
    if kind == "LocMemCache" and app_settings.RATE_LIMIT is not None:
        return [checks.Warning(
            f"The rate limit counts in the '{alias}' cache ({kind}), which "
            "is not shared between processes: each app server process gets the whole allowance.",
            hint="Use a shared cache (Redis, Memcached, database) or set RATE_LIMIT_CACHE to one.",
            id="scim_portal.W020")]
    return []


def check_oauth_toolkit() -> list[checks.CheckMessage]:
    from oauth2_provider.oauth2_validators import OAuth2Validator
    from oauth2_provider.settings import oauth2_settings

    if not callable(getattr(OAuth2Validator, "_set_token_value", None)):
        # The hook scim_portal's validator overrides to store tokens as checksums only
        # (django-oauth-toolkit 3.4+): without it tokens would be stored in clear.
        return [checks.Error(
            "The installed django-oauth-toolkit has no OAuth2Validator._set_token_value, so "
            "scim_portal cannot keep OAuth tokens out of the database.",
            hint="Install django-oauth-toolkit>=3.4,<4 (the range scim-portal declares).",
            id="scim_portal.E023")]
    if not oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS:
        return []
    return [checks.Warning(
        "OAUTH2_PROVIDER['REFRESH_TOKEN_GRACE_PERIOD_SECONDS'] is set: scim_portal stores OAuth "
        "tokens as checksums only, so a refresh token reused within the grace period cannot "
        "return the tokens issued the first time, and the client gets an empty access token.",
        hint="Leave it at 0 (the default) when Okta uses scim_portal's OAuth endpoints.",
        id="scim_portal.W021")]


#: Guard-rail settings (docs/guard-rails.md) and their smallest and largest values.
GUARD_RAIL_RANGES = {
    "BRAKE_MAX_COUNT": (0, None), "BRAKE_MAX_PERCENT": (0, 100), "BRAKE_WINDOW_MINUTES": (1, MAX_WINDOW_MINUTES),
    "BRAKE_RETRY_AFTER": (0, None), "ACCESS_REVIEW_CHUNK_SIZE": (1, None),
}


@checks.register()
def check_guard_rails(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The brake and the access review read these on every request or page: a bad value would be a 500."""
    raw = getattr(settings, "SCIM_PORTAL", {})
    raw = raw if isinstance(raw, dict) else {}
    errors = []
    for name, (low, high) in GUARD_RAIL_RANGES.items():
        value = raw.get(name, DEFAULTS[name])
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high and value > high):
            errors.append(checks.Error(
                f"SCIM_PORTAL['{name}'] must be an integer from {low}" + (f" to {high}." if high else " up."),
                hint=f"Remove it to use the default ({DEFAULTS[name]}); see docs/guard-rails.md.",
                id="scim_portal.E050"))
    emails = raw.get("BRAKE_NOTIFY_EMAILS", [])
    if not isinstance(emails, (list, tuple)) or not all(isinstance(e, str) for e in emails):
        errors.append(checks.Error(
            "SCIM_PORTAL['BRAKE_NOTIFY_EMAILS'] must be a list of email addresses.",
            hint='For example ["it-ops@example.com"].', id="scim_portal.E050"))
    return errors
