from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("scim/v2/", include("scim_portal.urls"))]
