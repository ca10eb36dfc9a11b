"""The SCIM API over real HTTP through a portal's full middleware stack (the example portal's, and
a stock host's in tests/hosts/stock: sessions, CSRF, auth, simple-history's request middleware):
authentication, the user lifecycle Okta and Entra ID drive, group membership, and error bodies
and content types as a client receives them, bytes on the wire included.

Django's test client hides what only a real server and client show (CSRF checks, header
spelling, chunked bodies, content negotiation by the real Accept header); this suite is
there so that those cannot hide again.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from scim_portal.models import IdentityProvider, ScimToken
from tests.live.http import SCIM_JSON, scim

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def api(live_server, token):
    with scim(live_server.url, token) as client:
        yield client


def user_body(user_name: str, **extra):
    return {"schemas": [USER], "userName": user_name, "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": user_name, "type": "work", "primary": True}], "active": True, **extra}


def assert_scim_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert body.get("detail")
    if scim_type:
        assert body["scimType"] == scim_type
    return body


# -- authentication ----------------------------------------------------------------------------

def test_missing_bad_and_revoked_tokens_are_401_scim_errors(live_server, integration):
    issued = ScimToken.issue(integration)
    with scim(live_server.url, None) as anonymous, scim(live_server.url, "scim_not-a-token") as wrong, \
            scim(live_server.url, issued.raw) as good:
        for client in (anonymous, wrong):
            response = client.get("Users")
            assert_scim_error(response, 401)
            assert response.headers["www-authenticate"].startswith('Bearer realm="SCIM"')
        assert good.get("Users").status_code == 200
        issued.token.revoke()
        assert_scim_error(good.get("Users"), 401)


def test_okta_bare_authorization_header(live_server, token):
    """Okta's "HTTP Header" mode sends the token without the Bearer word."""
    with scim(live_server.url, None) as client:
        assert client.get("Users", headers={"Authorization": token}).status_code == 200


# -- the lifecycle ---------------------------------------------------------------------------

def test_create_patch_deactivate_and_delete_a_user(api):
    created = api.post("Users", json=user_body("ada@example.com", externalId="00u1"))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_JSON)
    user = created.json()
    assert created.headers["location"] == user["meta"]["location"]
    assert created.headers["etag"] == user["meta"]["version"]
    assert api.get(user["meta"]["location"]).json()["userName"] == "ada@example.com"

    patched = api.patch(f"Users/{user['id']}", json={"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"name": {"givenName": "Augusta", "familyName": "King"}}}]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"]["givenName"] == "Augusta"
    account = get_user_model().objects.get(email="ada@example.com")
    assert (account.first_name, account.last_name) == ("Augusta", "King")

    deactivated = api.patch(f"Users/{user['id']}", json={"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    account.refresh_from_db()
    assert account.is_active is False

    found = api.get("Users", params={"filter": 'userName eq "ADA@example.com"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user["id"]

    deleted = api.delete(f"Users/{user['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_scim_error(api.get(f"Users/{user['id']}"), 404)


def test_duplicate_user_is_409_uniqueness(api):
    assert api.post("Users", json=user_body("dup@example.com")).status_code == 201
    assert_scim_error(api.post("Users", json=user_body("DUP@example.com")), 409, "uniqueness")
    assert get_user_model().objects.filter(email__iexact="dup@example.com").count() == 1


def test_group_push_and_membership(api):
    ada = api.post("Users", json=user_body("ada@example.com")).json()
    bob = api.post("Users", json=user_body("bob@example.com")).json()
    created = api.post("Groups", json={"schemas": [GROUP], "displayName": "Engineering",
                                       "members": [{"value": ada["id"]}]})
    assert created.status_code == 201, created.text
    group = created.json()
    members = {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
        {"op": "remove", "path": f'members[value eq "{ada["id"]}"]'}]}
    response = api.patch(f"Groups/{group['id']}", json=members)
    assert response.status_code in (200, 204), response.text
    names = set(get_user_model().objects.filter(groups__name="Engineering").values_list("email", flat=True))
    assert names == {"bob@example.com"}
    listed = api.get(f"Groups/{group['id']}").json()
    assert [m["value"] for m in listed["members"]] == [bob["id"]]


def test_plain_json_content_type_is_accepted(api):
    """Some clients send application/json; RFC 7644 3.1 allows it."""
    response = api.post("Users", json=user_body("json@example.com"), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


# -- errors as a client sees them ---------------------------------------------------------------

def test_malformed_json_is_400_invalid_syntax_and_changes_nothing(api):
    assert_scim_error(api.post("Users", content=b'{"userName": '), 400, "invalidSyntax")
    assert not get_user_model().objects.filter(scim_identity__isnull=False).exists()


def test_missing_user_name_is_400(api):
    body = user_body("x@example.com")
    del body["userName"]
    assert_scim_error(api.post("Users", json=body), 400)


def test_unknown_ids_paths_and_methods(api):
    assert_scim_error(api.get("Users/00000000-0000-0000-0000-000000000000"), 404)
    assert_scim_error(api.get("NoSuchEndpoint"), 404)
    assert_scim_error(api.put("Users", json=user_body("m@example.com")), 405)


def test_bad_filter_is_400_invalid_filter(api):
    assert_scim_error(api.get("Users", params={"filter": 'userName eq "unterminated'}), 400, "invalidFilter")


def test_discovery_over_http(api):
    response = api.get("ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    assert response.json()["patch"]["supported"] is True


def test_entra_probe_with_a_random_user_name_is_an_empty_list(live_server, make_integration, scim_for):
    entra = make_integration(IdentityProvider.ENTRA)
    with scim(live_server.url, ScimToken.issue(entra).raw) as client:
        response = client.get("Users", params={"filter": 'userName eq "6f3c1a07-probe@example.com"'})
    assert response.status_code == 200
    assert response.json()["totalResults"] == 0
