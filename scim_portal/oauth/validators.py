"""The request validator behind scim_portal's OAuth endpoints (oauthlib ``RequestValidator``).

It narrows django-oauth-toolkit's validator to SCIM clients:

- only applications bound to an enabled integration by an unrevoked
  :class:`~scim_portal.models.OAuthClient` may authorize or obtain tokens
  (RFC 6749 section 2.3: client authentication);
- scopes are scim_portal's (``SCIM_PORTAL["OAUTH_READ_SCOPE"]`` /
  ``["OAUTH_WRITE_SCOPE"]``), limited to those granted to the client
  (RFC 6749 section 3.3), instead of the global ``OAUTH2_PROVIDER["SCOPES"]``;
- PKCE (RFC 7636) is required only when ``SCIM_PORTAL["OAUTH_PKCE_REQUIRED"]``
  says so: the clients are confidential and authenticate with their secret;
- access and refresh tokens are stored as SHA-256 checksums only, whatever
  the host's ``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE`` (RFC 9700 section 4.14).
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from scim_portal.conf import app_settings
from scim_portal.models import OAuthClient


def scim_client_of(application: Any) -> OAuthClient | None:
    """The usable SCIM client bound to an OAuth application, if any."""
    client = getattr(application, "scim_client", None) if application is not None else None
    return client if client is not None and client.is_usable else None


class ScimOAuth2Validator(OAuth2Validator):
    """django-oauth-toolkit's validator, restricted to SCIM clients and scopes."""

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return super().validate_client_id(client_id, request, *args, **kwargs) and self.is_scim(request)

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return super().authenticate_client(request, *args, **kwargs) and self.is_scim(request)

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return super().authenticate_client_id(client_id, request, *args, **kwargs) and self.is_scim(request)

    def is_scim(self, request: Any) -> bool:
        return scim_client_of(request.client) is not None

    def validate_scopes(self, client_id: str, scopes: list[str], client: Any, request: Any,
                        *args: Any, **kwargs: Any) -> bool:
        scim_client = scim_client_of(client)
        return scim_client is not None and set(scopes) <= set(scim_client.oauth_scope_names)

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        """No ``scope`` parameter: everything the client was granted (what Okta needs)."""
        scim_client = scim_client_of(request.client)
        return scim_client.oauth_scope_names if scim_client else []

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        return app_settings.OAUTH_PKCE_REQUIRED

    def _set_token_value(self, token_instance: Any, raw_token: str) -> None:
        # The toolkit's hashed-at-rest path: the checksum column is derived from
        # ``_raw_token`` on save and the ``token`` column stays empty.
        token_instance._raw_token = raw_token
        token_instance.token = ""
