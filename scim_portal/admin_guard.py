"""Admin for the guard rails: brakes, bursts and their held requests, and the access review.

A burst's page shows when the brake tripped, after how many deprovisionings,
whom it holds and through which requests; an admin with the change
permission releases it, keeps it paused or resumes without the held requests.
Each decision is recorded in the burst's history with the admin and a reason.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from scim_portal import brake
from scim_portal.access_review import COLUMNS, csv_lines, json_chunks, review
from scim_portal.models import (
    AccessReview,
    BurstStatus,
    DeprovisioningBrake,
    DeprovisioningBurst,
    HeldRequest,
)

#: Held people named on a burst's page; the rest are one click away.
HELD_SHOWN = 20
#: Access review rows shown in the admin; the downloads carry them all.
REVIEW_SHOWN = 200


def request_log_link(request_id: str) -> str:
    url = reverse("admin:scim_portal_provisioninglog_changelist") + "?" + urlencode({"q": request_id})
    return format_html('<a href="{}">{}</a>', url, request_id)


@admin.register(DeprovisioningBrake)
class DeprovisioningBrakeAdmin(SimpleHistoryAdmin):
    list_display = ["integration", "state", "limits"]
    fields = ["integration", "enabled", "max_count", "max_percent", "window_minutes", "notify_emails", "state"]
    readonly_fields = ["state"]
    raw_id_fields = ["integration"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The integration is the primary key: changing it would save this row over another brake.
        return [*super().get_readonly_fields(request, obj), *(["integration"] if obj is not None else [])]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a paused brake would resume deprovisioning without a decision on its burst.
        if obj is not None and obj.paused_by_id is not None:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("state"))
    def state(self, obj: DeprovisioningBrake) -> str:
        if obj.pk is None or obj.paused_by_id is None:
            return str(_("counting") if obj.pk and obj.is_on else _("off") if obj.pk else "-")
        url = reverse("admin:scim_portal_deprovisioningburst_change", args=[obj.paused_by_id])
        return format_html('<a href="{}">{}</a>', url, _("paused: deprovisioning is held"))

    @admin.display(description=_("trips past"))
    def limits(self, obj: DeprovisioningBrake) -> str:
        if not obj.is_on:
            return str(_("off"))
        return str(_("%(count)d and %(percent)d%% in %(window)d min") % {
            "count": obj.limit_count, "percent": obj.limit_percent, "window": obj.window})


@admin.register(DeprovisioningBurst)
class DeprovisioningBurstAdmin(SimpleHistoryAdmin):
    list_display = ["integration", "tripped_at", "status", "count", "window_minutes", "held_count", "decided_by"]
    list_filter = ["status"]
    date_hierarchy = "tripped_at"
    fields = ["integration", "tripped_at", "status", "count", "window_minutes", "active_users",
              "held_people", "decided_at", "decided_by"]
    readonly_fields = fields
    change_form_template = "scim_portal/admin/burst_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeprovisioningBurst]:
        return super().get_queryset(request).select_related("integration", "decided_by").annotate(
            held_total=Count("held"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A burst ends by a decision (brake.decide), never by deletion: that would resume the
        # brake unseen and lose the held requests.
        return False

    def save_model(self, request: HttpRequest, obj: DeprovisioningBurst, form: Any, change: bool) -> None:
        """Nothing to save: every field is read-only, and only brake.decide writes a burst."""

    @admin.display(description=_("held"), ordering="held_total")
    def held_count(self, obj: DeprovisioningBurst) -> int:
        return obj.held_total

    @admin.display(description=_("held people"))
    def held_people(self, obj: DeprovisioningBurst) -> str:
        held = list(obj.held.order_by("first_held_at", "pk")[:HELD_SHOWN])
        rows = format_html_join("", "<li>{} {} ({}, {})</li>", (
            (h.method, h.user_name, h.first_held_at.strftime("%Y-%m-%d %H:%M:%S"),
             request_log_link(h.request_id)) for h in held))
        url = reverse("admin:scim_portal_heldrequest_changelist") + f"?burst__id__exact={obj.pk}"
        return format_html('<ul>{}</ul><a href="{}">{}</a>', rows, url, _("All held requests"))

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        return [path("<int:pk>/decide/", decide, name="scim_portal_deprovisioningburst_decide"),
                *super().get_urls()]

    def render_change_form(self, request, context, *args: Any, **kwargs: Any):
        obj = context.get("original")
        context["can_decide"] = bool(obj and obj.holding and self.has_change_permission(request, obj))
        context["decisions"] = [(str(d), BurstStatus(d).label) for d in brake.DECISIONS]
        # Every field is read-only: decisions are the buttons below the form, not "Save".
        context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, *args, **kwargs)

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return require_POST(self._decide)(request, pk)

    def _decide(self, request: HttpRequest, pk: int) -> HttpResponse:
        burst = get_object_or_404(DeprovisioningBurst, pk=pk)
        if not self.has_change_permission(request, burst):
            raise PermissionDenied
        decision = request.POST.get("decision", "")
        reason = request.POST.get("reason", "").strip()
        try:
            brake.decide(burst, decision, request.user, reason)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, _("Decision recorded: %s.") % BurstStatus(decision).label, messages.SUCCESS)
        # POST-redirect-GET: a reload never decides twice.
        return HttpResponseRedirect(reverse("admin:scim_portal_deprovisioningburst_change", args=[pk]))


@admin.register(HeldRequest)
class HeldRequestAdmin(admin.ModelAdmin):
    list_display = ["user_name", "method", "request_link", "first_held_at", "last_held_at", "attempts",
                    "applied_at", "burst"]
    list_filter = ["method"]
    search_fields = ["user_name", "request_id"]
    list_select_related = ["burst__integration"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("request id"))
    def request_link(self, obj: HeldRequest) -> str:
        return request_log_link(obj.request_id)


@admin.register(AccessReview)
class AccessReviewAdmin(admin.ModelAdmin):
    """The report page: the first rows, and CSV or JSON downloads of all of them (streamed)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        fmt = request.GET.get("format")
        if fmt in ("csv", "json"):
            return download(fmt)
        rows = list(islice(review(), REVIEW_SHOWN + 1))
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": _("Access review"),
            "columns": COLUMNS, "rows": rows[:REVIEW_SHOWN], "more": len(rows) > REVIEW_SHOWN,
            "shown": REVIEW_SHOWN, **(extra_context or {}),
        }
        return TemplateResponse(request, "scim_portal/admin/access_review.html", context)


def download(fmt: str) -> StreamingHttpResponse:
    chunks = csv_lines(review()) if fmt == "csv" else json_chunks(review())
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="access-review.{fmt}"'
    return response
