"""Admin: the integration page's credentials, issuing, rotating, revoking, and who may do it."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from scim_portal.models import IdentityProvider, OAuthClient, ScimToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(db) -> Client:
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser(email="root@example.com", password="pw"))
    return browser


def staff_with(*codenames: str) -> Client:
    user = get_user_model().objects.create_user(email=f"staff-{len(codenames)}@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="scim_portal",
                                                          codename__in=codenames))
    browser = Client()
    browser.force_login(user)
    return browser


def url(name: str, *args) -> str:
    return reverse(f"admin:scim_portal_integration_{name}", args=args)


def everything_stored() -> str:
    with connection.cursor() as cursor:
        rows = []
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.append(repr(cursor.fetchall()))
    return "\n".join(rows)


def shown_secret(response, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]+)<', response.content.decode())
    assert match, response.content.decode()
    return match.group(1)


def test_integration_page_shows_setup_and_credentials(admin_browser, integration):
    issued = ScimToken.issue(integration, description="Okta prod")
    OAuthClient.register(integration, name="Okta OAuth", grant_type="client-credentials")
    page = admin_browser.get(url("change", integration.pk)).content.decode()
    assert "http://testserver/scim/v2/" in page
    assert "SCIM connector base URL" in page and "HTTP Header" in page
    assert '<code class="scim-value">userName</code>' in page
    assert f"{issued.token.prefix}…" in page and "Okta prod" in page and "active" in page
    assert "http://testserver/scim/v2/oauth/token" in page and "Okta OAuth" in page
    assert issued.raw not in page
    assert url("issue_token", integration.pk) in page and url("rotate_token", integration.pk, issued.token.pk) in page


def test_token_times_read_as_people_read_them(admin_browser, integration):
    from django.utils import timezone

    issued = ScimToken.issue(integration, expires_at=timezone.now() + timezone.timedelta(days=30))
    ScimToken.objects.filter(pk=issued.token.pk).update(last_used_at=timezone.now() - timezone.timedelta(minutes=3))
    page = admin_browser.get(url("change", integration.pk)).content.decode()
    assert "3\xa0minutes ago</time>" in page
    assert issued.token.expires_at.strftime("%Y-%m-%d %H:%M UTC") in page
    assert not re.search(r">[^<]*\d\d:\d\d:\d\d\.\d+\+00:00", page)  # no raw datetime shown as text


def test_issue_token_shows_it_once(admin_browser, integration):
    posted = admin_browser.post(url("issue_token", integration.pk),
                                {"description": "Entra", "scopes": ["read", "write"]})
    assert posted.status_code == 302 and "no-store" in posted["Cache-Control"]
    token = ScimToken.objects.get()
    assert token.digest not in posted["Location"]
    response = admin_browser.get(posted["Location"])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = shown_secret(response, "scim-token")
    assert token.matches(raw) and token.description == "Entra" and token.created_by is not None
    assert raw not in admin_browser.get(url("change", integration.pk)).content.decode()
    assert raw not in everything_stored()  # not in the session table either, nor in a message


def test_the_token_page_gives_the_configured_base_url(admin_browser, integration, settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "BASE_URL": "https://portal.example.com/scim/v2"}
    posted = admin_browser.post(url("issue_token", integration.pk), {"scopes": ["read", "write"]})
    page = admin_browser.get(posted["Location"]).content.decode()
    assert '<code id="scim-base-url" class="scim-value">https://portal.example.com/scim/v2/</code>' in page
    assert "testserver" not in page


def test_a_reload_neither_shows_the_token_again_nor_mints_another(admin_browser, integration):
    posted = admin_browser.post(url("issue_token", integration.pk), {"scopes": ["read", "write"]})
    first = admin_browser.get(posted["Location"])
    raw = shown_secret(first, "scim-token")
    again = admin_browser.get(posted["Location"]).content.decode()
    assert raw not in again and "cannot be shown again" in again
    assert ScimToken.objects.count() == 1


def test_the_sealed_secret_is_not_in_clear_between_post_and_get(admin_browser, integration):
    posted = admin_browser.post(url("issue_token", integration.pk), {"scopes": ["read", "write"]})
    stored = everything_stored()  # the session row holds the sealed secret now
    raw = shown_secret(admin_browser.get(posted["Location"]), "scim-token")
    assert raw not in stored and ScimToken.objects.get().matches(raw)


def test_the_redirect_url_alone_shows_nothing_to_another_session(admin_browser, integration):
    posted = admin_browser.post(url("issue_token", integration.pk), {"scopes": ["read", "write"]})
    other = Client()
    other.force_login(get_user_model().objects.create_superuser(email="other@example.com", password="pw"))
    assert "cannot be shown again" in other.get(posted["Location"]).content.decode()
    assert shown_secret(admin_browser.get(posted["Location"]), "scim-token")


def test_issue_token_with_service_account_and_read_scope(admin_browser, integration):
    robot = get_user_model().objects.create_user(email="robot@example.com")
    admin_browser.post(url("issue_token", integration.pk), {"scopes": ["read"], "service_account": robot.email})
    token = ScimToken.objects.get()
    assert token.scopes == "read" and token.service_account == robot
    response = admin_browser.post(url("issue_token", integration.pk), {"scopes": ["read"], "service_account": "x"})
    assert "No user with this username" in response.content.decode()


def test_issuing_beyond_the_limit_is_a_clear_error(admin_browser, integration):
    ScimToken.issue(integration)
    ScimToken.issue(integration)
    response = admin_browser.post(url("issue_token", integration.pk), {"scopes": ["read", "write"]})
    assert "already has 2 active tokens" in response.content.decode()
    assert ScimToken.objects.count() == 2


def test_rotate_from_the_admin(admin_browser, integration):
    old = ScimToken.issue(integration)
    form = admin_browser.get(url("rotate_token", integration.pk, old.token.pk))
    assert 'value="60"' in form.content.decode()  # default grace: TOKEN_ROTATION_GRACE in minutes
    response = admin_browser.post(url("rotate_token", integration.pk, old.token.pk), {"grace_minutes": "0"},
                                  follow=True)
    raw = shown_secret(response, "scim-token")
    old.token.refresh_from_db()
    assert old.token.status == "revoked" and old.token.replaced_by.matches(raw)
    assert f"The old token {old.token.prefix}… stopped working at once." in response.content.decode()


@pytest.mark.parametrize("grace", ["43201", "99999999999999"])
def test_a_grace_beyond_30_days_is_a_form_error(admin_browser, integration, grace):
    old = ScimToken.issue(integration)
    response = admin_browser.post(url("rotate_token", integration.pk, old.token.pk), {"grace_minutes": grace})
    assert response.status_code == 200 and "less than or equal to 43200" in response.content.decode()
    old.token.refresh_from_db()
    assert old.token.status == "active" and ScimToken.objects.count() == 1


def test_rotation_says_until_when_the_old_token_works(admin_browser, integration):
    old = ScimToken.issue(integration)
    response = admin_browser.post(url("rotate_token", integration.pk, old.token.pk), {"grace_minutes": "90"},
                                  follow=True)
    old.token.refresh_from_db()
    end = old.token.expires_at.strftime("%Y-%m-%d %H:%M")
    page = response.content.decode()
    assert f"The old token {old.token.prefix}… keeps working until {end} UTC (in 90 minutes), then stops." in page
    assert "retired" not in page


def test_revoke_from_the_admin(admin_browser, integration):
    issued = ScimToken.issue(integration)
    assert admin_browser.get(url("revoke_token", integration.pk, issued.token.pk)).status_code == 200
    response = admin_browser.post(url("revoke_token", integration.pk, issued.token.pk))
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.is_revoked


def test_register_okta_oauth_client_with_prefilled_redirect_uris(admin_browser, integration):
    form = admin_browser.get(url("add_oauth_client", integration.pk)).content.decode()
    for host in ("okta.com", "okta-emea.com", "oktapreview.com", "trexcloud.com", "okta1.com:1802"):
        assert f"https://system-admin.{host}/admin/app/cpc/{{appName}}/oauth/callback" in form
    initial = re.search(r"<textarea[^>]*>\s*([^<]*)</textarea>", form).group(1)
    missing = admin_browser.post(url("add_oauth_client", integration.pk), {
        "name": "Okta", "grant_type": "authorization-code", "redirect_uris": initial, "scopes": ["read", "write"]})
    assert "Give the Okta app name" in missing.content.decode()
    response = admin_browser.post(url("add_oauth_client", integration.pk), {
        "name": "Okta", "grant_type": "authorization-code", "okta_app_name": "acme_portal",
        "redirect_uris": initial, "scopes": ["read", "write"]}, follow=True)
    secret = shown_secret(response, "client-secret")
    client = OAuthClient.objects.get()
    assert client.application.redirect_uris.split()[0] == \
        "https://system-admin.okta.com/admin/app/cpc/acme_portal/oauth/callback"
    assert len(client.application.redirect_uris.split()) == 5
    assert client.application.client_secret != secret and secret not in everything_stored()
    assert "scim.read scim.write" in response.content.decode()


def test_oauth_help_text_shows_app_name_placeholder_as_text(admin_browser, integration):
    form = admin_browser.get(url("add_oauth_client", integration.pk)).content.decode()
    assert "/admin/app/&lt;appName&gt;/instance/" in form


def test_generic_integration_defaults_to_client_credentials(admin_browser, make_integration):
    generic = make_integration(IdentityProvider.GENERIC)
    form = admin_browser.get(url("add_oauth_client", generic.pk)).content.decode()
    assert 'value="client-credentials" selected' in form


def test_new_secret_and_revoke_oauth_client(admin_browser, integration):
    issued = OAuthClient.register(integration, name="c", grant_type="client-credentials")
    response = admin_browser.post(url("oauth_secret", integration.pk, issued.client.pk), follow=True)
    secret = shown_secret(response, "client-secret")
    assert secret != issued.secret
    assert admin_browser.post(url("revoke_oauth_client", integration.pk, issued.client.pk)).status_code == 302
    issued.client.refresh_from_db()
    assert issued.client.status == "revoked"


@pytest.mark.parametrize("name, args, method", [
    ("issue_token", (), "post"), ("rotate_token", ("token",), "post"), ("revoke_token", ("token",), "post"),
    ("add_oauth_client", (), "get"), ("oauth_secret", ("client",), "post"),
    ("revoke_oauth_client", ("client",), "post"),
])
def test_staff_without_credential_permissions_are_denied(integration, name, args, method):
    token = ScimToken.issue(integration).token
    client = OAuthClient.register(integration, name="c", grant_type="client-credentials").client
    objects = {"token": token.pk, "client": client.pk}
    browser = staff_with("view_integration", "change_integration")
    response = getattr(browser, method)(url(name, integration.pk, *[objects[a] for a in args]))
    assert response.status_code == 403
    token.refresh_from_db()
    client.refresh_from_db()
    assert token.status == "active" and client.status == "active" and ScimToken.objects.count() == 1


def test_credentials_are_hidden_without_view_permission(integration):
    issued = ScimToken.issue(integration)
    page = staff_with("view_integration").get(url("change", integration.pk)).content.decode()
    assert "SCIM connector base URL" in page
    assert issued.token.prefix not in page and "Permanent tokens" not in page


def test_token_permissions_are_enough_for_tokens(integration):
    browser = staff_with("view_integration", "view_scimtoken", "add_scimtoken", "change_scimtoken")
    issued = ScimToken.issue(integration)
    page = browser.get(url("change", integration.pk)).content.decode()
    assert issued.token.prefix in page and "OAuth clients" not in page
    assert browser.post(url("issue_token", integration.pk), {"scopes": ["read"]}, follow=True).status_code == 200
    assert browser.get(url("add_oauth_client", integration.pk)).status_code == 403


def test_token_and_client_changelists(admin_browser, integration):
    ScimToken.issue(integration)
    OAuthClient.register(integration, name="c", grant_type="client-credentials")
    assert admin_browser.get(reverse("admin:scim_portal_scimtoken_changelist")).status_code == 200
    assert admin_browser.get(reverse("admin:scim_portal_oauthclient_changelist")).status_code == 200


def test_a_page_shows_its_own_viewer_s_credentials_while_another_page_renders(admin_browser, integration,
                                                                              monkeypatch):
    """The admin object is shared by every request a worker serves: another admin's page, rendered while
    this one is (a second thread), must not change what this page shows."""
    from scim_portal import admin_setup

    issued = ScimToken.issue(integration, description="Okta prod")
    other = staff_with("view_integration")
    real_guide_for = admin_setup.guide_for
    interleaved: list[int] = []

    def guide_for_then_another_page(*args, **kwargs):
        if not interleaved:  # the first section of this page; then the other admin's page, start to end
            interleaved.append(0)
            interleaved[0] = other.get(url("change", integration.pk)).status_code
        return real_guide_for(*args, **kwargs)

    monkeypatch.setattr(admin_setup, "guide_for", guide_for_then_another_page)
    page = admin_browser.get(url("change", integration.pk)).content.decode()
    assert interleaved == [200]
    assert issued.token.prefix in page and "Permanent tokens" in page and "Run a self-check" in page
