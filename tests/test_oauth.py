"""OAuth 2.0: Okta's authorization-code dance, client credentials, scopes, expiry, revocation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, get_refresh_token_model

from scim_portal import checks
from scim_portal.models import IdentityProvider, OAuthClient
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

AUTHORIZE = "/scim/v2/oauth/authorize/"
TOKEN = "/scim/v2/oauth/token/"
REVOKE = "/scim/v2/oauth/revoke/"
CALLBACK = "https://system-admin.okta.com/admin/app/cpc/portal_app/oauth/callback"


@pytest.fixture
def okta(make_integration):
    return make_integration(IdentityProvider.OKTA, name="Okta production")


@pytest.fixture
def okta_client(okta):
    return OAuthClient.register(okta, name="Okta", grant_type="authorization-code", redirect_uris=[CALLBACK])


@pytest.fixture
def approver(db):
    user = get_user_model().objects.create_user(email="it-admin@example.com", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_integration"))
    return user


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def authorize_url(client_id: str, **extra: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "state": "okta-state-1"}
    return f"{AUTHORIZE}?{urlencode({**params, **extra})}"


class FormInputs(HTMLParser):
    """The named inputs of the consent form, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.values[attributes["name"]] = attributes.get("value") or ""


def hidden_fields(page) -> dict[str, str]:
    parser = FormInputs()
    parser.feed(page.content.decode())
    return parser.values


def approve(browser: Client, client_id: str, **extra: str) -> str:
    """Consent page then "Allow": returns the authorization code from the redirect."""
    page = browser.get(authorize_url(client_id, **extra))
    assert page.status_code == 200, page.content
    response = browser.post(AUTHORIZE, {**hidden_fields(page), "allow": "Allow"})
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["okta-state-1"]
    return query["code"][0]


def exchange(code: str, client_id: str, secret: str) -> dict:
    response = Client().post(TOKEN, {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                             HTTP_AUTHORIZATION=basic(client_id, secret))
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    return response.json()


def refresh(refresh_token: str, client_id: str, secret: str):
    return Client().post(TOKEN, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                 "client_id": client_id, "client_secret": secret})


def login(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def dance(issued, approver) -> dict:
    code = approve(login(approver), issued.client.client_id)
    return exchange(code, issued.client.client_id, issued.secret)


def test_full_okta_authorization_code_dance(okta_client, approver, okta):
    client_id, secret = okta_client.client.client_id, okta_client.secret
    anonymous = Client().get(authorize_url(client_id))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]

    browser = login(approver)
    page = browser.get(authorize_url(client_id))
    assert "Okta production" in page.content.decode()

    code = approve(browser, client_id)
    tokens = exchange(code, client_id, secret)
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"scim.read", "scim.write"}
    assert tokens["expires_in"] == 3600
    assert ScimClient(tokens["access_token"]).get("ServiceProviderConfig").status_code == 200

    renewed = refresh(tokens["refresh_token"], client_id, secret)
    assert renewed.status_code == 200, renewed.content
    fresh = renewed.json()
    assert fresh["access_token"] != tokens["access_token"]
    assert ScimClient(fresh["access_token"]).get("ServiceProviderConfig").status_code == 200
    assert ScimClient(tokens["access_token"]).get("ServiceProviderConfig").status_code == 401
    assert refresh(tokens["refresh_token"], client_id, secret).status_code == 400  # rotated: single use


def test_access_token_acts_as_the_service_account(okta_client, approver, okta):
    tokens = dance(okta_client, approver)
    response = ScimClient(tokens["access_token"]).get("ServiceProviderConfig")
    assert response.wsgi_request.user == okta.service_account
    assert response.wsgi_request.auth.integration == okta


