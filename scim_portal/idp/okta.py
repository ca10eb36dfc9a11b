"""Okta.

Sources: Okta's "SCIM 2.0 protocol reference" (docs/reference/scim/scim-20), "Prepare your
SCIM API service" and "Connect your SCIM API service to Okta"
(docs/guides/scim-provisioning-integration-{prepare,connect}) and the SCIM FAQ
(docs/concepts/scim/faqs) in okta/okta-developer-docs.

What Okta sends is RFC 7644 as written: a deactivation is a no-path ``replace`` of
``{"active": false}``, a group rename a no-path ``replace`` echoing the group's ``id`` (an
unchanged read-only value, accepted by RFC 7644 3.5.2), member removals are
``members[value eq "id"]`` filters, and the ``password`` it sends on create is ignored unless
the host stores passwords.  Like the generic dialect it still reads the unambiguous spellings
other clients use (``"Replace"``, ``"False"``, removal by value): an Okta integration that a
custom client or a test harness also calls gets its change applied, not a 400; only a
host-registered strict ``Dialect`` refuses them.
"""

from __future__ import annotations

from scim_portal.conf import app_settings
from scim_portal.idp.base import OAuthDefaults
from scim_portal.idp.generic import GenericDialect


class OktaDialect(GenericDialect):
    name = "okta"
    label = "Okta"
    # Okta accepts 200 with the group or 204 for a group PATCH ("SCIM 2.0 protocol
    # reference", Update a specific Group): the RFC default of 204 stands.
    unique_identifier = "userName"
    auth_mode_hint = "HTTP Header (Authorization: Bearer <token>) or OAuth 2"

    def oauth_defaults(self) -> OAuthDefaults:
        # Okta's FAQ: OAuth 2.0 authorization code only (no client credentials), redirecting
        # to the OIN callback of each Okta cell, whose URLs the admin must allow.
        return OAuthDefaults(
            grant_type="authorization-code", redirect_uris=tuple(app_settings.OAUTH_REDIRECT_URI_TEMPLATES)
        )
