"""Bearer-token authentication for the SCIM endpoints (RFC 6750, RFC 7644 section 2).

A token is looked up by its SHA-256 digest through a unique index, so no
stored secret is ever compared byte by byte.  Every failure answers the same
401 whatever the reason (unknown, revoked, expired, integration disabled), so
a caller learns nothing about which tokens exist.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from scim_portal.api.context import ScimContext
from scim_portal.exceptions import Unauthorized
from scim_portal.models import ScimToken
from scim_portal.models.tokens import hash_token

CHALLENGE = 'Bearer realm="SCIM"'


def invalid_token(detail: str) -> Unauthorized:
    return Unauthorized(
        detail,
        headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token", error_description="{detail}"'},
    )


def bearer_value(request: Request) -> str | None:
    """The credential of ``Authorization: Bearer <x>`` (Okta's header mode sends the bare token)."""
    header = get_authorization_header(request).decode("latin-1").strip()
    if not header:
        return None
    scheme, _sep, value = header.partition(" ")
    if not value:
        return scheme  # "Authorization: <token>" (Okta "HTTP Header" mode)
    return value.strip() if scheme.lower() == "bearer" else None


class ScimTokenAuthentication(BaseAuthentication):
    """Authenticates permanent ``ScimToken`` credentials."""

    def authenticate(self, request: Request) -> tuple[Any, ScimContext] | None:
        raw = bearer_value(request)
        if raw is None:
            return None
        token = (
            ScimToken.objects.select_related("integration", "integration__service_account")
            .filter(digest=hash_token(raw))
            .first()
        )
        if token is None or not token.is_usable:
            raise invalid_token(_("The access token is invalid, expired or revoked."))
        token.touch()
        integration = token.integration
        context = ScimContext(
            integration=integration,
            actor=integration.service_account,
            credential=token,
            credential_label=token.prefix,
        )
        return integration.service_account, context

    def authenticate_header(self, request: Request) -> str:
        return CHALLENGE
