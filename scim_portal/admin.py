"""Django admin for integrations and their credentials.

A raw token is rendered once, in the response to the form that issued it;
it is never put in a message, session or log.
"""

from __future__ import annotations

import csv
from operator import attrgetter
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from scim_portal.adapter import get_adapter
from scim_portal.admin_credentials import CredentialsAdminMixin
from scim_portal.models import GroupRule, Integration, ProvisioningLog, ScimGroup, ScimToken, ScimUser


def scim_base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("scim_portal:root"))


class GroupRuleForm(forms.ModelForm):
    """The grant is chosen among what the portal offers (``ScimAdapter.grant_choices``)."""

    class Meta:
        model = GroupRule
        fields = ["group", "grant", "priority"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        integration = getattr(self.instance, "integration", None) if self.instance.integration_id else None
        choices = get_adapter().grant_choices(integration)
        if choices:
            self.fields["grant"] = forms.ChoiceField(choices=choices, label=_("grants"))


class GroupRuleInline(admin.TabularInline):
    model = GroupRule
    form = GroupRuleForm
    extra = 0
    raw_id_fields = ["group"]


class IntegrationAdminForm(forms.ModelForm):
    class Meta:
        model = Integration
        exclude: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = get_adapter().grant_choices(self.instance if self.instance.pk else None)
        if choices and "default_grant" in self.fields:
            self.fields["default_grant"] = forms.ChoiceField(
                choices=[("", "---------"), *choices], required=False,
                label=self.fields["default_grant"].label, help_text=self.fields["default_grant"].help_text)


@admin.register(Integration)
class IntegrationAdmin(CredentialsAdminMixin, SimpleHistoryAdmin):
    form = IntegrationAdminForm
    list_display = ["name", "provider", "enabled", "service_account", "seat_limit", "created"]
    list_filter = ["provider", "enabled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["service_account"]
    filter_horizontal = ["default_groups"]
    readonly_fields = ["setup", "credentials"]
    inlines = [GroupRuleInline]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["name", "slug", "provider", "enabled", "service_account"]}),
            (_("Identity matching"), {"fields": ["unique_identifier", "link_existing_users"]}),
            (_("New accounts"), {"fields": ["default_groups", "default_grant", "required_attributes",
                                            "seat_limit"]}),
            (_("Leavers and returners"), {"fields": ["deprovisioning", "reactivation_allowed",
                                                     "reactivation_cooldown_days"]}),
            (_("What the IdP may write"), {"fields": ["writable_attributes", "unknown_attributes"]}),
        ]
        if obj:
            fieldsets.insert(1, (_("Set up the IdP"), {"fields": ["setup", "credentials"]}))
        return fieldsets

    @admin.display(description=_("Set up the IdP"))
    def setup(self, obj: Integration) -> str:
        dialect = obj.dialect
        return format_html(
            "<p>SCIM base URL: <code>{}</code></p><p>Authentication in {}: {}</p>"
            "<p>Unique identifier for users: <code>{}</code></p>",
            scim_base_url(self._request), dialect.label, dialect.auth_mode_hint, obj.unique_identifier,
        )

    def get_form(self, request, obj=None, **kwargs):
        self._request = request
        return super().get_form(request, obj, **kwargs)


@admin.register(ScimToken)
class ScimTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "description", "integration", "scopes", "status", "created", "expires_at",
                    "last_used_at", "revoked_at"]
    list_filter = ["integration", "revoked_at"]
    readonly_fields = ["prefix", "integration", "service_account", "scopes", "created", "created_by",
                       "last_used_at", "revoked_at", "replaced_by"]
    fields = ["integration", "prefix", "description", "service_account", "scopes", "expires_at", "created",
              "created_by", "last_used_at", "revoked_at", "replaced_by"]
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


def export_csv(modeladmin, request, queryset, columns: list[tuple[str, Any]], filename: str) -> HttpResponse:
    """Stream the selected rows as CSV (values read through ``columns`` getters)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([title for title, _getter in columns])
    for row in queryset.iterator(chunk_size=2000):
        writer.writerow([getter(row) for _title, getter in columns])
    return response


@admin.register(ProvisioningLog)
class ProvisioningLogAdmin(admin.ModelAdmin):
    """What every SCIM request asked and got; failures first to hand with the outcome filter."""

    list_display = ["created", "integration", "method", "path_short", "status", "outcome", "scim_type",
                    "affected_user", "duration_ms"]
    list_filter = ["outcome", "integration", "status", "method", "resource_type", "created"]
    search_fields = ["request_id", "resource_id", "path", "detail"]
    date_hierarchy = "created"
    list_select_related = ["integration", "user"]
    readonly_fields = [f.name for f in ProvisioningLog._meta.fields]
    actions = ["export_as_csv"]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("path"))
    def path_short(self, obj: ProvisioningLog) -> str:
        return obj.path[:80]

    @admin.display(description=_("affected user"))
    def affected_user(self, obj: ProvisioningLog) -> str:
        if obj.user_id is None:
            return "-"
        opts = obj.user._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.user_id])
        return format_html('<a href="{}">{}</a>', url, obj.user)

    @admin.action(description=_("Export selected entries as CSV"))
    def export_as_csv(self, request, queryset):
        columns = [(name, (lambda row, n=name: getattr(row, n))) for name in (
            "created", "integration", "credential", "method", "path", "resource_type", "resource_id",
            "user_id", "status", "outcome", "scim_type", "detail", "duration_ms", "request_id")]
        return export_csv(self, request, queryset, columns, "provisioning-log.csv")


class ScimHistoryAdmin(admin.ModelAdmin):
    """Change history of a host model tracked with ``HistoricalRecords(bases=[ScimHistoricalFields])``.

    Register it for the history model in one line::

        admin.site.register(User.history.model, ScimHistoryAdmin)

    Filter by responsible user (the service account for SCIM changes), integration,
    date and action; search by the responsible user's email or id; export as CSV.
    """

    list_display = ["history_date", "history_object", "history_type", "history_user",
                    "scim_integration", "history_change_reason"]
    list_filter = ["history_type", "scim_integration", "history_date",
                   ("history_user", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "history_date"
    list_select_related = ["history_user", "scim_integration"]
    actions = ["export_as_csv"]

    def get_search_fields(self, request):
        user_model = get_user_model()
        return [f"history_user__{user_model.USERNAME_FIELD}", "=history_user__id", "history_change_reason",
                "scim_request_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Export selected changes as CSV"))
    def export_as_csv(self, request, queryset):
        fields = ("history_date", "history_type", "history_user", "scim_integration", "scim_request_id",
                  "scim_credential", "history_change_reason")
        columns: list[tuple[str, Any]] = [(name, attrgetter(name)) for name in fields]
        columns.insert(1, ("object", lambda row: str(row.instance)))
        return export_csv(self, request, queryset, columns, "change-history.csv")
