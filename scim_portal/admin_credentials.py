"""Admin screens for an integration's credentials: permanent tokens and OAuth clients.

Secrets (a raw token, a client secret) are shown once, on the page a POST
redirects to (POST-redirect-GET, so a reload never mints another one), with
``Cache-Control: no-store``.  In between, the session holds the secret sealed
with a one-time pad whose key rides only in the redirect URL; the first GET
removes it, so the database never holds a secret in clear and a second GET
finds nothing.  Secrets never go into a message or a log.  Every screen checks
a Django permission on the credential model besides access to the integration:

=====================  ===========================================
token: see             ``scim_portal.view_scimtoken``
token: issue           ``scim_portal.add_scimtoken``
token: rotate          ``add_scimtoken`` and ``change_scimtoken``
token: revoke          ``scim_portal.change_scimtoken``
OAuth client: see      ``scim_portal.view_oauthclient``
OAuth client: create   ``scim_portal.add_oauthclient``
new secret, revoke     ``scim_portal.change_oauthclient``
=====================  ===========================================
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from scim_portal.admin_setup import oauth_endpoint, oauth_scopes, page_request, scim_base_url, when
from scim_portal.conf import app_settings
from scim_portal.forms import IssueTokenForm
from scim_portal.models import Integration, OAuthClient, ScimToken, Scope

GRANT_TYPES = [
    ("authorization-code", _("Authorization code (Okta “OAuth2” mode; refresh tokens included)")),
    ("client-credentials", _("Client credentials (scripts and generic SCIM clients)")),
]
TEMPLATE = "scim_portal/admin/credential.html"
SEALED_KEY = "scim_portal_sealed_secret:%s"
escape_lazy = lazy(escape, str)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def seal(request: HttpRequest, secret: str, **context: Any) -> tuple[str, str]:
    """Keep ``secret`` for exactly one GET: the session gets it XORed with a random pad of its
    length (a one-time pad), the caller gets ``(nonce, key)`` to put in the redirect URL."""
    data = secret.encode()
    pad = secrets.token_bytes(len(data))
    nonce = secrets.token_urlsafe(12)
    request.session[SEALED_KEY % nonce] = {"sealed": _b64(bytes(a ^ b for a, b in zip(data, pad, strict=True))),
                                           **context}
    return nonce, _b64(pad)


def unseal(request: HttpRequest, nonce: str, key: str) -> dict[str, Any] | None:
    """The sealed entry with its ``secret``, removed from the session; None once it was shown."""
    entry = request.session.pop(SEALED_KEY % nonce, None)
    if entry is None:
        return None
    try:
        sealed, pad = base64.urlsafe_b64decode(entry["sealed"]), base64.urlsafe_b64decode(key)
        secret = bytes(a ^ b for a, b in zip(sealed, pad, strict=True)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return {**entry, "secret": secret}


def scope_field(initial: list[str] | None = None) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
        initial=initial or Scope.values, help_text=_("An IdP needs both to provision."))


class TokenForm(IssueTokenForm):
    """Description, expiry, scopes and the service account of a new permanent token."""

    scopes = scope_field()
    service_account = forms.CharField(
        label=_("Service account"), required=False,
        help_text=_("Username of the user this token's changes are attributed to. "
                    "Empty: the integration's service account."))

    def clean_service_account(self) -> Any:
        username = self.cleaned_data["service_account"].strip()
        if not username:
            return None
        user_model = get_user_model()
        try:
            return user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise ValidationError(_("No user with this username.")) from None


#: The longest rotation grace the form takes: 30 days (a bigger number would overflow a date).
MAX_GRACE_MINUTES = 30 * 24 * 60


class RotateForm(forms.Form):
    grace_minutes = forms.IntegerField(
        label=_("Keep the old token working for (minutes)"), min_value=0, max_value=MAX_GRACE_MINUTES,
        help_text=_("Time to paste the new token into the IdP. 0 revokes the old token at once."))


class OAuthClientForm(forms.Form):
    """A confidential OAuth client; for Okta the callback URLs of every Okta cell are pre-filled."""

    name = forms.CharField(label=_("Name"), max_length=255)
    grant_type = forms.ChoiceField(label=_("Grant type"), choices=GRANT_TYPES)
    okta_app_name = forms.CharField(
        label=_("Okta app name"), required=False, max_length=100,
        # Django renders help text as HTML: escape it, or "<appName>" vanishes as an unknown tag.
        help_text=escape_lazy(_("Replaces {appName} in the redirect URIs: the name in the address of the app "
                                "in Okta's admin console (…/admin/app/<appName>/instance/…).")))
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"), required=False, widget=forms.Textarea(attrs={"rows": 6, "cols": 90}),
        help_text=_("One per line. Needed for the authorization code grant."))
    scopes = scope_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        app_name = data.get("okta_app_name", "").strip()
        uris = [line.strip() for line in data.get("redirect_uris", "").splitlines() if line.strip()]
        if app_name:
            uris = [uri.replace("{appName}", app_name) for uri in uris]
        if any("{appName}" in uri for uri in uris):
            self.add_error("okta_app_name", _("Give the Okta app name, or edit {appName} out of the URIs."))
        if data.get("grant_type") == "authorization-code" and not uris:
            self.add_error("redirect_uris", _("The authorization code grant needs at least one redirect URI."))
        data["redirect_uri_list"] = uris
        return data


def exact(value: dt.datetime | None) -> str:
    """A time to the minute in the portal's time zone, with the zone: no microseconds, no offset."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "-"


