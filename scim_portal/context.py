"""Who is calling: the credential, its integration and the service account.

Built by authentication in ``api/`` and read by the layers below it (provisioning,
resources, history), which never import from ``api/``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from scim_portal.models import Integration


@dataclass(frozen=True)
class ScimContext:
    """What every SCIM operation knows about its caller.

    ``credential`` is the object that authenticated the request (a
    ``ScimToken`` or an OAuth access token); ``scopes`` what it may do.
    ``first_use`` is true when this is the credential's first request in
    ``TOKEN_LAST_USED_PRECISION`` seconds (its use was recorded by this request):
    with ``LOG_READS = "sampled"`` only such successful reads are logged.
    """

    integration: Integration
    actor: Any
    credential: Any
    credential_label: str
    scopes: frozenset[str] = frozenset({"read", "write"})
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    first_use: bool = False

    @property
    def dialect(self):
        return self.integration.dialect
