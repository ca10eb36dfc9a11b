"""The audit console walked in Chromium at 1400x900: the provisioning log, the
person's history, bodies hidden from view-only staff, IdP-owned fields read-only.

SCIM traffic goes over real HTTP to the live server, as an IdP would send it.
Screenshots go to a temporary folder; to refresh docs/img/admin-log.png run
``SCIM_PORTAL_SCREENSHOTS=docs/img pytest tests/browser/test_audit_console.py -k log_list``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from scim_portal.models import IdentityProvider, Integration, ProvisioningLog, ScimToken, ScimUser

pytestmark = pytest.mark.django_db(transaction=True)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STAFF_PASSWORD = "view-only-staff-password"


def scim(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/scim/v2/{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            raw = reply.read()
            return reply.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def person(user_name: str, given: str = "Alice") -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, "name": {"givenName": given, "familyName": "Archer"},
            "emails": [{"value": user_name, "primary": True, "type": "work"}], "active": True}


@pytest.fixture
def traffic(live_server) -> dict[str, Any]:
    """An Okta integration's day: creates, a rename, a failure with a long reason, a group, a list."""
    account = get_user_model().objects.create_user(email="okta-scim@example.com")
    okta = Integration.objects.create(name="Okta production", slug="okta-prod", provider=IdentityProvider.OKTA,
                                      service_account=account)
    token = ScimToken.issue(okta, description="Okta").raw
    base = live_server.url
    status, alice = scim(base, token, "POST", "Users", person("alice.archer@example.com"))
    assert status == 201, alice
    scim(base, token, "POST", "Users", person("bob.baker@example.com", "Bob"))
    scim(base, token, "PUT", f"Users/{alice['id']}", person("alice.archer@example.com", "Alicia"))
    taken = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName",
                                                 "value": "bob.baker@example.com"}]}
    status, error = scim(base, token, "PATCH", f"Users/{alice['id']}", taken)
    assert status == 409, error
    scim(base, token, "POST", "Groups", {"schemas": [GROUP], "displayName": "Engineering",
                                         "members": [{"value": alice["id"]}]})
    scim(base, token, "GET", "Users?filter=" + urllib.parse.quote('userName eq "carol@example.com"'))
    return {"base": base, "token": token, "alice": ScimUser.objects.get(scim_id=alice["id"]).user,
            "okta": okta}


def right_edge(page: Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"]


def log_in(browser: Any, live_server: Any, email: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page


def test_the_log_list_reads_at_1400_px_and_leads_to_the_person(admin_page, traffic, shot):
    admin_page.goto("/admin/scim_portal/provisioninglog/")
    failed = admin_page.locator("#result_list tbody tr", has_text="409")
    assert failed.count() == 1
    path = shot(admin_page, "admin-log")
    # Status, outcome, scimType and the reason are on screen without scrolling, in the header and the
    # row: inside the viewport and inside the list's own box, which would otherwise scroll sideways.
    visible = min(1400, right_edge(admin_page, "#changelist .results"))
    for column in ("time", "request_line", "status", "outcome", "scim_type", "reason", "affected_user"):
        assert right_edge(admin_page, f"th.column-{column}") <= visible, column
        assert right_edge(admin_page, f"#result_list tbody tr:has-text('409') .field-{column}") <= visible, column
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= 1400  # no horizontal scroll
    results = admin_page.locator("#changelist .results")
    assert results.evaluate("e => e.scrollWidth <= e.clientWidth")
    row = failed.inner_text()
    assert "uniqueness" in row and "Failure" in row and "already taken" in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", failed.locator(".field-time").inner_text())
    assert "Okta production" in failed.locator(".field-time").inner_text()
    assert path.stat().st_size > 10_000

    # A partial userName finds that person's requests, and only theirs.
    admin_page.fill("#searchbar", "alice")
    admin_page.press("#searchbar", "Enter")
    admin_page.wait_for_url("**q=alice**")
    subjects = admin_page.locator("#result_list td.field-request_line .scim-log-sub").all_inner_texts()
    assert subjects and set(subjects) == {"alice.archer@example.com"}

    # Each entry leads to its person and their history.
    alice = traffic["alice"]
    admin_page.locator("#result_list td.field-affected_user a", has_text="history").first.click()
    admin_page.wait_for_url(f"**/admin/portal/user/{alice.pk}/history/")
    assert "Alicia" in admin_page.content()  # the PUT's diff
    admin_page.go_back()
    admin_page.locator("#result_list td.field-affected_user a", has_text="alice.archer@example.com").first.click()
    admin_page.wait_for_url(f"**/admin/portal/user/{alice.pk}/change/")
    section = admin_page.locator("table.scim-history")
    assert "Joined Engineering" in section.inner_text()
    shot(admin_page, "admin-user-scim-history")


def test_view_only_staff_read_the_log_without_bodies(admin_page, browser, live_server, traffic, shot):
    staff = get_user_model().objects.create_user(email="helpdesk@example.com", password=STAFF_PASSWORD,
                                                 is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_provisioninglog"))
    entry = ProvisioningLog.objects.get(status=409)
    url = f"/admin/scim_portal/provisioninglog/{entry.pk}/change/"

    admin_page.goto(url)  # a superuser has every permission, bodies included
    assert admin_page.get_by_text("Request body").is_visible()
    assert "bob.baker@example.com" in admin_page.locator("pre.scim-body").first.inner_text()

    page = log_in(browser, live_server, staff.email, STAFF_PASSWORD)
    try:
        page.goto(url)
        content = page.locator("#content").inner_text()
        assert "uniqueness" in content and "already taken" in content  # why it failed: yes
        assert page.locator("pre.scim-body").count() == 0 and "Request body" not in content
        assert content.count("Affected user") == 1
        shot(page, "admin-log-entry-view-only")
    finally:
        page.context.close()


def test_idp_owned_fields_are_read_only_on_a_managed_user(admin_page, traffic, shot):
    alice = traffic["alice"]
    admin_page.goto(f"/admin/portal/user/{alice.pk}/change/")
    assert admin_page.locator("input[name=first_name]").count() == 0
    assert admin_page.locator("input[name=email]").count() == 0
    assert admin_page.locator("div.field-first_name .readonly").inner_text() == "Alicia"
    assert "written by the IdP" in admin_page.locator("div.field-scim_managed_by").inner_text()
    assert admin_page.locator("input[name=is_staff]").count() == 1  # the portal's own fields stay editable
    shot(admin_page, "admin-user-managed")

    local = get_user_model().objects.create_user(email="local@example.com")
    admin_page.goto(f"/admin/portal/user/{local.pk}/change/")
    admin_page.fill("input[name=first_name]", "Lo")
    admin_page.click("input[name=_save]")
    admin_page.wait_for_url("**/admin/portal/user/")
    local.refresh_from_db()
    assert local.first_name == "Lo"
    record = get_user_model().history.filter(id=local.pk).latest()
    assert record.history_change_reason == "Changed in admin by browser-admin@example.com"
