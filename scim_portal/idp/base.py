"""What an IdP dialect may change.

Request parsing is lenient for every dialect (a misconfigured integration
must still work), so a dialect only chooses response shapes and defaults.
"""

from __future__ import annotations

from typing import ClassVar


class Dialect:
    name: ClassVar[str] = "generic"
    label: ClassVar[str] = "Generic SCIM 2.0"
    #: HTTP status of a successful group PATCH (RFC 7644 3.5.2): 204 No Content, so the answer
    #: does not grow with the group; 200 with the entire resource, members included, when the
    #: request names ``attributes``/``excludedAttributes`` (then the RFC requires 200).
    group_patch_status: ClassVar[int] = 204
    #: HTTP status of a successful user PATCH.
    user_patch_status: ClassVar[int] = 200
    #: What the admin chooses as the IdP's unique identifier for users.
    unique_identifier: ClassVar[str] = "userName"
    #: Attribute paths a create must carry beyond userName.
    required_user_attributes: ClassVar[tuple[str, ...]] = ()
    #: The IdP's own names of SCIM paths, so an error names what its admin sees in the mapping.
    attribute_labels: ClassVar[dict[str, str]] = {}
    #: Authentication mode to choose in the IdP, shown in the admin.
    auth_mode_hint: ClassVar[str] = "HTTP bearer token"
