"""IdP dialects: the only place that knows how one identity provider differs from another.

Each integration names its provider; the provider's dialect class carries that IdP's quirks
as code (``okta.py``, ``entra.py``), ``generic.py`` accepts every shape a known IdP sends,
and ``base.py`` is plain RFC 7644.  A host adds its own through ``SCIM_PORTAL["DIALECTS"]``.
"""

from __future__ import annotations

from functools import lru_cache

from django.utils.module_loading import import_string

from scim_portal.conf import app_settings
from scim_portal.idp.base import Dialect, OAuthDefaults
from scim_portal.idp.entra import EntraDialect
from scim_portal.idp.generic import GenericDialect
from scim_portal.idp.okta import OktaDialect

#: The dialects shipped with scim_portal, by provider key (``Integration.provider``).
BUILT_IN: dict[str, type[Dialect]] = {
    "okta": OktaDialect,
    "entra": EntraDialect,
    "generic": GenericDialect,
}
DIALECTS = BUILT_IN  # the name earlier releases exported

#: Longest provider key ``Integration.provider`` stores.
MAX_KEY_LENGTH = 20


@lru_cache(maxsize=64)
def load_dialect(path: str) -> type[Dialect]:
    """The class a dotted path names; ``ImportError`` or ``TypeError`` when it is not a dialect."""
    found = import_string(path)
    if not (isinstance(found, type) and issubclass(found, Dialect)):
        raise TypeError(f"{path} is not a subclass of scim_portal.idp.base.Dialect.")
    return found


def custom_dialects() -> dict[str, type[Dialect]]:
    """``SCIM_PORTAL["DIALECTS"]``, loaded; entries that do not load are left out (check E030)."""
    result: dict[str, type[Dialect]] = {}
    for key, path in app_settings.DIALECTS.items():
        try:
            result[str(key)] = path if isinstance(path, type) else load_dialect(str(path))
        except (ImportError, TypeError, ValueError):
            continue
    return result


def registry() -> dict[str, type[Dialect]]:
    """Every dialect by provider key: the built-in ones, then the host's (which may replace them)."""
    return {**BUILT_IN, **custom_dialects()}


def get_dialect(provider: str) -> Dialect:
    """The dialect of a provider; an unknown provider gets the generic dialect."""
    return registry().get(provider, GenericDialect)()


__all__ = ["BUILT_IN", "DIALECTS", "Dialect", "OAuthDefaults", "custom_dialects", "get_dialect", "registry"]
