"""Microsoft Entra ID ("Develop a SCIM endpoint" tutorial; "Known issues for SCIM compliance")."""

from __future__ import annotations

from scim_portal.idp.base import Dialect


class EntraDialect(Dialect):
    name = "entra"
    label = "Microsoft Entra ID"
    # Microsoft: a group PATCH should answer 204; returning the member list is "not advisable".
    group_patch_status = 204
    unique_identifier = "userName"
    # Entra always sends mail, givenName and surname for a properly mapped user; requiring
    # them turns a broken attribute mapping into a clear 400 instead of a nameless account.
    required_user_attributes = ("emails", "name.givenName", "name.familyName")
    attribute_labels = {"emails": "mail", "name.givenName": "givenName", "name.familyName": "surname"}
    auth_mode_hint = "Secret Token (bearer)"
