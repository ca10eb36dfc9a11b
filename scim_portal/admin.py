"""Django admin for integrations and their credentials.

A raw token is rendered once, in the response to the form that issued it;
it is never put in a message, session or log.
"""

from __future__ import annotations

import csv
import json
from operator import attrgetter
from typing import Any
from urllib.parse import unquote

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import SimpleTemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from scim_portal.adapter import get_adapter
from scim_portal.admin_credentials import CredentialsAdminMixin
from scim_portal.admin_setup import IntegrationSetupMixin, rendering_page_for
from scim_portal.forms import attribute_list_field, required_choices, writable_choices
from scim_portal.models import (
    GroupRule,
    IdentityProvider,
    Integration,
    Membership,
    MembershipChange,
    ProvisioningLog,
    ScimGroup,
    ScimToken,
    ScimUser,
)
from scim_portal.models.resources import fold


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
    object_history_form_template = "scim_portal/admin/history_form.html"

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
            (_("Identity matching"), {"fields": ["unique_identifier", "link_existing_users",
                                                 "adopt_existing_groups"]}),
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

    def changeform_view(self, request, *args, **kwargs):
        """The page's sections read the request: render them here, not after the view has returned."""
        with rendering_page_for(request):
            response = super().changeform_view(request, *args, **kwargs)
            if isinstance(response, SimpleTemplateResponse):
                response.render()
            return response

    def history_form_view(self, request, *args, **kwargs):
        with rendering_page_for(request):
            return super().history_form_view(request, *args, **kwargs)


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
    object_history_form_template = "scim_portal/admin/history_form.html"

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
        if not value:
            return queryset
        if value not in {str(option) for option, _label in self.options}:
            # Django's answer to a bad filter: back to the list with ?e=1, never a 500.
            raise IncorrectLookupParameters(f"{self.parameter_name}: {value!r} is not one of the choices")
        return queryset.filter(**{self.field: value})


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
    """A link to a host user's admin change page (text only when the account is gone, or when the
    host's users have no admin page)."""
    if user_id is None:
        return "-"
    if user is None:
        return format_html("{} <small>({})</small>", user_id, _("deleted"))
    opts = user._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user_id])
    except NoReverseMatch:  # a host whose users have no admin page
        return format_html("{}", user)
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


#: Permission to read and export what IdPs sent and were told (personal data).
BODIES_PERMISSION = "scim_portal.view_log_bodies"
BODY_FIELDS = frozenset({"request_body", "response_body"})


def may_read_bodies(request: HttpRequest) -> bool:
    return request.user.has_perm(BODIES_PERMISSION)


def seconds(value: Any) -> str:
    """A time to the second, in the current time zone (the admin's default format stops at minutes)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def user_history_link(user_id: Any, user: Any) -> str:
    """A link to a host user's history page ("" when the user admin has none)."""
    if user is None:
        return ""
    opts = user._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[user_id])
    except NoReverseMatch:
        return ""
    return format_html('<a href="{}">{}</a>', url, _("history"))


