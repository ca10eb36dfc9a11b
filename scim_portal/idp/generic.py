"""Any other SCIM 2.0 client (OneLogin, JumpCloud, PingFederate, Keycloak plugins...)."""

from __future__ import annotations

from typing import Any

from scim_portal.idp.base import Dialect
from scim_portal.idp.entra import entra_body, entra_operation
from scim_portal.scim.patch import Operation
from scim_portal.scim.schema import ResourceType


class GenericDialect(Dialect):
    """RFC 7644, plus every request shape a known IdP sends.

    A "generic" integration is often an Okta or Entra ID app that was set up as generic, so
    it reads their shapes too: Entra ID's (capitalised ops, booleans as strings, JSON-encoded
    app roles, removal by value, ``Replace`` creating a typed value) and Okta's (which are RFC already).  A host
    that wants strict RFC 7644 registers ``scim_portal.idp.base.Dialect`` itself.
    """

    name = "generic"
    label = "Generic SCIM 2.0"

    def prepare_resource(self, body: Any, resource_type: ResourceType) -> Any:
        return entra_body(body, resource_type)

    def patch_operation(self, operation: Operation, resource_type: ResourceType) -> list[Operation]:
        return entra_operation(operation, resource_type)
