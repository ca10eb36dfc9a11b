"""Bearer authentication for the SCIM endpoints (RFC 6750, RFC 7644 section 2).

Two kinds of credential arrive as ``Authorization: Bearer <value>``: a
permanent :class:`~scim_portal.models.ScimToken` and an OAuth access token
issued by our token endpoint to an :class:`~scim_portal.models.OAuthClient`.
Both are looked up by their SHA-256 digest through a unique index, so no
stored secret is ever compared byte by byte, and both resolve to the same
:class:`ScimContext`: one integration, its service account, the scopes.

Every failure answers the same 401 whatever the reason (unknown, revoked,
expired, integration disabled), and an unusable credential costs the same
lookups as an unknown one, so a caller learns nothing about which
credentials exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import get_access_token_model
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from scim_portal.conf import app_settings
from scim_portal.context import ScimContext
from scim_portal.exceptions import Unauthorized
from scim_portal.models import ScimToken
from scim_portal.models.query import PreparedLookup
from scim_portal.models.tokens import hash_token

CHALLENGE = 'Bearer realm="SCIM"'

#: Turns a presented bearer value into a context, or ``None`` when it is not a usable credential.
Resolver = Callable[[str], "ScimContext | None"]


def invalid_token(detail: str | None = None) -> Unauthorized:
    detail = detail or _("The access token is invalid, expired or revoked.")
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


def account_by_pk(pk: Any, using: str | None) -> Any:
    """The user with primary key ``pk`` as a model instance that holds only that key.

    Its other fields load from the database on first access, as with ``only("pk")``:
    changes are attributed by primary key, so most requests never read them.
    """
    if pk is None:
        return None
    user_model = get_user_model()
    return user_model.from_db(using, [user_model._meta.pk.attname], [pk])


#: The token and its integration by digest: its SQL is built once (models/query.py).
TOKEN_LOOKUP = PreparedLookup(lambda digest: ScimToken.objects.select_related("integration").filter(digest=digest))


def resolve_scim_token(raw: str) -> ScimContext | None:
    """A permanent token: one query (the token and its integration).

    The acting service account (the token's own, else the integration's) is known by
    its id: it is not joined, as building and planning two more joins over the user
    table cost more than the rest of the lookup.
    """
    token = TOKEN_LOOKUP.get(hash_token(raw))
    if token is None or not token.is_usable:
        return None
    # Fill the relation the actor comes from, so ``token.actor`` reads no row.
    if token.service_account_id is not None:
        token.service_account = account_by_pk(token.service_account_id, token._state.db)
    else:
        integration = token.integration
        integration.service_account = account_by_pk(integration.service_account_id, token._state.db)
    return ScimContext(
        integration=token.integration,
        actor=token.actor,
        credential=token,
        credential_label=token.prefix,
        scopes=token.scope_set,
        first_use=token.touch(),
    )


#: An OAuth access token, its application, SCIM client, integration and service account, by checksum.
ACCESS_TOKEN_LOOKUP = PreparedLookup(lambda checksum: (
    get_access_token_model().objects
    .select_related("application__scim_client__integration__service_account")
    .filter(token_checksum=checksum)
))


def resolve_oauth_token(raw: str) -> ScimContext | None:
    """An OAuth access token from our token endpoint: one query through its client to the integration.

    Tokens of applications that are not bound to an integration (a host's
    other OAuth clients) never authenticate here.
    """
    access_token = ACCESS_TOKEN_LOOKUP.get(hashlib.sha256(raw.encode("utf-8")).hexdigest())
    application = access_token.application if access_token else None
    client = getattr(application, "scim_client", None) if application else None
    if client is None or not client.is_usable or access_token.expires <= timezone.now():
        return None
    granted = {app_settings.OAUTH_SCOPES.get(name) for name in access_token.scope.split()}
    return ScimContext(
        integration=client.integration,
        actor=client.integration.service_account,
        credential=access_token,
        credential_label=client.label,
        scopes=frozenset(granted & client.scope_set),
        first_use=client.touch(),
    )


class BearerAuthentication(BaseAuthentication):
    """Base class: tries each of ``resolvers`` in turn; none matching is the one 401.

    A resolver that finds an unusable credential returns ``None`` like one that
    finds nothing, so the remaining lookups still run and the timing is the same.
    """

    resolvers: tuple[Resolver, ...] = ()

    def authenticate(self, request: Request) -> tuple[Any, ScimContext] | None:
        raw = bearer_value(request)
        if raw is None:
            return None
        if raw and len(raw) <= 512:  # longer than any credential we issue: skip the lookups
            for resolve in self.resolvers:
                context = resolve(raw)
                if context is not None:
                    return context.actor, context
        raise invalid_token()

    def authenticate_header(self, request: Request) -> str:
        return CHALLENGE


class ScimTokenAuthentication(BearerAuthentication):
    """Authenticates permanent ``ScimToken`` credentials only."""

    resolvers = (resolve_scim_token,)


class ScimOAuthAuthentication(BearerAuthentication):
    """Authenticates OAuth access tokens of ``OAuthClient`` applications only."""

    resolvers = (resolve_oauth_token,)


class ScimCredentialAuthentication(BearerAuthentication):
    """Either credential (the SCIM views' default): permanent tokens first, then OAuth access tokens.

    Listing the two single-kind classes in ``authentication_classes`` would not
    do: DRF stops at the first class that refuses, and a class that let unknown
    tokens through to the next one would answer differently for unknown and
    revoked tokens.
    """

    resolvers = (resolve_scim_token, resolve_oauth_token)
