"""The integration page's setup guide, health and self-check, and the list's status columns.

The guide is :mod:`scim_portal.guide` rendered with this integration's values;
the health is :mod:`scim_portal.health`; the self-check button runs
:mod:`scim_portal.selfcheck` from the server and shows its result on the page
(POST-redirect-GET: the result waits in the session).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from scim_portal import selfcheck
from scim_portal.api.base import base_url as api_base_url
from scim_portal.conf import app_settings
from scim_portal.guide import GuideContext, guide_for
from scim_portal.health import expiring_tokens, health, idp_requests, recent_failures
from scim_portal.models import Integration, OAuthClient
from scim_portal.models.audit import Outcome
from scim_portal.policies import required_attributes

SELFCHECK_KEY = "scim_portal_selfcheck:%s"

#: The request whose integration page is being rendered.  The admin object is shared by every
#: request of the process (threads of a worker), so it must not keep the request itself.
_page_request: ContextVar[HttpRequest | None] = ContextVar("scim_portal_integration_page", default=None)


@contextmanager
def rendering_page_for(request: HttpRequest) -> Iterator[None]:
    """Within this block the page's sections (guide, health, credentials) are rendered for ``request``."""
    token = _page_request.set(request)
    try:
        yield
    finally:
        _page_request.reset(token)


def page_request() -> HttpRequest:
    request = _page_request.get()
    if request is None:
        raise RuntimeError("the integration page's sections are rendered only by its views")
    return request


def scim_base_url(request: HttpRequest) -> str:
    """The base URL to give the IdP, with a trailing slash: the API's own (``BASE_URL`` when set,
    else derived from this request)."""
    return api_base_url(request) + "/"


def when(value: dt.datetime | None) -> SafeString:
    """"3 minutes ago", with the exact time in the title (and a machine-readable ``datetime``)."""
    if value is None:
        return SafeString("-")
    exact = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    if timezone.now() - value < dt.timedelta(minutes=1):
        ago = _("just now")
    else:
        ago = _("%(ago)s ago") % {"ago": timesince(value)}
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact, ago)


def log_link(integration: Integration, label: Any, **filters: Any) -> SafeString:
    query = urlencode({"integration__id__exact": integration.pk, **filters})
    return format_html('<a href="{}?{}">{}</a>', reverse("admin:scim_portal_provisioninglog_changelist"), query,
                       label)


def oauth_scopes() -> str:
    """The OAuth scopes an IdP asks for to provision: read and write, by their configured names."""
    return f"{app_settings.OAUTH_READ_SCOPE} {app_settings.OAUTH_WRITE_SCOPE}"


def oauth_endpoint(request: HttpRequest, name: str) -> str:
    """The absolute URL of an OAuth endpoint: ``oauth-authorize`` or ``oauth-token``."""
    return request.build_absolute_uri(reverse(f"scim_portal:{name}"))


def guide_context(request: HttpRequest, integration: Integration) -> GuideContext:
    client = (OAuthClient.objects.filter(integration=integration, revoked_at__isnull=True)
              .select_related("application").order_by("-created").first())
    scopes = oauth_scopes()
    return GuideContext(
        base_url=scim_base_url(request),
        unique_identifier=integration.unique_identifier,
        authorize_url=f"{oauth_endpoint(request, 'oauth-authorize')}?scope={quote(scopes)}",
        token_url=oauth_endpoint(request, "oauth-token"),
        scopes=scopes,
        client_id=client.client_id if client else "",
        required_attributes=tuple(required_attributes(integration)),
    )


def docs_link(page: str) -> SafeString:
    """A link to a page of the documentation (``DOCS_URL``), or its path when no URL is configured."""
    root = app_settings.DOCS_URL
    if not root:
        return format_html("<code>docs/{}</code>", page)
    return format_html('<a href="{}{}" target="_blank" rel="noopener">{}</a>', root.rstrip("/") + "/",
                       page.removesuffix(".md") + "/", page)