def rotation_wording(replaced: ScimToken | None) -> str:
    """What happens to the old token, from its stored end (the rotation grace decided it)."""
    if replaced is None:
        return ""
    if replaced.revoked_at is not None or replaced.expires_at is None:
        return _("The old token %(prefix)s… stopped working at once.") % {"prefix": replaced.prefix}
    end = replaced.expires_at.astimezone(dt.UTC)
    minutes = max(0, round((replaced.expires_at - timezone.now()).total_seconds() / 60))
    return _("The old token %(prefix)s… keeps working until %(time)s UTC (in %(minutes)d minutes), "
             "then stops. Paste the new token into the IdP before then.") % {
        "prefix": replaced.prefix, "time": end.strftime("%Y-%m-%d %H:%M"), "minutes": minutes}


def oauth_scope_string(client: OAuthClient) -> str:
    return " ".join(client.oauth_scope_names)


class CredentialsAdminMixin(admin.ModelAdmin):
    """Adds credential screens and a credentials overview to ``IntegrationAdmin``."""

    def get_urls(self) -> list:
        views = [
            ("issue-token/", self.issue_token_view, "issue_token"),
            ("tokens/<int:token_pk>/rotate/", self.rotate_token_view, "rotate_token"),
            ("tokens/<int:token_pk>/revoke/", self.revoke_token_view, "revoke_token"),
            ("oauth/add/", self.add_oauth_client_view, "add_oauth_client"),
            ("oauth/<int:client_pk>/secret/", self.oauth_secret_view, "oauth_secret"),
            ("oauth/<int:client_pk>/revoke/", self.revoke_oauth_client_view, "revoke_oauth_client"),
            ("secret/<str:nonce>/", self.show_secret_view, "show_secret"),
        ]
        custom = [path(f"<int:pk>/{route}", self.admin_site.admin_view(view), name=f"scim_portal_integration_{name}")
                  for route, view, name in views]
        return custom + super().get_urls()

    # -- overview on the integration page

    @admin.display(description=_("Credentials"))
    def credentials(self, obj: Integration) -> SafeString:
        request = page_request()
        parts = [self.endpoints_html(request, obj)]
        if request.user.has_perm("scim_portal.view_scimtoken"):
            parts.append(self.tokens_html(request, obj))
        if request.user.has_perm("scim_portal.view_oauthclient"):
            parts.append(self.oauth_html(request, obj))
        return format_html_join("", "{}", ((part,) for part in parts))

    def endpoints_html(self, request: HttpRequest, obj: Integration) -> SafeString:
        return format_html(
            "<p>{}: <code>{}</code><br>{}: <code>{}</code><br>{}: <code>{}</code></p>",
            _("OAuth authorization endpoint"), oauth_endpoint(request, "oauth-authorize"),
            _("OAuth token endpoint"), oauth_endpoint(request, "oauth-token"),
            _("OAuth scopes"), oauth_scopes())

    def tokens_html(self, request: HttpRequest, obj: Integration) -> SafeString:
        tokens = obj.tokens.select_related("service_account").order_by("-created")[:50]
        rows = format_html_join("", "<tr><td><code>{}…</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                    "<td>{}</td><td>{}</td></tr>",
                                ((t.prefix, t.description, t.scopes, t.status, exact(t.expires_at),
                                  when(t.last_used_at), self.token_actions(request, obj, t)) for t in tokens))
        add = ""
        if request.user.has_perm("scim_portal.add_scimtoken"):
            add = format_html('<a class="button" href="{}">{}</a>',
                              reverse("admin:scim_portal_integration_issue_token", args=[obj.pk]),
                              _("Generate a new token"))
        return format_html(
            "<h3>{}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>"
            "{}</table><p>{}</p>",
            _("Permanent tokens"), _("prefix"), _("description"), _("scopes"), _("status"), _("expires"),
            _("last used"), rows, add)

    def token_actions(self, request: HttpRequest, obj: Integration, token: ScimToken) -> SafeString:
        links = []
        if token.status == "active" and request.user.has_perms(["scim_portal.add_scimtoken",
                                                                "scim_portal.change_scimtoken"]):
            links.append(("rotate_token", _("Rotate")))
        if token.status in ("active", "rotated") and request.user.has_perm("scim_portal.change_scimtoken"):
            links.append(("revoke_token", _("Revoke")))
        return format_html_join(" ", '<a href="{}">{}</a>', (
            (reverse(f"admin:scim_portal_integration_{name}", args=[obj.pk, token.pk]), label)
            for name, label in links))

    def oauth_html(self, request: HttpRequest, obj: Integration) -> SafeString:
        clients = obj.oauth_clients.select_related("application").order_by("-created")
        rows = format_html_join("", "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                    "<td>{}</td><td>{}</td></tr>",
                                ((c.client_id, c.application.name, c.application.authorization_grant_type,
                                  oauth_scope_string(c), c.status, when(c.last_used_at),
                                  self.oauth_actions(request, obj, c)) for c in clients))
        add = ""
        if request.user.has_perm("scim_portal.add_oauthclient"):
            add = format_html('<a class="button" href="{}">{}</a>',
                              reverse("admin:scim_portal_integration_add_oauth_client", args=[obj.pk]),
                              _("Register an OAuth client"))
        return format_html(
            "<h3>{}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>"
            "{}</table><p>{}</p>",
            _("OAuth clients"), _("client id"), _("name"), _("grant"), _("scopes"), _("status"), _("last used"),
            rows, add)

    def oauth_actions(self, request: HttpRequest, obj: Integration, client: OAuthClient) -> SafeString:
        if client.status != "active" or not request.user.has_perm("scim_portal.change_oauthclient"):
            return SafeString("")
        return format_html_join(" ", '<a href="{}">{}</a>', (
            (reverse(f"admin:scim_portal_integration_{name}", args=[obj.pk, client.pk]), label)
            for name, label in (("oauth_secret", _("New secret")), ("revoke_oauth_client", _("Revoke")))))

    # -- screens

    def integration_for(self, request: HttpRequest, pk: int, *permissions: str) -> Integration:
        integration = get_object_or_404(Integration, pk=pk)
        if not self.has_view_or_change_permission(request, integration) or not request.user.has_perms(permissions):
            raise PermissionDenied
        return integration

    def render(self, request: HttpRequest, integration: Integration, title: str, **context: Any) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title % {"integration": integration},
            "integration": integration,
            "opts": self.model._meta,
            "base_url": scim_base_url(request),
            **context,
        }
        response = TemplateResponse(request, TEMPLATE, context)
        response["Cache-Control"] = "no-store"
        return response

    def issue_token_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_for(request, pk, "scim_portal.add_scimtoken")
        form = TokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                issued = ScimToken.issue(
                    integration, description=form.cleaned_data["description"], created_by=request.user,
                    expires_at=form.cleaned_data["expires_at"], scopes=" ".join(form.cleaned_data["scopes"]),
                    service_account=form.cleaned_data["service_account"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return self.show_once(request, integration, issued.raw, kind="token", token=issued.token.pk)
        return self.render(request, integration, _("New SCIM token for %(integration)s"), form=form,
                           submit=_("Generate token"))

    def rotate_token_view(self, request: HttpRequest, pk: int, token_pk: int) -> HttpResponse:
        integration = self.integration_for(request, pk, "scim_portal.add_scimtoken", "scim_portal.change_scimtoken")
        token = get_object_or_404(ScimToken, pk=token_pk, integration=integration)
        form = RotateForm(request.POST or None, initial={"grace_minutes": app_settings.TOKEN_ROTATION_GRACE // 60})
        title = _("Rotate a token of %(integration)s")
        if request.method == "POST" and form.is_valid():
            try:
                issued = token.rotate(grace=dt.timedelta(minutes=form.cleaned_data["grace_minutes"]),
                                      created_by=request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return self.show_once(request, integration, issued.raw, kind="token", token=issued.token.pk,
                                      replaced=token.pk)
        return self.render(request, integration, title, form=form, subject=token, submit=_("Rotate"))

    def revoke_token_view(self, request: HttpRequest, pk: int, token_pk: int) -> HttpResponse:
        integration = self.integration_for(request, pk, "scim_portal.change_scimtoken")
        token = get_object_or_404(ScimToken, pk=token_pk, integration=integration)
        if request.method == "POST":
            token.revoke()
            self.message_user(request, _("Token %s… revoked.") % token.prefix)
            return self.back(integration)
        return self.render(request, integration, _("Revoke a token of %(integration)s"), form=forms.Form(),
                           subject=token, submit=_("Revoke"), warning=_("The IdP's next request with this token "
                                                                        "will be refused."))

    def add_oauth_client_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = self.integration_for(request, pk, "scim_portal.add_oauthclient")
        defaults = integration.dialect.oauth_defaults()
        form = OAuthClientForm(request.POST or None, initial={
            "name": f"{integration.name} SCIM",
            "grant_type": defaults.grant_type,
            "redirect_uris": "\n".join(defaults.redirect_uris),
        })
        title = _("New OAuth client for %(integration)s")
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                issued = OAuthClient.register(
                    integration, name=data["name"], grant_type=data["grant_type"],
                    redirect_uris=data["redirect_uri_list"], scopes=" ".join(data["scopes"]),
                    created_by=request.user)
            except ValidationError as exc:
                form.add_error("redirect_uris" if hasattr(exc, "error_dict") else None,
                               " ".join(exc.messages))
            else:
                return self.show_once(request, integration, issued.secret, kind="oauth", client=issued.client.pk)
        return self.render(request, integration, title, form=form, submit=_("Register client"))

    def oauth_secret_view(self, request: HttpRequest, pk: int, client_pk: int) -> HttpResponse:
        integration = self.integration_for(request, pk, "scim_portal.change_oauthclient")
        client = get_object_or_404(OAuthClient, pk=client_pk, integration=integration, revoked_at__isnull=True)
        title = _("New client secret for %(integration)s")
        if request.method == "POST":
            return self.show_once(request, integration, client.new_secret().secret, kind="oauth", client=client.pk)
        return self.render(request, integration, title, form=forms.Form(), subject=client,
                           submit=_("Generate a new secret"),
                           warning=_("The current secret stops working at once; tokens already issued "
                                     "keep working until they expire."))

    def revoke_oauth_client_view(self, request: HttpRequest, pk: int, client_pk: int) -> HttpResponse:
        integration = self.integration_for(request, pk, "scim_portal.change_oauthclient")
        client = get_object_or_404(OAuthClient, pk=client_pk, integration=integration)
        if request.method == "POST":
            client.revoke()
            self.message_user(request, _("OAuth client %s revoked.") % client.client_id)
            return self.back(integration)
        return self.render(request, integration, _("Revoke an OAuth client of %(integration)s"),
                           form=forms.Form(), subject=client, submit=_("Revoke"),
                           warning=_("Its access and refresh tokens are deleted; the IdP's next request "
                                     "is refused."))

    def show_once(self, request: HttpRequest, integration: Integration, secret: str, **context: Any) -> HttpResponse:
        """Redirect to the one GET that shows ``secret`` (POST-redirect-GET)."""
        nonce, key = seal(request, secret, **context)
        url = reverse("admin:scim_portal_integration_show_secret", args=[integration.pk, nonce])
        response = HttpResponseRedirect(f"{url}?key={key}")
        response["Cache-Control"] = "no-store"
        return response

    def show_secret_view(self, request: HttpRequest, pk: int, nonce: str) -> HttpResponse:
        """The new secret the first time; on a reload, a page saying it cannot be shown again."""
        integration = self.integration_for(request, pk)
        entry = unseal(request, nonce, request.GET.get("key", ""))
        if entry is None:
            return self.render(request, integration, _("Secret already shown"), gone=True)
        if entry["kind"] == "oauth":
            client = get_object_or_404(OAuthClient, pk=entry["client"], integration=integration)
            return self.render(request, integration, _("New OAuth client secret for %(integration)s"),
                               **self.oauth_context(request, client, entry["secret"]))
        token = get_object_or_404(ScimToken, pk=entry["token"], integration=integration)
        replaced = ScimToken.objects.filter(pk=entry.get("replaced"), integration=integration).first()
        return self.render(request, integration, _("New SCIM token for %(integration)s"), secret=entry["secret"],
                           token=token, replaced=replaced, rotation=rotation_wording(replaced),
                           header_value=f"Bearer {entry['secret']}")

    def oauth_context(self, request: HttpRequest, client: OAuthClient, secret: str) -> dict[str, Any]:
        return {"secret": secret, "client": client, "scopes": oauth_scope_string(client),
                "authorize_url": oauth_endpoint(request, "oauth-authorize"),
                "token_url": oauth_endpoint(request, "oauth-token"),
                "redirect_uris": client.application.redirect_uris.split()}

    def back(self, integration: Integration) -> HttpResponse:
        return redirect("admin:scim_portal_integration_change", integration.pk)


@admin.register(OAuthClient)
class OAuthClientAdmin(SimpleHistoryAdmin):
    """A read-only list of OAuth clients; they are created from the integration page."""

    list_display = ["client_id", "integration", "scopes", "status", "created", "last_used_at", "revoked_at"]
    list_filter = ["integration", "revoked_at"]
    list_select_related = ["integration", "application"]
    fields = ["integration", "application", "scopes", "created", "created_by", "last_used_at",
              "secret_changed_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke selected OAuth clients"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for client in queryset:
            client.revoke()
        self.message_user(request, _("%d client(s) revoked.") % len(queryset))
