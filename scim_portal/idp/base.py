"""The dialect class: what an identity provider may change, with RFC 7644 behaviour as default.

A dialect reshapes what its IdP sends into RFC shape before ``scim_portal.scim`` reads it
(:meth:`Dialect.prepare_resource`, :meth:`Dialect.prepare_patch`), and chooses response
statuses, required attributes, OAuth defaults and admin wording.  ``scim_portal.scim`` itself
knows no IdP.  Subclass it for another IdP and register it in ``SCIM_PORTAL["DIALECTS"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from scim_portal.scim.patch import Operation, operations_in, with_operations
from scim_portal.scim.schema import ResourceType


@dataclass(frozen=True)
class OAuthDefaults:
    """What the admin's "new OAuth client" form starts with for this IdP."""

    grant_type: str = "client-credentials"
    redirect_uris: tuple[str, ...] = ()


class Dialect:
    """RFC 7644 as written.  Every hook is a no-op or the RFC's answer."""

    name: ClassVar[str] = "generic"
    label: ClassVar[str] = "Generic SCIM 2.0"
    #: HTTP status of a successful group PATCH (RFC 7644 3.5.2): 204 No Content, so the answer
    #: does not grow with the group; 200 with the entire resource, members included, when the
    #: request names ``attributes``/``excludedAttributes`` (then the RFC requires 200).
    group_patch_status: ClassVar[int] = 204
    #: HTTP status of a successful user PATCH (same rule).
    user_patch_status: ClassVar[int] = 200
    #: What the admin chooses as the IdP's unique identifier for users.
    unique_identifier: ClassVar[str] = "userName"
    #: Attribute paths a create must carry beyond userName.
    required_user_attributes: ClassVar[tuple[str, ...]] = ()
    #: The IdP's own names of SCIM paths, so an error names what its admin sees in the mapping.
    attribute_labels: ClassVar[dict[str, str]] = {}
    #: Authentication mode to choose in the IdP, shown in the admin.
    auth_mode_hint: ClassVar[str] = "HTTP bearer token"

    # -- requests ------------------------------------------------------------------------

    def prepare_resource(self, body: Any, resource_type: ResourceType) -> Any:
        """A POST/PUT body in RFC 7643 shape; the base dialect takes it as sent."""
        return body

    def prepare_patch(self, body: Any, resource_type: ResourceType) -> Any:
        """A PatchOp body (RFC 7644 3.5.2) with each operation through :meth:`patch_operation`.

        A body that is not a PatchOp envelope is returned as sent: ``scim_portal.scim``
        answers it with the right error.
        """
        operations = operations_in(body)
        if operations is None:
            return body
        shaped: list[Any] = []
        for operation in operations:
            if isinstance(operation, Operation):
                shaped.extend(self.patch_operation(operation, resource_type))
            else:
                shaped.append(operation)  # malformed: the engine names it in its 400
        return with_operations(body, shaped)

    def patch_operation(self, operation: Operation, resource_type: ResourceType) -> list[Operation]:
        """One operation as the IdP sent it, as RFC operations; the base dialect keeps it."""
        return [operation]

    # -- setup -----------------------------------------------------------------------------

    def oauth_defaults(self) -> OAuthDefaults:
        """The grant and redirect URIs a new OAuth client of this IdP starts with.

        RFC 6749 4.4: a machine client with no user present uses client credentials.
        """
        return OAuthDefaults()
