from __future__ import annotations

from scim_portal.idp.base import Dialect


class GenericDialect(Dialect):
    """Strict RFC 7644 behaviour for any other SCIM 2.0 client."""