class IntegrationSetupMixin(admin.ModelAdmin):
    """Adds the guide, the health, the self-check and status columns to ``IntegrationAdmin``."""

    def get_urls(self) -> list:
        # Outside a host's ATOMIC_REQUESTS transaction: the probe token must be committed before
        # the probe reaches the API, which reads it on another connection.
        view = transaction.non_atomic_requests(self.admin_site.admin_view(self.self_check_view))
        return [path("<int:pk>/self-check/", view, name="scim_portal_integration_self_check"), *super().get_urls()]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Each row's last request and error, failures in 24 hours and expiring tokens, in the list's
        one query (subqueries on the log's indexes, with LIMIT 1)."""
        now = timezone.now()
        logs = idp_requests(integration=OuterRef("pk")).order_by("-created", "-id")
        errors = logs.filter(outcome=Outcome.FAILURE)
        failures = (recent_failures(now, integration=OuterRef("pk")).order_by().values("integration")
                    .annotate(n=Count("id")).values("n"))
        expiring = (expiring_tokens(now, integration=OuterRef("pk"))
                    .order_by().values("integration").annotate(n=Count("id")).values("n"))
        return super().get_queryset(request).annotate(
            last_request_at=Subquery(logs.values("created")[:1]),
            last_request_status=Subquery(logs.values("status")[:1]),
            last_error_at=Subquery(errors.values("created")[:1]),
            last_error_status=Subquery(errors.values("status")[:1]),
            last_error_scim_type=Subquery(errors.values("scim_type")[:1]),
            failures_24h=Coalesce(Subquery(failures, output_field=IntegerField()), Value(0)),
            expiring_tokens=Coalesce(Subquery(expiring, output_field=IntegerField()), Value(0)),
        )

    # -- list columns

    @admin.display(description=_("last request"), ordering="last_request_at")
    def last_request(self, obj: Integration) -> SafeString:
        if getattr(obj, "last_request_at", None) is None:
            return format_html('<span class="scim-muted">{}</span>', _("none yet"))
        return format_html("{} · {}", when(obj.last_request_at), obj.last_request_status)  # type: ignore[attr-defined]

    @admin.display(description=_("failures (24 h)"), ordering="failures_24h")
    def failures(self, obj: Integration) -> SafeString:
        count = getattr(obj, "failures_24h", 0)
        if not count:
            return SafeString("0")
        return log_link(obj, format_html('<span class="scim-bad">{}</span>', count), outcome__exact="failure")

    @admin.display(description=_("last error"), ordering="last_error_at")
    def last_error(self, obj: Integration) -> SafeString:
        if getattr(obj, "last_error_at", None) is None:
            return SafeString("-")
        status = f"{obj.last_error_status} {obj.last_error_scim_type}".strip()  # type: ignore[attr-defined]
        return format_html("{} · {}", log_link(obj, format_html('<span class="scim-bad">{}</span>', status),
                                               outcome__exact="failure"), when(obj.last_error_at))  # type: ignore[attr-defined]

    @admin.display(description=_("tokens expiring"), ordering="expiring_tokens")
    def expiring(self, obj: Integration) -> SafeString:
        count = getattr(obj, "expiring_tokens", 0)
        return format_html('<span class="scim-bad">{}</span>', count) if count else SafeString("0")

    @admin.display(description=_("log"))
    def log(self, obj: Integration) -> SafeString:
        return log_link(obj, _("Provisioning log"))

    # -- the change page

    @admin.display(description=_("Set up the IdP"))
    def setup(self, obj: Integration) -> SafeString:
        request = page_request()
        guide = guide_for(obj.provider, guide_context(request, obj))
        return render_to_string("scim_portal/admin/guide.html", {
            "guide": guide, "docs_link": docs_link(guide.doc_page), "integration": obj})

    @admin.display(description=_("Health"))
    def health(self, obj: Integration) -> SafeString:
        request = page_request()
        report = health(obj)
        user_changelist = reverse("admin:scim_portal_scimuser_changelist") + f"?integration__id__exact={obj.pk}"
        group_changelist = reverse("admin:scim_portal_scimgroup_changelist") + f"?integration__id__exact={obj.pk}"
        return render_to_string("scim_portal/admin/health.html", {
            "h": report, "integration": obj, "when": when,
            "last_request": when(report.last_request.created) if report.last_request else None,
            "last_success": when(report.last_success.created) if report.last_success else None,
            "last_error": when(report.last_error.created) if report.last_error else None,
            "test_call": when(report.test_call.created) if report.test_call else None,
            "log_all": log_link(obj, _("All requests of this integration")),
            "log_failures": log_link(obj, _("Failures"), outcome__exact="failure"),
            "users_url": user_changelist, "groups_url": group_changelist,
            "expiring": [(token, when_until(token.expires_at)) for token in report.expiring],
            "selfcheck": request.session.get(SELFCHECK_KEY % obj.pk),
            "can_check": self.has_change_permission(request, obj),
            "selfcheck_url": reverse("admin:scim_portal_integration_self_check", args=[obj.pk]),
            "dialect": obj.dialect,
        }, request=request)

    def self_check_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST: call the base URL from the server with a probe token, keep the result, go back."""
        integration = get_object_or_404(Integration, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, integration):
            raise PermissionDenied
        checks = selfcheck.run(integration, scim_base_url(request), created_by=request.user)
        request.session[SELFCHECK_KEY % pk] = {
            "at": timezone.now().isoformat(), "url": scim_base_url(request),
            "checks": [check.as_dict() for check in checks]}
        return redirect(reverse("admin:scim_portal_integration_change", args=[pk]) + "#scim-health")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "service_account" and field is not None and hasattr(field, "label_from_instance"):
            field.label_from_instance = account_label
        return field


def when_until(value: dt.datetime) -> SafeString:
    exact = timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact,
                       _("in %(left)s") % {"left": timesince(timezone.now(), value)})


def account_label(user: Any) -> str:
    """A user as the service-account picker shows it: username, and email when it differs."""
    model = get_user_model()
    username = str(getattr(user, model.USERNAME_FIELD, "") or user.pk)
    email = str(getattr(user, model.get_email_field_name(), "") or "")
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    parts = [username] + [part for part in (name, email) if part and part != username]
    return " · ".join(parts)
