from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group

from portal.models import Licence, User
from scim_portal.admin import ScimHistoryAdmin, ScimHistoryAdminMixin
from scim_portal.federation import FederatedAdminMixin


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = ["name", "seats"]


@admin.register(User)
class UserAdmin(FederatedAdminMixin, ScimHistoryAdminMixin, BaseUserAdmin):
    """Fields the IdP owns are read-only for managed users; changes carry SCIM history."""

    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "licence", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "licence"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "scim_managed_by"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "licence"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ScimHistoryAdminMixin, BaseGroupAdmin):
    pass


admin.site.register(User.history.model, ScimHistoryAdmin)
admin.site.register(Group.history.model, ScimHistoryAdmin)
