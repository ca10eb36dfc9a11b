"""Okta (Okta SCIM 2.0 reference; provisioning integration guides)."""

from __future__ import annotations

from scim_portal.idp.base import Dialect


class OktaDialect(Dialect):
    name = "okta"
    label = "Okta"
    unique_identifier = "userName"
    auth_mode_hint = "HTTP Header (Authorization: Bearer <token>) or OAuth 2"
