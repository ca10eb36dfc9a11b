"""IdP dialects: the only place that knows how one identity provider differs from another.

Each integration names its provider; the provider's dialect class carries that IdP's quirks
as code (``okta.py``, ``entra.py``), ``generic.py`` accepts every shape a known IdP sends,
and ``base.py`` is plain RFC 7644.  A host adds its own through ``SCIM_PORTAL["DIALECTS"]``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

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

logger = logging.getLogger("scim_portal")


@lru_cache(maxsize=64)
def load_dialect(path: str) -> type[Dialect]:
    """The class a dotted path names; ``ImportError`` or ``TypeError`` when it is not a dialect."""
    return dialect_class(import_string(path), path)


def dialect_class(found: Any, path: object = None) -> type[Dialect]:
    """``found`` if it is a usable dialect (a subclass of :class:`Dialect`), else ``TypeError``.

    The one rule for check ``scim_portal.E031`` and for :func:`custom_dialects`.
    """
    if not (isinstance(found, type) and issubclass(found, Dialect)):
        name = path if path is not None else getattr(found, "__qualname__", repr(found))
        raise TypeError(f"{name} is not a subclass of scim_portal.idp.base.Dialect.")
    return found


def resolve(value: object) -> type[Dialect]:
    """A ``SCIM_PORTAL["DIALECTS"]`` value (a class or its dotted path) as a dialect class.

    ``ImportError``, ``TypeError`` or ``ValueError`` when it does not name a usable dialect.
    """
    return dialect_class(value) if isinstance(value, type) else load_dialect(str(value))


def custom_dialects() -> dict[str, type[Dialect]]:
    """``SCIM_PORTAL["DIALECTS"]``, loaded; an entry that is not a usable dialect is left out.

    Check ``scim_portal.E031`` reports it; at runtime (where checks do not run) it is logged
    once per process, and the integrations naming its key get the generic dialect: never an
    error on each of their requests.
    """
    result: dict[str, type[Dialect]] = {}
    for key, value in app_settings.DIALECTS.items():
        try:
            result[str(key)] = resolve(value)
        except (ImportError, TypeError, ValueError) as exc:
            _report_unusable(str(key), repr(value), str(exc))
    return result


@lru_cache(maxsize=64)
def _report_unusable(key: str, value: str, reason: str) -> None:
    logger.error("SCIM_PORTAL['DIALECTS'][%r] = %s is not an IdP dialect (%s); its integrations use "
                 "the generic dialect (check scim_portal.E031).", key, value, reason)


def registry() -> dict[str, type[Dialect]]:
    """Every dialect by provider key: the built-in ones, then the host's (which may replace them)."""
    return {**BUILT_IN, **custom_dialects()}


def get_dialect(provider: str) -> Dialect:
    """The dialect of a provider; an unknown provider gets the generic dialect."""
    return registry().get(provider, GenericDialect)()


__all__ = [
    "BUILT_IN", "DIALECTS", "Dialect", "OAuthDefaults", "custom_dialects", "dialect_class", "get_dialect",
    "registry", "resolve",
]