def pretty_json(value: Any) -> str:
    if value is None:
        return "-"
    return format_html('<pre class="scim-body">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(ProvisioningLog)
class ProvisioningLogAdmin(ReadOnlyAdmin):
    """What every SCIM request asked and got; failures first to hand with the outcome filter.

    Filters use fixed choices and indexed columns, so the list stays fast at
    millions of rows.  Search matches the start of a userName, displayName or
    email (the log's own partial, prefix-indexed ``subject_key``/``email_key``),
    the start of a SCIM resource id, or a whole request id: each term is an index
    range scan, never a scan of the table or a join to the user table.
    ``?user__id__exact=<pk>`` shows one user's requests.

    Request and response bodies hold personal data: only users with the
    ``scim_portal.view_log_bodies`` permission see and export them.
    """

    list_display = ["time", "request_line", "status", "outcome", "scim_type", "reason", "affected_user"]
    list_display_links = ["time"]
    sortable_by = ["time"]  # sorting millions of rows by another column would not use an index
    list_filter = ["outcome", "integration", StatusFilter, ScimTypeFilter, MethodFilter, ResourceTypeFilter,
                   "created"]
    list_select_related = ["integration", "user"]
    actions = ["export_as_csv"]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page
    paginator = EstimatedCountPaginator
    search_help_text = _("Start of a userName, email, group name or SCIM id; or a whole request id.")
    reason_length = 90

    class Media:
        css = {"all": ["scim_portal/admin/audit.css"]}

    def changelist_view(self, request, extra_context=None):
        # The list is wide: it takes the page's width instead of sharing it with the app menu
        # (the breadcrumbs still lead back), so that every column fits at 1400 px.
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    def get_search_fields(self, request):
        return ["subject_key", "email_key", "resource_id", "=request_id"]  # shows the box; see below

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        key = fold(term)
        # "<> ''" repeats the partial indexes' condition, so that PostgreSQL may use them.
        matches = (Q(subject_key__startswith=key) & ~Q(subject_key="")
                   | Q(email_key__startswith=key) & ~Q(email_key="")
                   | Q(resource_id__startswith=term.lower()) | Q(request_id=term))
        return queryset.filter(matches), False

    def lookup_allowed(self, lookup, value, request=None):
        # A filter on a body in the URL would reveal its content one guess at a time.
        if lookup.split("__", 1)[0] in BODY_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["time", "integration", "credential", "dialect", "request_id", "duration_ms"]}),
            (_("Request"), {"fields": ["method", "path", "resource_type", "resource_id", "subject",
                                       "affected_user"]}),
            (_("Answer"), {"fields": ["status", "outcome", "scim_type", "detail"]}),
        ]
        if may_read_bodies(request):
            fieldsets.append((_("Bodies"), {"fields": ["request_body_json", "response_body_json"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [name for _title, options in self.get_fieldsets(request, obj) for name in options["fields"]]

    @admin.display(description=_("time"), ordering="created")
    def time(self, obj: ProvisioningLog) -> str:
        """The time to the second, and the integration below it."""
        integration = obj.integration.name if obj.integration else _("(not authenticated)")
        return format_html('{}<span class="scim-log-sub">{}</span>', seconds(obj.created), integration)

    @admin.display(description=_("request"))
    def request_line(self, obj: ProvisioningLog) -> str:
        """Method and path, and below them the userName or displayName the request was about."""
        path = unquote(obj.path.split("/v2/", 1)[-1])
        short = path if len(path) <= 22 else path[:21] + "…"
        return format_html('<span title="{}"><b>{}</b> {}</span><span class="scim-log-sub" title="{}">{}</span>',
                           obj.path, obj.method, short, obj.subject, obj.subject or "")

    @admin.display(description=_("reason"))
    def reason(self, obj: ProvisioningLog) -> str:
        if not obj.detail:
            return "-"
        short = obj.detail if len(obj.detail) <= self.reason_length else obj.detail[: self.reason_length - 1] + "…"
        return format_html('<span class="scim-log-reason" title="{}">{}</span>', obj.detail, short)

    @admin.display(description=_("affected user"))
    def affected_user(self, obj: ProvisioningLog) -> str:
        link = user_change_link(obj.user_id, obj.user)
        history = user_history_link(obj.user_id, obj.user)
        return format_html('<span class="scim-log-user">{}</span>{}', link, history)

    @admin.display(description=_("request body"))
    def request_body_json(self, obj: ProvisioningLog) -> str:
        return pretty_json(obj.request_body)

    @admin.display(description=_("response body"))
    def response_body_json(self, obj: ProvisioningLog) -> str:
        return pretty_json(obj.response_body)

    @admin.action(description=_("Export selected entries as CSV"))
    def export_as_csv(self, request, queryset):
        columns: list[tuple[str, Any]] = [
            *[(name, attrgetter(name)) for name in ("created", "integration", "credential", "method", "path",
                                                    "resource_type", "resource_id", "subject", "user_id")],
            ("user", lambda row: row.user if row.user_id else ""),
            *[(name, attrgetter(name)) for name in ("status", "outcome", "scim_type", "detail", "duration_ms",
                                                    "request_id")],
        ]
        if may_read_bodies(request):
            columns += [(name, lambda row, name=name: json_cell(getattr(row, name))) for name in sorted(BODY_FIELDS)]
        else:
            queryset = queryset.defer(*BODY_FIELDS)  # not even read from the database
        # The action's queryset carries list_select_related: no query per exported row.
        return export_csv(self, request, queryset, columns, "provisioning-log.csv")


def json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False)


class ScimHistoryAdmin(ReadOnlyAdmin):
    """Change history of a host model tracked with ``HistoricalRecords(bases=[ScimHistoricalFields])``.

    Register it for the history model in one line::

        admin.site.register(User.history.model, ScimHistoryAdmin)

    Filter by integration, date and action; find the responsible user's changes (the
    service account's for SCIM changes) by searching their username or id, or with
    ``?history_user__id__exact=<pk>``; export as CSV.  (A filter listing the responsible
    users would read the whole history table on every page.)
    """

    list_display = ["history_date", "changed_object", "history_type", "history_user",
                    "scim_integration", "history_change_reason", "scim_request"]
    list_filter = ["history_type", "scim_integration", "history_date"]
    list_select_related = ["history_user", "scim_integration"]
    actions = ["export_as_csv"]
    change_list_template = "scim_portal/admin/history_change_list.html"

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
    """A history record's (or membership change's) SCIM request, linked to its provisioning log entry."""
    request_id = getattr(record, "scim_request_id", "") or getattr(record, "request_id", "")
    if not request_id:
        return "-"
    return format_html('<a href="{}">{}</a>', log_url(request_id=request_id), request_id[:12])


class ScimDeltaHelper(HistoricalRecordContextHelper):
    """simple-history's diff, except that a reference that was empty reads "None".

    simple-history renders an empty foreign key on the older side as a deleted
    object ("Deleted licence (pk=None)"); nothing was deleted there.
    """

    def prepare_delta_change_value(self, change: Any, value: Any) -> Any:
        if isinstance(value, DeletedObject) and value.pk is None:
            return None
        return super().prepare_delta_change_value(change, value)


def admin_reason(action: str, request: HttpRequest) -> str:
    """The history reason of a change made in the admin, e.g. "Changed in admin by ann@example.com"."""
    return f"{action} in admin by {request.user}"[:100]


class ScimHistoryAdminMixin(SimpleHistoryAdmin):
    """SCIM history on a host's user admin, in one line::

        class UserAdmin(ScimHistoryAdminMixin, BaseUserAdmin): ...

    The model needs ``HistoricalRecords(bases=[ScimHistoricalFields])``.  Its
    "History" page lists each change with the integration, the credential and
    a link to the provisioning log entry of the request that made it; the
    change page gains a "SCIM history" section with the latest changes, group
    joins and leaves made by SCIM, and links to the person's full history,
    memberships and provisioning log (failures too).  Saves and deletions made
    in the admin carry a reason ("Changed in admin by <user>").
    """

    history_list_display = ["scim_integration", "scim_credential", "scim_request"]
    object_history_form_template = "scim_portal/admin/history_form.html"
    scim_recent_changes = 5

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "scim_history"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((_("SCIM history"), {"fields": ["scim_history"]}))
        return fieldsets

    def get_historical_record_context_helper(self, request, historical_record):
        return ScimDeltaHelper(self.model, historical_record)

    def save_model(self, request, obj, form, change):
        obj._change_reason = admin_reason("Changed" if change else "Added", request)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        obj._change_reason = admin_reason("Deleted", request)
        super().delete_model(request, obj)

    @admin.display(description=_("SCIM request"))
    def scim_request(self, record: Any) -> str:
        return scim_request_link(record)

    @admin.display(description=_("Changes"))
    def scim_history(self, obj: Any) -> str:
        if obj is None or obj.pk is None:
            return "-"
        is_user = isinstance(obj, get_user_model())
        rows = sorted([*self.recent_changes(obj), *self.recent_memberships(obj, is_user)],
                      key=lambda row: row[0], reverse=True)[: self.scim_recent_changes * 2]
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((seconds(when), *cells) for when, *cells in rows),
        )
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("When"), _("Action"), _("By"), _("Integration"), _("Reason"), _("SCIM request"))
        return format_html('<table class="scim-history">{}{}</table><p>{}</p>', header, body,
                           self.history_links(obj, is_user))

    def recent_changes(self, obj: Any) -> list[tuple[Any, ...]]:
        records = obj.history.select_related("history_user").order_by("-history_date", "-history_id")
        return [(r.history_date, r.get_history_type_display(), r.history_user or "-",
                 getattr(r, "scim_integration", None) or "-", r.history_change_reason or "",
                 scim_request_link(r)) for r in records[: self.scim_recent_changes]]

    def recent_memberships(self, obj: Any, is_user: bool) -> list[tuple[Any, ...]]:
        """Group joins and leaves made by SCIM (simple-history does not track them)."""
        if not is_user and not isinstance(obj, get_adapter().group_model()):
            return []
        changes = MembershipChange.objects.filter(**{"user_id" if is_user else "group_id": obj.pk})
        changes = changes.select_related("actor", "integration", "user")[: self.scim_recent_changes]
        return [(c.created, membership_action(c, is_user), c.actor or "-", c.integration or "-",
                 "", scim_request_link(c)) for c in changes]

    def history_links(self, obj: Any, is_user: bool) -> str:
        opts = obj._meta
        memberships = reverse("admin:scim_portal_membershipchange_changelist") + "?" + urlencode(
            {"user__id__exact" if is_user else "group__id__exact": obj.pk})
        links = format_html('<a href="{}">{}</a> · <a href="{}">{}</a>', reverse(
            f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]), _("All changes"),
            memberships, _("Group memberships"))
        if is_user:
            links = format_html(
                '{} · <a href="{}">{}</a> · <a href="{}">{}</a>', links,
                log_url(user__id__exact=obj.pk), _("Provisioning log"),
                log_url(user__id__exact=obj.pk, outcome__exact="failure"), _("Failed requests"),
            )
        return links


