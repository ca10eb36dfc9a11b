"""Okta (Okta SCIM 2.0 reference; provisioning integration guides)."""

from __future__ import annotations

from scim_portal.idp.base import Dialect


class OktaDialect(Dialect):
    name = "okta"
    label = "Okta"
    # Okta accepts 200 or 204 for group PATCH; 200 with the group lets its admin see the result.
    group_patch_status = 200
    group_patch_members = False
    unique_identifier = "userName"
    auth_mode_hint = "HTTP Header (Authorization: Bearer <token>) or OAuth 2"
