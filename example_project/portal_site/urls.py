from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portal.views import profile

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("profile/", profile, name="profile"),
    path("scim/v2/", include("scim_portal.urls")),
]
