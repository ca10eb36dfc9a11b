"""The admin pages render in any host: Django's stock ``auth.User``, an email-login user with a
required field, the example portal (scripts/test.sh runs this file in each host of tests/hosts/).

A superuser made with the host's own fields logs in through the admin's login form and opens
the integration list, add and change pages, the provisioning log, the membership changes and,
where the host tracks its users, a user's history.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, reverse

from scim_portal.models import MembershipChange, ProvisioningLog, ScimToken, ScimUser
from tests.conftest import make_host_user
from tests.protocol import GROUP, user_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(db) -> Client:
    """Logged in with the password, through the admin's own login form."""
    root = make_host_user("root@example.com", is_staff=True, is_superuser=True)
    root.set_password("pw")
    root.save()
    client = Client()
    login = client.post(reverse("admin:login"), {"username": getattr(root, get_user_model().USERNAME_FIELD),
                                                 "password": "pw", "next": reverse("admin:index")})
    assert login.status_code == 302 and login["Location"] == reverse("admin:index"), login.content.decode()
    return client


@pytest.fixture
def provisioned(scim, integration, django_capture_on_commit_callbacks) -> dict:
    """A user and a group with that user as member, provisioned through the API."""
    created = scim.post("Users", user_body("alice@example.com"))
    assert created.status_code == 201, created.json_body
    with django_capture_on_commit_callbacks(execute=True):  # the membership change is written on commit
        group = scim.post("Groups", {"schemas": [GROUP], "displayName": "Engineering",
                                     "members": [{"value": created.json_body["id"]}]})
    assert group.status_code == 201, group.json_body
    return {"user": ScimUser.objects.get(scim_id=created.json_body["id"]).user}


def html(response) -> str:
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    return response.content.decode()


def test_integration_pages(browser, integration, provisioned):
    ScimToken.issue(integration, description="smoke")
    assert integration.name in html(browser.get(reverse("admin:scim_portal_integration_changelist")))
    assert 'name="provider"' in html(browser.get(reverse("admin:scim_portal_integration_add")))
    page = html(browser.get(reverse("admin:scim_portal_integration_change", args=[integration.pk])))
    assert 'id="scim-health"' in page and "Permanent tokens" in page and "/scim/v2/" in page
    assert html(browser.get(reverse("admin:scim_portal_integration_history", args=[integration.pk])))


def test_log_and_membership_pages(browser, integration, provisioned):
    entry = ProvisioningLog.objects.get(integration=integration, method="POST", path__endswith="/Users")
    assert "alice@example.com" in html(browser.get(reverse("admin:scim_portal_provisioninglog_changelist")))
    assert "alice@example.com" in html(browser.get(
        reverse("admin:scim_portal_provisioninglog_change", args=[entry.pk])))
    assert MembershipChange.objects.filter(user=provisioned["user"]).exists()
    assert "Engineering" in html(browser.get(reverse("admin:scim_portal_membershipchange_changelist")))
    for name in ("scimuser", "scimgroup", "scimtoken"):
        html(browser.get(reverse(f"admin:scim_portal_{name}_changelist")))


def test_user_history_pages(browser, provisioned):
    user = provisioned["user"]
    history = getattr(type(user), "history", None)
    if history is None or not admin.site.is_registered(history.model):
        pytest.skip("this host keeps no user history in the admin")
    history_opts = history.model._meta
    listing = html(browser.get(reverse(f"admin:{history_opts.app_label}_{history_opts.model_name}_changelist")))
    assert "SCIM request" in listing
    opts = user._meta
    try:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk])
    except NoReverseMatch:
        return  # the host's users have no admin page of their own
    assert "SCIM history" in html(browser.get(change))
    assert html(browser.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[user.pk])))