def test_code_cannot_be_exchanged_twice_or_with_a_wrong_secret(okta_client, approver):
    client_id = okta_client.client.client_id
    code = approve(login(approver), client_id)
    wrong = Client().post(TOKEN, {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                          HTTP_AUTHORIZATION=basic(client_id, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    exchange(code, client_id, okta_client.secret)
    again = Client().post(TOKEN, {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                          HTTP_AUTHORIZATION=basic(client_id, okta_client.secret))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_deny_redirects_with_access_denied(okta_client, approver):
    browser = login(approver)
    page = browser.get(authorize_url(okta_client.client.client_id))
    response = browser.post(AUTHORIZE, hidden_fields(page))
    assert parse_qs(urlparse(response["Location"]).query)["error"] == ["access_denied"]


def test_only_permitted_users_may_approve(okta_client, approver):
    staff = get_user_model().objects.create_user(email="helpdesk@example.com", is_staff=True)
    browser = login(staff)
    page = browser.get(authorize_url(okta_client.client.client_id))
    assert page.status_code == 403
    assert b'name="allow"' not in page.content
    fields = hidden_fields(login(approver).get(authorize_url(okta_client.client.client_id)))
    assert browser.post(AUTHORIZE, {**fields, "allow": "Allow"}).status_code == 403
    assert not get_access_token_model().objects.exists()


def test_tampered_consent_form_is_a_400(okta_client, approver):
    assert login(approver).post(AUTHORIZE, {"allow": "Allow"}).status_code == 400


def test_unregistered_redirect_uri_is_refused_without_redirecting(okta_client, approver):
    page = login(approver).get(authorize_url(okta_client.client.client_id,
                                             redirect_uri="https://evil.example.com/cb"))
    assert page.status_code == 400
    assert "Location" not in page


def test_applications_outside_scim_are_refused(approver, db):
    """A host's own OAuth applications can never obtain a SCIM token here."""
    application_model = get_application_model()
    secret = "host-app-secret"
    app = application_model.objects.create(
        name="host api", client_type="confidential", authorization_grant_type="client-credentials",
        client_secret=secret)
    response = Client().post(TOKEN, {"grant_type": "client_credentials"},
                             HTTP_AUTHORIZATION=basic(app.client_id, secret))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_tokens_of_foreign_applications_do_not_authenticate(approver, db):
    application_model = get_application_model()
    app = application_model.objects.create(name="host api", client_type="confidential",
                                           authorization_grant_type="client-credentials")
    get_access_token_model().objects.create(application=app, token="host-token-123", scope="read write",
                                            expires=timezone.now() + dt.timedelta(hours=1))
    assert ScimClient("host-token-123").get("ServiceProviderConfig").status_code == 401


@pytest.fixture
def generic_client(make_integration):
    integration = make_integration(IdentityProvider.GENERIC)
    return OAuthClient.register(integration, name="script", grant_type="client-credentials", scopes="read")


def client_credentials(issued, **extra: str):
    return Client().post(TOKEN, {"grant_type": "client_credentials", **extra},
                         HTTP_AUTHORIZATION=basic(issued.client.client_id, issued.secret))


def test_client_credentials_for_a_generic_client(generic_client):
    response = client_credentials(generic_client)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["scope"] == "scim.read" and "refresh_token" not in body
    scim = ScimClient(body["access_token"])
    assert scim.get("ServiceProviderConfig").status_code == 200
    assert scim.get("ServiceProviderConfig").wsgi_request.user == generic_client.client.integration.service_account


def test_read_only_token_gets_403_insufficient_scope_on_writes(generic_client):
    scim = ScimClient(client_credentials(generic_client).json()["access_token"])
    response = scim.post("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                   "userName": "nobody@example.com"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert response.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_scopes_beyond_the_clients_grant_are_refused(generic_client):
    response = client_credentials(generic_client, scope="scim.read scim.write")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_read_scope_requested_alone_is_read_only(okta_client, approver):
    code = approve(login(approver), okta_client.client.client_id, scope="scim.read")
    tokens = exchange(code, okta_client.client.client_id, okta_client.secret)
    assert tokens["scope"] == "scim.read"
    assert ScimClient(tokens["access_token"]).delete("Users/anything").status_code == 403


def test_scope_names_follow_settings(settings, generic_client):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "OAUTH_READ_SCOPE": "users:read"}
    body = client_credentials(generic_client).json()
    assert body["scope"] == "users:read"
    assert ScimClient(body["access_token"]).get("ServiceProviderConfig").status_code == 200


def test_expired_access_token_is_401(generic_client):
    access = client_credentials(generic_client).json()["access_token"]
    get_access_token_model().objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    response = ScimClient(access).get("ServiceProviderConfig")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_revoked_client_is_refused_on_the_next_request(okta_client, approver):
    tokens = dance(okta_client, approver)
    scim = ScimClient(tokens["access_token"])
    assert scim.get("ServiceProviderConfig").status_code == 200
    okta_client.client.revoke()
    assert scim.get("ServiceProviderConfig").status_code == 401
    assert refresh(tokens["refresh_token"], okta_client.client.client_id, okta_client.secret).status_code == 401


def test_revocation_endpoint(okta_client, approver):
    tokens = dance(okta_client, approver)
    response = Client().post(REVOKE, {"token": tokens["access_token"]},
                             HTTP_AUTHORIZATION=basic(okta_client.client.client_id, okta_client.secret))
    assert response.status_code == 200
    assert ScimClient(tokens["access_token"]).get("ServiceProviderConfig").status_code == 401


def test_new_secret_replaces_the_old_one(generic_client):
    renewed = generic_client.client.new_secret()
    assert client_credentials(generic_client).status_code == 401
    assert client_credentials(renewed).status_code == 200


def test_disabled_integration_refuses_oauth_then_restores(okta_client, approver, okta):
    tokens = dance(okta_client, approver)
    okta.enabled = False
    okta.save()
    assert ScimClient(tokens["access_token"]).get("ServiceProviderConfig").status_code == 401
    assert refresh(tokens["refresh_token"], okta_client.client.client_id, okta_client.secret).status_code == 401
    assert login(approver).get(authorize_url(okta_client.client.client_id)).status_code == 400
    okta.enabled = True
    okta.save()
    assert ScimClient(tokens["access_token"]).get("ServiceProviderConfig").status_code == 200


def test_pkce_required_by_setting_and_verified(settings, okta_client, approver):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "OAUTH_PKCE_REQUIRED": True}
    client_id, secret = okta_client.client.client_id, okta_client.secret
    refused = login(approver).get(authorize_url(client_id))
    assert refused.status_code == 302 and "error=invalid_request" in refused["Location"]
    assert "code=" not in refused["Location"]

    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = approve(login(approver), client_id, code_challenge=challenge, code_challenge_method="S256")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    wrong = Client().post(TOKEN, {**form, "code_verifier": "w" * 64}, HTTP_AUTHORIZATION=basic(client_id, secret))
    assert wrong.status_code == 400
    code = approve(login(approver), client_id, code_challenge=challenge, code_challenge_method="S256")
    right = Client().post(TOKEN, {**form, "code": code, "code_verifier": verifier},
                          HTTP_AUTHORIZATION=basic(client_id, secret))
    assert right.status_code == 200, right.content


def test_no_secret_is_stored_or_logged(okta_client, approver, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = dance(okta_client, approver)
    renewed = refresh(tokens["refresh_token"], okta_client.client.client_id, okta_client.secret).json()
    secrets_ = [okta_client.secret, tokens["access_token"], tokens["refresh_token"], renewed["access_token"],
                renewed["refresh_token"]]
    assert ScimClient(renewed["access_token"]).get("ServiceProviderConfig").status_code == 200
    dump = database_dump()
    for secret in secrets_:
        assert secret not in dump
        assert secret not in caplog.text
    stored = get_application_model().objects.get(client_id=okta_client.client.client_id).client_secret
    assert stored.startswith(("pbkdf2", "md5", "argon2", "bcrypt", "scrypt"))
    assert get_refresh_token_model().objects.filter(revoked__isnull=True).count() == 1


def database_dump() -> str:
    """Every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_client_secret_shown_once_is_hashed(generic_client):
    application = generic_client.client.application
    application.refresh_from_db()
    assert application.client_secret != generic_client.secret
    assert generic_client.secret not in repr(generic_client)


@override_settings(SCIM_PORTAL={"OAUTH_READ_SCOPE": "scim", "OAUTH_WRITE_SCOPE": "scim"})
def test_e020_scope_names_must_differ():
    assert [m.id for m in checks.check_credentials()] == ["scim_portal.E020"]


@override_settings(OAUTH2_PROVIDER={"REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 60})
def test_w021_refresh_grace_period_conflicts_with_hashed_tokens():
    assert [m.id for m in checks.check_credentials()] == ["scim_portal.W021"]


def test_e023_toolkit_without_the_token_storage_hook(monkeypatch):
    from oauth2_provider.oauth2_validators import OAuth2Validator

    assert checks.check_credentials() == []
    monkeypatch.delattr(OAuth2Validator, "_set_token_value")
    assert [m.id for m in checks.check_credentials()] == ["scim_portal.E023"]
