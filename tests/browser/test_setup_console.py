"""A new IT admin sets up Okta and Entra ID in Chromium: guides, tokens, OAuth client, health, self-check.

Screenshots go to a temporary folder; to refresh the ones in docs/img run
``SCIM_PORTAL_SCREENSHOTS=docs/img pytest tests/browser/test_setup_console.py``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from scim_portal.models import Integration, OAuthClient, ProvisioningLog, ScimToken

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

pytestmark = pytest.mark.django_db(transaction=True)


def scim(base: str, token: str, method: str, path: str, body: Any = None) -> int:
    """One real SCIM request to the live server; returns the status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/scim/v2/{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json",
        "Accept": "application/scim+json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


def user_body(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": name, "type": "work", "primary": True}], "active": True, **extra}


@pytest.fixture
def service_account(transactional_db) -> Any:
    user_model = get_user_model()
    fields = {user_model.USERNAME_FIELD: "scim-okta@example.com"}
    if user_model.get_email_field_name() != user_model.USERNAME_FIELD:
        fields[user_model.get_email_field_name()] = "scim-okta@example.com"
    return user_model._default_manager.create_user(first_name="Okta", last_name="Robot", **fields)


def add_integration(page: Any, name: str, provider: str, account: str) -> Integration:
    """Fill the add form as an admin would: name (slug follows), IdP, service account by name."""
    page.goto("/admin/scim_portal/integration/add/")
    assert page.locator("#id_provider").input_value() == ""  # no silent default
    page.fill("#id_name", name)
    page.select_option("#id_provider", provider)
    page.click(".field-service_account .select2-selection")
    page.fill(".select2-search__field", "Robot")
    page.click(f".select2-results__option:has-text('{account}')")
    page.check("input[name=writable_attributes][value=title]")
    page.click("input[name=_continue]")
    page.wait_for_selector("#scim-guide")
    return Integration.objects.get(name=name)


def copy_values(page: Any) -> list[str]:
    return page.eval_on_selector_all("#scim-guide button.scim-copy", "els => els.map(e => e.dataset.copy)")


def test_okta_setup_token_health_and_oauth(admin_page, service_account, shot):
    page, base = admin_page, admin_page.live_url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    okta = add_integration(page, "Acme Okta", "okta", "scim-okta@example.com")
    assert okta.provider == "okta" and okta.service_account == service_account
    assert okta.writable_attributes == ["title"]

    # The guide: Okta's own field names, this integration's values, copy buttons that copy.
    guide = page.locator("#scim-guide")
    for text in ("SCIM connector base URL", "Unique identifier field for users", "Push Groups",
                 "Test Connector Configuration", "To App", "Authorization endpoint URI"):
        assert text in guide.inner_text()
    assert copy_values(page)[:2] == [f"{base}/scim/v2/", "userName"]
    button = guide.locator("button.scim-copy").first
    button.click()
    # The label changes when the clipboard's promise settles: wait for it (up to 5 s), do not race it.
    sync_api.expect(button).to_have_text("Copied", timeout=5000)
    assert page.evaluate("navigator.clipboard.readText()") == f"{base}/scim/v2/"
    shot(page.locator("fieldset:has(#scim-guide)"), "admin-okta-guide")

    # A token, shown once: a reload neither shows it again nor mints another.
    page.click("a.button:text-is('Generate a new token')")
    page.wait_for_url("**/issue-token/")
    page.fill("#id_description", "Okta production")
    page.click("input[type=submit]")
    token = page.locator("#scim-token").inner_text()
    assert ScimToken.objects.filter(integration=okta).count() == 1
    assert ScimToken.objects.get(integration=okta).matches(token)
    assert page.locator("#scim-base-url").inner_text() == f"{base}/scim/v2/"
    shot(page.locator("#content"), "admin-token")
    page.reload()
    assert "cannot be shown again" in page.inner_text("#content") and token not in page.content()
    assert ScimToken.objects.filter(integration=okta).count() == 1

    # Okta's test call and some traffic, over real HTTP with that token.
    assert scim(base, token, "GET", "Users?startIndex=1&count=1") == 200
    assert scim(base, token, "POST", "Users", user_body("ada@example.com")) == 201
    assert scim(base, token, "POST", "Users", user_body("ada@example.com")) == 409
    assert scim(base, token, "POST", "Groups", {"displayName": "Engineering"}) == 201
    page.goto(f"/admin/scim_portal/integration/{okta.pk}/change/")
    health = page.locator("#scim-health")
    assert health.locator("#scim-last-request time").inner_text() == "just now"
    assert "409 uniqueness" in health.locator("#scim-last-error").inner_text()
    assert health.locator("#scim-failures").inner_text().startswith("1")
    assert health.locator("#scim-managed").inner_text() == "1 user · 1 group"
    assert "answered 200" in health.locator("#scim-test-call").inner_text()
    exact = health.locator("#scim-last-request time").get_attribute("title")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", exact)

    # The self-check calls the base URL from the server with a probe token it deletes.
    page.click("#scim-selfcheck-button")
    page.wait_for_selector("#scim-selfcheck li")
    result = page.inner_text("#scim-selfcheck")
    assert "Reachable: HTTP 401" in result and "Accepts a bearer token: 200" in result
    assert ScimToken.objects.filter(integration=okta).count() == 1
    shot(page.locator("fieldset:has(#scim-health)"), "admin-health")

    # The list: status columns and a link to this integration's log.
    page.goto("/admin/scim_portal/integration/")
    row = page.locator("#result_list tbody tr").first
    assert row.locator(".field-last_request time").inner_text() == "just now"
    assert row.locator(".field-failures").inner_text() == "1"
    row.locator(".field-log a").click()
    page.wait_for_url(f"**/provisioninglog/?integration__id__exact={okta.pk}")
    sync_api.expect(page.locator("#result_list tbody tr")).to_have_count(
        ProvisioningLog.objects.filter(integration=okta).count())

    # Rotation says until when the old token keeps working.
    page.goto(f"/admin/scim_portal/integration/{okta.pk}/change/")
    page.click("#content a:text-is('Rotate')")
    page.wait_for_url("**/rotate/")
    page.click("input[type=submit]")
    rotation = page.inner_text("#scim-rotation")
    assert re.search(r"keeps working until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 60 minutes\), then stops", rotation)
    assert scim(base, token, "GET", "Users?startIndex=1&count=1") == 200  # still working, as promised

    # An OAuth client: the help text shows <appName>, the long secret does not widen the page.
    page.goto(f"/admin/scim_portal/integration/{okta.pk}/change/")
    page.click("a.button:text-is('Register an OAuth client')")
    page.wait_for_url("**/oauth/add/")
    assert "/admin/app/<appName>/instance/" in page.inner_text("#content")
    page.fill("#id_okta_app_name", "acme_portal")
    page.click("input[type=submit]")
    secret = page.inner_text("#client-secret")
    assert len(secret) >= 100 and OAuthClient.objects.filter(integration=okta).count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    page.reload()
    assert secret not in page.content()
    assert OAuthClient.objects.filter(integration=okta).count() == 1


def test_entra_guide_names_its_fields_and_required_mappings(admin_page, service_account, shot):
    page, base = admin_page, admin_page.live_url
    add_integration(page, "Contoso Entra", "entra", "scim-okta@example.com")
    guide = page.locator("#scim-guide").inner_text()
    for text in ("Tenant URL", "Secret Token", "Provisioning Mode", "Automatic", "Test Connection",
                 'emails[type eq "work"].value', "userPrincipalName", "givenName", "surname", "Start provisioning"):
        assert text in guide
    assert "SCIM connector base URL" not in guide
    assert copy_values(page) == [f"{base}/scim/v2/"]
    shot(page.locator("fieldset:has(#scim-guide)"), "admin-entra-guide")