def membership_action(change: MembershipChange, for_user: bool) -> str:
    """ "Joined Engineering" on a person's page, "alice@example.com joined" on a group's."""
    if for_user:
        verb = _("Joined %s") if change.change == Membership.JOINED else _("Left %s")
        return verb % change.group_name
    verb = _("%s joined") if change.change == Membership.JOINED else _("%s left")
    return verb % (change.user or change.user_id)


@admin.register(MembershipChange)
class MembershipChangeAdmin(ReadOnlyAdmin):
    """Who joined or left which group through SCIM, and in which request."""

    list_display = ["time", "member", "change", "group_name", "integration", "actor", "request"]
    list_display_links = ["time"]
    list_filter = ["change", "integration", "created"]
    list_select_related = ["integration", "actor", "user"]
    search_fields = ["group_name", "=request_id"]
    sortable_by = ["time"]  # the (-created, -id) index serves the unfiltered list
    show_full_result_count = False  # no COUNT(*) over the whole table on every page
    paginator = EstimatedCountPaginator

    @admin.display(description=_("time"), ordering="created")
    def time(self, obj: MembershipChange) -> str:
        return seconds(obj.created)

    @admin.display(description=_("user"))
    def member(self, obj: MembershipChange) -> str:
        return user_change_link(obj.user_id, obj.user)

    @admin.display(description=_("SCIM request"))
    def request(self, obj: MembershipChange) -> str:
        return scim_request_link(obj)


@admin.register(GroupRule.history.model)
class GroupRuleHistoryAdmin(ReadOnlyAdmin):
    """Who added, changed or removed a group rule (rules are edited on the integration page)."""

    list_display = ["history_date", "history_type", "integration", "group", "grant", "priority", "history_user"]
    list_filter = ["history_type", "integration", "history_date"]
    list_select_related = ["integration", "group", "history_user"]
from scim_portal import admin_guard  # noqa: E402,F401  (guard rails: brakes, bursts, access review)
