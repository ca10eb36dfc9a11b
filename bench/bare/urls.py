from django.urls import path

from bench.bare.bare_app import views

urlpatterns = [
    path("users", views.users),
    path("users/<uuid:scim_id>", views.user),
    path("groups/<uuid:scim_id>", views.group),
    path("groups/<uuid:scim_id>/members", views.members),
]
