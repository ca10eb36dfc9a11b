"""Authorization, token and revocation endpoints (RFC 6749 sections 3.1, 3.2; RFC 7009).

Mounted by ``scim_portal.urls`` below the SCIM base URL:
``oauth/authorize/``, ``oauth/token/`` and ``oauth/revoke/``.  The consent
page names the integration; only a portal user holding
``SCIM_PORTAL["OAUTH_APPROVE_PERMISSION"]`` may approve.

The token and revocation endpoints are called by IdP servers, which
authenticate with their client secret and carry no session or CSRF cookie:
they are CSRF-exempt, as in django-oauth-toolkit.  The consent page is a form
a logged-in person submits, and stays CSRF-protected.  Token introspection
(RFC 7662) is not mounted: the SCIM API is the only resource server and reads
tokens from the database itself, so no third party needs to ask.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2 import Server

from scim_portal.conf import app_settings
from scim_portal.models import OAuthClient, Scope
from scim_portal.oauth import redaction
from scim_portal.oauth.validators import ScimOAuth2Validator

redaction.install()


def can_approve(user: Any, integration: Any) -> bool:
    """Whether ``user`` may let an IdP act for ``integration`` (model- or object-level permission)."""
    permission = app_settings.OAUTH_APPROVE_PERMISSION
    return bool(user.is_active and (user.has_perm(permission) or user.has_perm(permission, integration)))


class ScimOAuthMixin:
    """Our validator and server, built per request so ``SCIM_PORTAL`` is read live."""

    server_class = Server
    validator_class = ScimOAuth2Validator
    oauthlib_backend_class = OAuthLibCore

    @classmethod
    def get_server(cls) -> Server:
        kwargs = {**oauth2_settings.server_kwargs,
                  "token_expires_in": app_settings.OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS}
        return cls.server_class(cls.validator_class(), **kwargs)

    @classmethod
    def get_oauthlib_core(cls) -> OAuthLibCore:
        return cls.oauthlib_backend_class(cls.get_server())

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Overriding ``dispatch`` drops the toolkit's ``csrf_exempt`` on it: the
        # server-to-server views below put it back explicitly.
        with redaction.quiet():
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class AuthorizeView(ScimOAuthMixin, dot.AuthorizationView):
    """The consent page (RFC 6749 section 4.1.1): names the integration, asks a permitted user.

    Unlike the toolkit's view it never skips consent and reads scope
    descriptions from scim_portal, not from ``OAUTH2_PROVIDER["SCOPES"]``.
    """

    template_name = "scim_portal/oauth/authorize.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        client = self.client(credentials["client_id"])
        self.oauth2_data = {**credentials, "scope": scopes}
        allowed = can_approve(request.user, client.integration)
        context = self.get_context_data(
            form=self.get_form(), client=client, integration=client.integration, allowed=allowed,
            scope_descriptions=describe(scopes),
        )
        response = self.render_to_response(context, status=200 if allowed else 403)
        response["Cache-Control"] = "no-store"
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        """A tampered or incomplete consent form: nothing to redirect to safely."""
        return self.render_to_response(self.get_context_data(form=form, invalid=True), status=400)

    def form_valid(self, form: Any) -> HttpResponse:
        client = self.client(form.cleaned_data["client_id"])
        if not can_approve(self.request.user, client.integration):
            raise PermissionDenied
        return super().form_valid(form)

    @staticmethod
    def client(client_id: str) -> OAuthClient:
        return OAuthClient.objects.select_related("integration", "application").get(
            application__client_id=client_id)


def describe(scopes: list[str]) -> list[str]:
    labels = dict(Scope.choices)
    return [str(labels[app_settings.OAUTH_SCOPES[name]]) for name in scopes if name in app_settings.OAUTH_SCOPES]


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(ScimOAuthMixin, dot.TokenView):
    """Token endpoint (RFC 6749 section 3.2): authorization code, refresh token, client credentials.

    Clients authenticate with HTTP Basic (preferred) or ``client_id`` and
    ``client_secret`` in the body (RFC 6749 section 2.3.1).
    """


@method_decorator(csrf_exempt, name="dispatch")
class RevokeView(ScimOAuthMixin, dot.RevokeTokenView):
    """Token revocation (RFC 7009): a client revokes its own access or refresh token."""
