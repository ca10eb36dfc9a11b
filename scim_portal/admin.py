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
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from scim_portal.adapter import get_adapter
from scim_portal.admin_credentials import CredentialsAdminMixin
from scim_portal.admin_setup import IntegrationSetupMixin
from scim_portal.forms import attribute_list_field, required_choices, writable_choices
from scim_portal.models import (
    GroupRule,
    IdentityProvider,
    Integration,
    ProvisioningLog,
    ScimGroup,
    ScimToken,
    ScimUser,
)


class GroupRuleForm(forms.ModelForm):
    """The grant is chosen among what the portal offers (``ScimAdapter.grant_choices``)."""

    class Meta:
        model = GroupRule
        fields = ["group", "grant", "priority"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = get_adapter().grant_choices(self.instance.integration if self.instance.integration_id else None)
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
        self.lists_as_checkboxes()
        if not self.instance.pk and "provider" in self.fields:
            self.provider_chosen_explicitly()

    def lists_as_checkboxes(self) -> None:
        """Attribute lists as checkboxes of known SCIM attributes instead of JSON text."""
        for name, choices in (("writable_attributes", writable_choices()),
                              ("required_attributes", required_choices())):
            if name in self.fields:
                self.fields[name] = attribute_list_field(Integration._meta.get_field(name), choices)

    def provider_chosen_explicitly(self) -> None:
        """On add, the IdP has no default: it decides the dialect and the setup guide."""
        field = self.fields["provider"]
        field.choices = [("", "---------"), *IdentityProvider.choices]
        field.initial = None
        self.initial["provider"] = ""


@admin.register(Integration)
class IntegrationAdmin(IntegrationSetupMixin, CredentialsAdminMixin, SimpleHistoryAdmin):
    form = IntegrationAdminForm
    list_display = ["name", "provider", "enabled", "last_request", "last_error", "failures", "expiring", "log",
                    "service_account"]
    list_filter = ["provider", "enabled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["default_groups"]
    readonly_fields = ["setup", "health", "credentials"]
    inlines = [GroupRuleInline]

    class Media:
        css = {"all": ["scim_portal/admin/scim_portal.css"]}
        js = ["scim_portal/admin/scim_portal.js"]

    def get_autocomplete_fields(self, request):
        """The service account by name: autocomplete when the user admin is searchable, else a select."""
        user_admin = self.admin_site._registry.get(get_user_model())
        return ["service_account"] if user_admin and user_admin.get_search_fields(request) else []

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
            fieldsets.insert(2, (_("Health"), {"fields": ["health"]}))
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        self._request = request
        return super().get_form(request, obj, **kwargs)


@admin.register(ScimToken)
class ScimTokenAdmin(SimpleHistoryAdmin):
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


#: First characters a spreadsheet reads as a formula (CSV injection, OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value safe to open in a spreadsheet: text that would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv(modeladmin, request, queryset, columns: list[tuple[str, Any]], filename: str) -> StreamingHttpResponse:
    """Stream the selected rows as CSV (values read through ``columns`` getters)."""
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"  # lets spreadsheets detect UTF-8
        yield writer.writerow([title for title, _getter in columns])
        for row in queryset.iterator(chunk_size=2000):
            yield writer.writerow([csv_cell(getter(row)) for _title, getter in columns])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ChoicesFilter(admin.SimpleListFilter):
    """A filter with fixed choices: unlike a field's "all values" filter, it never scans the table."""

    options: list[tuple[str, str]] = []
    field = ""

    def lookups(self, request, model_admin):
        return self.options

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class MethodFilter(ChoicesFilter):
    title = _("method")
    parameter_name = field = "method"
    options = [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")]


class ResourceTypeFilter(ChoicesFilter):
    title = _("resource type")
    parameter_name = field = "resource_type"
    options = [("User", _("User")), ("Group", _("Group"))]


class StatusFilter(ChoicesFilter):
    title = _("status")
    parameter_name = field = "status"
    options = [(str(code), str(code)) for code in (200, 201, 204, 400, 401, 403, 404, 409, 412, 413, 429, 500, 501)]


class ScimTypeFilter(ChoicesFilter):
    title = _("scimType")
    parameter_name = field = "scim_type"
    options = [(t, t) for t in ("uniqueness", "invalidValue", "invalidSyntax", "invalidFilter", "invalidPath",
                                "noTarget", "mutability", "invalidVers", "tooMany", "sensitive")]


def user_change_link(user_id: Any, user: Any = None) -> str:
    """A link to a host user's admin change page (text only when the account is gone)."""
    if user_id is None:
        return "-"
    if user is None:
        return format_html("{} <small>({})</small>", user_id, _("deleted"))
    opts = user._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user_id])
    return format_html('<a href="{}">{}</a>', url, user)


def log_url(**params: Any) -> str:
    return reverse("admin:scim_portal_provisioninglog_changelist") + "?" + urlencode(params)


class ReadOnlyAdmin(admin.ModelAdmin):
    """An audit trail in the admin: rows can be read, filtered and exported, never edited."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # rows go only by retention (scim_prune_logs) or with their object


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list of a big table is counted from the planner's estimate.

    ``COUNT(*)`` over millions of log rows takes seconds on every page; the
    estimate (``pg_class.reltuples``, kept fresh by autovacuum) is instant.  A
    filtered list, or a table smaller than ``exact_below`` rows, is counted exactly.
    """

    exact_below = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where and queryset.db is not None:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                                   [queryset.model._meta.db_table])
                    row = cursor.fetchone()
                if row and row[0] >= self.exact_below:
                    return int(row[0])
        return super().count


