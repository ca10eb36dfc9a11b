"""Okta's OAuth2 mode over real HTTP, through a portal's full middleware stack (the example
portal's, and a stock host's in tests/hosts/stock; ``CsrfViewMiddleware`` on): the consent page
keeps its CSRF protection, the token and revocation endpoints (called server to server, without
cookies) do not need it.

Django's test client skips CSRF checks, which is how the token endpoint once answered
403 "CSRF verification failed" to every real client without a test noticing.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.shortcuts import resolve_url

from scim_portal.models import IdentityProvider, OAuthClient
from tests.conftest import make_host_user
from tests.live.http import client, hidden_inputs, log_in, scim

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

AUTHORIZE = "/scim/v2/oauth/authorize/"
TOKEN = "/scim/v2/oauth/token/"
REVOKE = "/scim/v2/oauth/revoke/"
CALLBACK = "https://system-admin.okta.com/admin/app/cpc/portal_app/oauth/callback"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def okta(make_integration):
    integration = make_integration(IdentityProvider.OKTA, name="Okta production")
    issued = OAuthClient.register(integration, name="Okta", grant_type="authorization-code",
                                  redirect_uris=[CALLBACK])
    return issued.client.client_id, issued.secret


@pytest.fixture
def admin(db):
    user = make_host_user("it-admin@example.com", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_integration"))
    return user


@pytest.fixture
def browser(live_server, admin):
    """A logged-in admin's browser: session and CSRF cookies from the real login form."""
    with client(live_server.url) as http:
        log_in(http, admin.get_username(), PASSWORD, next_url="/admin/")
        yield http


def authorize_query(client_id: str) -> str:
    return urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
                      "state": "okta-state-1"})


def approve(browser, client_id: str) -> str:
    """The consent page, then "Allow" with the page's CSRF token: the code from the redirect."""
    page = browser.get(f"{AUTHORIZE}?{authorize_query(client_id)}")
    assert page.status_code == 200, page.text
    assert "Okta production" in page.text
    fields = hidden_inputs(page.text)
    assert fields.get("csrfmiddlewaretoken")
    response = browser.post(AUTHORIZE, data={**fields, "allow": "Allow"})
    assert response.status_code == 302, response.text
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["okta-state-1"]
    return query["code"][0]


def test_csrf_middleware_is_on_in_the_portal_under_test():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


def test_okta_authorization_code_refresh_and_revoke(live_server, browser, okta):
    client_id, secret = okta
    code = approve(browser, client_id)
    with client(live_server.url, auth=(client_id, secret)) as okta_server:  # client_secret_basic, no cookies
        exchanged = okta_server.post(TOKEN, data={"grant_type": "authorization_code", "code": code,
                                                  "redirect_uri": CALLBACK})
        assert exchanged.status_code == 200, exchanged.text
        assert exchanged.headers["cache-control"] == "no-store"
        tokens = exchanged.json()
        assert set(tokens["scope"].split()) == {"scim.read", "scim.write"}
        with scim(live_server.url, tokens["access_token"]) as api:
            assert api.get("Users").status_code == 200

        renewed = okta_server.post(TOKEN, data={"grant_type": "refresh_token",
                                                "refresh_token": tokens["refresh_token"]})
        assert renewed.status_code == 200, renewed.text
        fresh = renewed.json()
        with scim(live_server.url, tokens["access_token"]) as old, scim(live_server.url, fresh["access_token"]) as new:
            assert old.get("Users").status_code == 401
            assert new.get("Users").status_code == 200
            revoked = okta_server.post(REVOKE, data={"token": fresh["access_token"]})
            assert revoked.status_code == 200, revoked.text
            assert new.get("Users").status_code == 401


def test_client_credentials_over_http(live_server, make_integration):
    issued = OAuthClient.register(make_integration(IdentityProvider.GENERIC), name="script",
                                  grant_type="client-credentials")
    with client(live_server.url, auth=(issued.client.client_id, issued.secret)) as script:
        response = script.post(TOKEN, data={"grant_type": "client_credentials"})
        assert response.status_code == 200, response.text
        access = response.json()["access_token"]
        with scim(live_server.url, access) as api:
            created = api.post("Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                              "userName": "script-made@example.com"})
            assert created.status_code == 201, created.text
            assert script.post(REVOKE, data={"token": access}).status_code == 200
            assert api.get("Users").status_code == 401


def test_consent_without_the_csrf_token_is_refused(live_server, browser, okta):
    client_id, _ = okta
    page = browser.get(f"{AUTHORIZE}?{authorize_query(client_id)}")
    fields = {k: v for k, v in hidden_inputs(page.text).items() if k != "csrfmiddlewaretoken"}
    response = browser.post(AUTHORIZE, data={**fields, "allow": "Allow"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert "location" not in response.headers


def test_consent_needs_a_login(live_server, okta):
    client_id, _ = okta
    with client(live_server.url) as anonymous:
        response = anonymous.get(f"{AUTHORIZE}?{authorize_query(client_id)}")
    assert response.status_code == 302
    assert urlparse(response.headers["location"]).path == resolve_url(settings.LOGIN_URL)  # the host's login page


def test_wrong_secret_is_invalid_client_not_a_csrf_page(live_server, okta):
    client_id, _ = okta
    with client(live_server.url, auth=(client_id, "not-the-secret")) as okta_server:
        response = okta_server.post(TOKEN, data={"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_introspection_is_not_mounted(live_server, integration, token):
    """RFC 7662 introspection serves third-party resource servers; the SCIM API reads tokens itself."""
    with scim(live_server.url, token) as api:
        response = api.post("oauth/introspect/", content=urlencode({"token": token}),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 404
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
