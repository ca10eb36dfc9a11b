"""Microsoft Entra ID ("Develop a SCIM endpoint" tutorial; "Known issues for SCIM compliance")."""

from __future__ import annotations

from scim_portal.idp.base import Dialect


class EntraDialect(Dialect):
    name = "entra"
    label = "Microsoft Entra ID"
    # Microsoft: a group PATCH should answer 204; returning the member list is "not advisable".
    group_patch_status = 204
    unique_identifier = "userName"
    required_user_attributes = ()
    auth_mode_hint = "Secret Token (bearer)"