@admin.register(ProvisioningLog)
class ProvisioningLogAdmin(ReadOnlyAdmin):
    """What every SCIM request asked and got; failures first to hand with the outcome filter.

    Filters use fixed choices and indexed columns, so the list stays fast at
    millions of rows; search matches a request id, a resource id or the
    affected user's username exactly.  ``?user__id__exact=<pk>`` shows one user's requests.
    """

    list_display = ["created", "integration", "method", "path_short", "status", "outcome", "scim_type",
                    "affected_user", "duration_ms"]
    list_filter = ["outcome", "integration", StatusFilter, ScimTypeFilter, MethodFilter, ResourceTypeFilter,
                   "created"]
    list_select_related = ["integration", "user"]
    readonly_fields = [f.name for f in ProvisioningLog._meta.fields if f.name != "user"] + ["affected_user"]
    actions = ["export_as_csv"]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page
    paginator = EstimatedCountPaginator

    def get_search_fields(self, request):
        return ["=request_id", "=resource_id", f"=user__{get_user_model().USERNAME_FIELD}"]

    @admin.display(description=_("path"))
    def path_short(self, obj: ProvisioningLog) -> str:
        return obj.path[:80]

    @admin.display(description=_("affected user"))
    def affected_user(self, obj: ProvisioningLog) -> str:
        return user_change_link(obj.user_id, obj.user)

    @admin.action(description=_("Export selected entries as CSV"))
    def export_as_csv(self, request, queryset):
        columns: list[tuple[str, Any]] = [
            *[(name, attrgetter(name)) for name in ("created", "integration", "credential", "method", "path",
                                                    "resource_type", "resource_id", "user_id")],
            ("user", lambda row: row.user if row.user_id else ""),
            *[(name, attrgetter(name)) for name in ("status", "outcome", "scim_type", "detail", "duration_ms",
                                                    "request_id")],
        ]
        # The action's queryset carries list_select_related: no query per exported row.
        return export_csv(self, request, queryset, columns, "provisioning-log.csv")


