"""Mount with ``path("scim/v2/", include("scim_portal.urls"))``.

The OAuth 2.0 endpoints for Okta's "OAuth2" mode live below the same base:
``oauth/authorize/``, ``oauth/token/`` and ``oauth/revoke/`` (docs/authentication.md).

Every route accepts an optional trailing slash, and any other path below the
base URL answers a SCIM 404 body.
"""

from __future__ import annotations

from django.urls import re_path

from scim_portal.api import views
from scim_portal.oauth import views as oauth

app_name = "scim_portal"

ID = r"(?P<scim_id>[^/]+)"

urlpatterns = [
    re_path(r"^$", views.RootView.as_view(), name="root"),
    re_path(r"^oauth/authorize/?$", oauth.AuthorizeView.as_view(), name="oauth-authorize"),
    re_path(r"^oauth/token/?$", oauth.TokenView.as_view(), name="oauth-token"),
    re_path(r"^oauth/revoke/?$", oauth.RevokeView.as_view(), name="oauth-revoke"),
    re_path(r"^ServiceProviderConfigs?/?$", views.ServiceProviderConfigView.as_view(), name="spc"),
    re_path(r"^Schemas/?$", views.SchemasView.as_view(), name="schemas"),
    re_path(r"^Schemas/(?P<schema_id>[^/]+)/?$", views.SchemasView.as_view(), name="schema"),
    re_path(r"^ResourceTypes/?$", views.ResourceTypesView.as_view(), name="resource-types"),
    re_path(r"^ResourceTypes/(?P<name>[^/]+)/?$", views.ResourceTypesView.as_view(), name="resource-type"),
    re_path(r"^Users/?$", views.UsersView.as_view(), name="users"),
    re_path(r"^Users/\.search/?$", views.UserSearchView.as_view(), name="users-search"),
    re_path(rf"^Users/{ID}/?$", views.UserView.as_view(), name="user"),
    re_path(r"^Groups/?$", views.GroupsView.as_view(), name="groups"),
    re_path(r"^Groups/\.search/?$", views.GroupSearchView.as_view(), name="groups-search"),
    re_path(rf"^Groups/{ID}/?$", views.GroupView.as_view(), name="group"),
    re_path(r"^\.search/?$", views.RootSearchView.as_view(), name="search"),
    re_path(r"^(Me|Bulk)(/.*)?$", views.NotImplementedView.as_view(), name="not-implemented"),
    re_path(r"^[\s\S]*$", views.UnknownView.as_view(), name="unknown"),  # newlines too
]
