"""IdP dialects: the only place that knows how one identity provider differs from another."""

from __future__ import annotations

from scim_portal.idp.base import Dialect
from scim_portal.idp.entra import EntraDialect
from scim_portal.idp.generic import GenericDialect
from scim_portal.idp.okta import OktaDialect

DIALECTS: dict[str, type[Dialect]] = {
    "okta": OktaDialect,
    "entra": EntraDialect,
    "generic": GenericDialect,
}


def get_dialect(provider: str) -> Dialect:
    """The dialect of a provider; an unknown provider falls back to strict RFC behaviour."""
    return DIALECTS.get(provider, GenericDialect)()


__all__ = ["DIALECTS", "Dialect", "get_dialect"]
