"""Admin: the integration page's setup guide (one source with docs/idp/), and the forms without JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from scim_portal.guide import EXAMPLE_CONTEXT, GUIDES, Guide, guide_for, with_guide
from scim_portal.models import IdentityProvider, Integration, OAuthClient, UniqueIdentifier

DOCS = Path(__file__).resolve().parent.parent / "docs"

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(db) -> Client:
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser(email="root@example.com", password="pw"))
    return browser


def change_page(browser: Client, integration: Integration) -> str:
    return browser.get(reverse("admin:scim_portal_integration_change", args=[integration.pk])).content.decode()


def copy_values(page: str) -> list[str]:
    return re.findall(r'class="scim-copy" data-copy="([^"]*)"', page)


@pytest.mark.parametrize("provider", list(GUIDES))
def test_docs_pages_carry_the_guide_the_admin_shows(provider):
    guide = GUIDES[provider](EXAMPLE_CONTEXT)
    page = (DOCS / guide.doc_page).read_text(encoding="utf-8")
    assert with_guide(page, guide) == page, "run: python scripts/idp_guides.py"
    for step in guide.steps:
        assert step.text in page


def test_okta_guide_has_this_integrations_values_and_copy_buttons(admin_browser, make_integration):
    okta = make_integration(IdentityProvider.OKTA, unique_identifier=UniqueIdentifier.EMAIL)
    client = OAuthClient.register(okta, name="Okta OAuth", grant_type="authorization-code",
                                  redirect_uris=["https://system-admin.okta.com/admin/app/cpc/x/oauth/callback"])
    page = change_page(admin_browser, okta)
    for text in ("SCIM connector base URL", "Unique identifier field for users", "Supported provisioning actions",
                 "Push Groups", "HTTP Header", "OAuth 2", "Test Connector Configuration", "To App",
                 "Enable SCIM provisioning"):
        assert text in page
    assert copy_values(page)[:2] == ["http://testserver/scim/v2/", "email"]
    assert "http://testserver/scim/v2/oauth/authorize?scope=scim.read%20scim.write" in copy_values(page)
    assert "http://testserver/scim/v2/oauth/token" in copy_values(page)
    assert client.client.client_id in copy_values(page)
    assert "<code>docs/idp/okta.md</code>" in page


def test_entra_guide_names_tenant_url_and_required_mappings(admin_browser, make_integration):
    entra = make_integration(IdentityProvider.ENTRA, required_attributes=["title"])
    page = change_page(admin_browser, entra)
    for text in ("Tenant URL", "Secret Token", "Provisioning Mode", "Automatic", "Test Connection",
                 "emails[type eq &quot;work&quot;].value", "name.givenName", "name.familyName", "userPrincipalName",
                 "surname", "Start provisioning"):
        assert text in page
    assert "<th>title</th>" in page  # the integration's own required attribute joins the mappings
    assert copy_values(page)[0] == "http://testserver/scim/v2/"
    assert "SCIM connector base URL" not in page


def test_generic_guide_and_the_configured_base_url(admin_browser, make_integration, settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "BASE_URL": "https://sso.example.org/scim/v2",
                            "DOCS_URL": "https://docs.example.org/scim-portal/"}
    generic = make_integration(IdentityProvider.GENERIC)
    page = change_page(admin_browser, generic)
    assert copy_values(page)[0] == "https://sso.example.org/scim/v2/"
    assert 'href="https://docs.example.org/scim-portal/idp/generic/"' in page


def test_unknown_provider_falls_back_to_the_generic_guide():
    assert isinstance(guide_for("onelogin", EXAMPLE_CONTEXT), Guide)
    assert guide_for("onelogin", EXAMPLE_CONTEXT).provider == "generic"


def add_form_data(service_account, **fields) -> dict:
    data = {
        "name": "Acme Okta", "slug": "acme-okta", "provider": "okta", "enabled": "on",
        "service_account": service_account.pk, "unique_identifier": "userName", "deprovisioning": "deactivate",
        "reactivation_allowed": "on", "unknown_attributes": "ignore",
        "group_rules-TOTAL_FORMS": "0", "group_rules-INITIAL_FORMS": "0",
        "group_rules-MIN_NUM_FORMS": "0", "group_rules-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


@pytest.fixture
def robot(db):
    return get_user_model().objects.create_user(email="scim-robot@example.com", first_name="SCIM",
                                                last_name="Robot")


def test_the_idp_must_be_chosen_on_add(admin_browser, robot):
    add = reverse("admin:scim_portal_integration_add")
    page = admin_browser.get(add).content.decode()
    assert re.search(r'<option value="" selected>---------</option>', page)
    response = admin_browser.post(add, add_form_data(robot, provider=""))
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Integration.objects.exists()


def test_attribute_lists_are_checkboxes_and_unknown_names_are_refused(admin_browser, robot):
    add = reverse("admin:scim_portal_integration_add")
    page = admin_browser.get(add).content.decode()
    assert 'type="checkbox" name="writable_attributes" value="title"' in page
    assert 'type="checkbox" name="required_attributes" value="name.givenName"' in page
    refused = admin_browser.post(add, add_form_data(robot, writable_attributes=["name", "titel"]))
    assert "titel is not a known SCIM attribute" in refused.content.decode()
    assert not Integration.objects.exists()
    saved = admin_browser.post(add, add_form_data(
        robot, writable_attributes=["name", "emails", "title"], required_attributes=["name.givenName"]))
    assert saved.status_code == 302
    integration = Integration.objects.get()
    assert integration.writable_attributes == ["name", "emails", "title"]
    assert integration.required_attributes == ["name.givenName"]
    edit = change_page(admin_browser, integration)
    assert re.search(r'value="title"[^>]*checked', edit)


def test_service_account_is_picked_by_name(admin_browser, robot):
    page = admin_browser.get(reverse("admin:scim_portal_integration_add")).content.decode()
    # The example portal's user admin is searchable: an autocomplete that finds people by name.
    select = re.search(r'<select name="service_account"[^>]*>', page).group(0)
    assert 'class="admin-autocomplete"' in select
    found = admin_browser.get(reverse("admin:autocomplete"), {
        "term": "Robot", "app_label": "scim_portal", "model_name": "integration", "field_name": "service_account"})
    assert [r["text"] for r in found.json()["results"]] == [str(robot)]


def test_token_expiry_has_a_picker_and_a_format_hint(admin_browser, make_integration):
    integration = make_integration()
    url = reverse("admin:scim_portal_integration_issue_token", args=[integration.pk])
    page = admin_browser.get(url).content.decode()
    assert 'type="datetime-local"' in page and "2027-12-31 23:59" in page
    refused = admin_browser.post(url, {"scopes": ["read"], "expires_at": "31/12/2027"}).content.decode()
    assert "Enter a date and time as YYYY-MM-DD HH:MM" in refused
    assert admin_browser.post(url, {"scopes": ["read"], "expires_at": "2027-12-31T23:59"}).status_code == 302
    assert integration.tokens.get().expires_at.year == 2027