class ScimHistoryAdmin(ReadOnlyAdmin):
    """Change history of a host model tracked with ``HistoricalRecords(bases=[ScimHistoricalFields])``.

    Register it for the history model in one line::

        admin.site.register(User.history.model, ScimHistoryAdmin)

    Filter by responsible user (the service account for SCIM changes), integration,
    date and action; search by the responsible user's username or id; export as CSV.
    """

    list_display = ["history_date", "changed_object", "history_type", "history_user",
                    "scim_integration", "history_change_reason", "scim_request"]
    list_filter = ["history_type", "scim_integration", "history_date",
                   ("history_user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["history_user", "scim_integration"]
    actions = ["export_as_csv"]

    def get_search_fields(self, request):
        user_model = get_user_model()
        return [f"history_user__{user_model.USERNAME_FIELD}", "history_change_reason", "=scim_request_id"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit():  # a number is the responsible user's id
            return queryset.filter(history_user_id=int(term)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("object"))
    def changed_object(self, obj: Any) -> str:
        tracked = obj.instance_type._meta
        try:
            url = reverse(f"admin:{tracked.app_label}_{tracked.model_name}_change", args=[obj.id])
        except NoReverseMatch:
            return str(obj.history_object)
        return format_html('<a href="{}">{}</a>', url, obj.history_object)

    @admin.display(description=_("SCIM request"))
    def scim_request(self, obj: Any) -> str:
        return scim_request_link(obj)

    @admin.action(description=_("Export selected changes as CSV"))
    def export_as_csv(self, request, queryset):
        columns: list[tuple[str, Any]] = [
            ("history_date", attrgetter("history_date")),
            ("object", lambda row: str(row.instance)),
            ("object_id", attrgetter("id")),
            ("history_type", lambda row: row.get_history_type_display()),
            ("history_user", attrgetter("history_user")),
            ("history_user_id", attrgetter("history_user_id")),
            *[(name, attrgetter(name)) for name in ("scim_integration", "scim_request_id", "scim_credential",
                                                    "history_change_reason")],
        ]
        return export_csv(self, request, queryset, columns, "change-history.csv")


def scim_request_link(record: Any) -> str:
    """A history record's SCIM request, linked to its provisioning log entry."""
    request_id = getattr(record, "scim_request_id", "")
    if not request_id:
        return "-"
    return format_html('<a href="{}">{}</a>', log_url(request_id=request_id), request_id[:12])


class ScimHistoryAdminMixin(SimpleHistoryAdmin):
    """SCIM history on a host's user admin, in one line::

        class UserAdmin(ScimHistoryAdminMixin, BaseUserAdmin): ...

    The model needs ``HistoricalRecords(bases=[ScimHistoricalFields])``.  Its
    "History" page lists each change with the integration, the credential and
    a link to the provisioning log entry of the request that made it; the
    change page gains a "SCIM history" section with the latest changes and
    links to the person's full history and provisioning log (failures too).
    """

    history_list_display = ["scim_integration", "scim_credential", "scim_request"]
    scim_recent_changes = 5

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "scim_history"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((_("SCIM history"), {"fields": ["scim_history"]}))
        return fieldsets

    @admin.display(description=_("SCIM request"))
    def scim_request(self, record: Any) -> str:
        return scim_request_link(record)

    @admin.display(description=_("Changes"))
    def scim_history(self, obj: Any) -> str:
        if obj is None or obj.pk is None:
            return "-"
        opts = obj._meta
        records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")
                       [: self.scim_recent_changes])
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r.history_date.strftime("%Y-%m-%d %H:%M:%S"), r.get_history_type_display(),
              r.history_user or "-", getattr(r, "scim_integration", None) or "-",
              r.history_change_reason or "", scim_request_link(r)) for r in records),
        )
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("When"), _("Action"), _("By"), _("Integration"), _("Reason"), _("SCIM request"))
        links = format_html('<a href="{}">{}</a>', reverse(
            f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]), _("All changes"))
        if isinstance(obj, get_user_model()):
            links = format_html(
                '{} · <a href="{}">{}</a> · <a href="{}">{}</a>', links,
                log_url(user__id__exact=obj.pk), _("Provisioning log"),
                log_url(user__id__exact=obj.pk, outcome__exact="failure"), _("Failed requests"),
            )
        return format_html('<table class="scim-history">{}{}</table><p>{}</p>', header, rows, links)


@admin.register(GroupRule.history.model)
class GroupRuleHistoryAdmin(ReadOnlyAdmin):
    """Who added, changed or removed a group rule (rules are edited on the integration page)."""

    list_display = ["history_date", "history_type", "integration", "group", "grant", "priority", "history_user"]
    list_filter = ["history_type", "integration", "history_date"]
    list_select_related = ["integration", "group", "history_user"]
from scim_portal import admin_guard  # noqa: E402,F401  (guard rails: brakes, bursts, access review)
