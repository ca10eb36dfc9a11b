"""Django admin for integrations and their credentials.

A raw token is rendered once, in the response to the form that issued it;
it is never put in a message, session or log.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from scim_portal.forms import IssueTokenForm
from scim_portal.models import Integration, ScimGroup, ScimToken, ScimUser


def scim_base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("scim_portal:root"))


class ScimTokenInline(admin.TabularInline):
    model = ScimToken
    extra = 0
    can_delete = False
    fields = ["prefix", "description", "created", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "enabled", "service_account", "created"]
    list_filter = ["provider", "enabled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["service_account"]
    readonly_fields = ["setup"]
    inlines = [ScimTokenInline]

    def get_fields(self, request, obj=None):
        fields = ["name", "slug", "provider", "enabled", "service_account"]
        return [*fields, "setup"] if obj else fields

    @admin.display(description=_("Set up the IdP"))
    def setup(self, obj: Integration) -> str:
        dialect = obj.dialect
        issue_url = reverse("admin:scim_portal_integration_issue_token", args=[obj.pk])
        return format_html(
            "<p>SCIM base URL: <code>{}</code></p><p>Authentication in {}: {}</p>"
            "<p>Unique identifier for users: <code>{}</code></p>"
            '<p><a class="button" href="{}">{}</a></p>',
            scim_base_url(self._request), dialect.label, dialect.auth_mode_hint,
            dialect.unique_identifier, issue_url, _("Generate a new token"),
        )

    def get_form(self, request, obj=None, **kwargs):
        self._request = request
        return super().get_form(request, obj, **kwargs)

    def get_urls(self):
        custom = [
            path("<int:pk>/issue-token/", self.admin_site.admin_view(self.issue_token_view),
                 name="scim_portal_integration_issue_token"),
        ]
        return custom + super().get_urls()

    def issue_token_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        integration = get_object_or_404(Integration, pk=pk)
        if not request.user.has_perm("scim_portal.add_scimtoken"):
            raise PermissionDenied
        form = IssueTokenForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            issued = ScimToken.issue(
                integration, description=form.cleaned_data["description"],
                created_by=request.user, expires_at=form.cleaned_data["expires_at"],
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("New SCIM token for %s") % integration,
            "integration": integration,
            "form": form,
            "issued": issued,
            "base_url": scim_base_url(request),
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "scim_portal/admin/issue_token.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(ScimToken)
class ScimTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "description", "integration", "created", "expires_at",
                    "last_used_at", "revoked_at"]
    list_filter = ["integration", "revoked_at"]
    readonly_fields = ["prefix", "integration", "created", "created_by", "last_used_at", "revoked_at"]
    fields = ["integration", "prefix", "description", "expires_at", "created", "created_by",
              "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            token.revoke()
        self.message_user(request, _("%d token(s) revoked.") % queryset.count())


@admin.register(ScimUser)
class ScimUserAdmin(admin.ModelAdmin):
    list_display = ["user_name", "integration", "external_id", "last_modified", "deleted_at"]
    list_filter = ["integration"]
    search_fields = ["user_name_key", "external_id"]
    readonly_fields = ["scim_id", "integration", "user", "user_name", "external_id", "document",
                       "version", "created", "last_modified", "deleted_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ScimGroup)
class ScimGroupAdmin(admin.ModelAdmin):
    list_display = ["display_name", "integration", "external_id", "last_modified"]
    list_filter = ["integration"]
    search_fields = ["display_name_key", "external_id"]
    readonly_fields = ["scim_id", "integration", "group", "display_name", "external_id", "document",
                       "version", "created", "last_modified", "deleted_at"]

    def has_add_permission(self, request) -> bool:
        return False
