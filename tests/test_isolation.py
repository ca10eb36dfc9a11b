"""Isolation: every credential resolves to exactly one integration and sees only its users and groups.

The matrix runs each kind of credential of integration B (permanent token,
OAuth access token) against the users and groups integration A created
through SCIM: reads, updates, deletes, filters and lists across the boundary
answer only 404s and empty lists, and change nothing.
"""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from scim_portal.models import IdentityProvider, OAuthClient, ScimToken
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def oauth_client_for(integration) -> ScimClient:
    issued = OAuthClient.register(integration, name="robot", grant_type="client-credentials")
    auth = base64.b64encode(f"{issued.client.client_id}:{issued.secret}".encode()).decode()
    response = Client().post("/scim/v2/oauth/token/", {"grant_type": "client_credentials"},
                             HTTP_AUTHORIZATION=f"Basic {auth}")
    return ScimClient(response.json()["access_token"])


def token_client_for(integration) -> ScimClient:
    return ScimClient(ScimToken.issue(integration).raw)


CREDENTIALS = {"token": token_client_for, "oauth": oauth_client_for}


def user_body(name: str) -> dict:
    return {"schemas": [USER_SCHEMA], "userName": name, "externalId": f"ext-{name}",
            "name": {"givenName": "Ann", "familyName": "Example"},
            "emails": [{"value": name, "type": "work", "primary": True}], "active": True}


@pytest.fixture
def tenants(make_integration):
    a = make_integration(IdentityProvider.OKTA, name="Tenant A")
    b = make_integration(IdentityProvider.ENTRA, name="Tenant B")
    return a, b


@pytest.fixture(params=sorted(CREDENTIALS))
def world(request, tenants):
    """Integration A with one user and one group created through SCIM, and B's credential of each kind."""
    a, b = tenants
    scim_a = CREDENTIALS[request.param](a)
    user = scim_a.post("Users", user_body("ann@a.example.com"))
    assert user.status_code == 201, user.json_body
    group = scim_a.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "A engineers",
                                   "members": [{"value": user.json_body["id"]}]})
    assert group.status_code == 201, group.json_body
    return {"a": scim_a, "b": CREDENTIALS[request.param](b), "user": user.json_body, "group": group.json_body}


def test_reads_across_the_boundary_are_404(world):
    b = world["b"]
    for path in (f"Users/{world['user']['id']}", f"Groups/{world['group']['id']}"):
        response = b.get(path)
        assert response.status_code == 404
        assert response.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_filters_and_lists_across_the_boundary_are_empty(world):
    b = world["b"]
    for path in ('Users?filter=userName eq "ann@a.example.com"', 'Users?filter=externalId eq "ext-ann@a.example.com"',
                 "Users", 'Groups?filter=displayName eq "A engineers"', "Groups"):
        response = b.get(path)
        assert response.status_code == 200
        assert response.json_body["totalResults"] == 0 and response.json_body.get("Resources", []) == []
    search = b.post("Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                      "filter": 'userName eq "ann@a.example.com"'})
    assert search.json_body["totalResults"] == 0


def test_writes_across_the_boundary_are_404_and_change_nothing(world):
    b, user_id, group_id = world["b"], world["user"]["id"], world["group"]["id"]
    deactivate = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]}
    rename = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "displayName", "value": "B"}]}
    answers = [
        b.put(f"Users/{user_id}", {**user_body("ann@a.example.com"), "active": False}),
        b.patch(f"Users/{user_id}", deactivate),
        b.delete(f"Users/{user_id}"),
        b.put(f"Groups/{group_id}", {"schemas": [GROUP_SCHEMA], "displayName": "B"}),
        b.patch(f"Groups/{group_id}", rename),
        b.delete(f"Groups/{group_id}"),
    ]
    assert [r.status_code for r in answers] == [404] * 6
    user = world["a"].get(f"Users/{user_id}").json_body
    group = world["a"].get(f"Groups/{group_id}").json_body
    assert user["active"] is True and group["displayName"] == "A engineers"
    assert [m["value"] for m in group["members"]] == [user_id]


def test_b_cannot_add_a_users_to_its_groups(world):
    b = world["b"]
    response = b.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "B team",
                                 "members": [{"value": world["user"]["id"]}]})
    if response.status_code == 201:
        assert response.json_body.get("members", []) == []
    else:
        assert response.status_code in (400, 404)


def test_the_same_username_can_live_in_both_integrations(world):
    """Each integration has its own directory view: B creating the same person is not A's 409."""
    response = world["b"].post("Users", user_body("ann@a.example.com"))
    assert response.status_code in (201, 409)
    assert world["a"].get(f"Users/{world['user']['id']}").status_code == 200


# -- every credential resolves to exactly one integration (no SCIM resources needed)


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_each_credential_resolves_to_its_own_integration(kind, tenants):
    a, b = tenants
    for integration in (a, b):
        response = CREDENTIALS[kind](integration).get("ServiceProviderConfig")
        assert response.status_code == 200
        context = response.wsgi_request.auth
        assert context.integration == integration
        assert context.actor == integration.service_account


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_disabling_one_integration_leaves_the_other_working(kind, tenants):
    a, b = tenants
    scim_a, scim_b = CREDENTIALS[kind](a), CREDENTIALS[kind](b)
    a.enabled = False
    a.save()
    assert scim_a.get("ServiceProviderConfig").status_code == 401
    assert scim_b.get("ServiceProviderConfig").status_code == 200
    a.enabled = True
    a.save()
    assert scim_a.get("ServiceProviderConfig").status_code == 200


def test_one_oauth_client_cannot_revoke_another_ones_token(tenants):
    a, b = tenants
    first = OAuthClient.register(a, name="a", grant_type="client-credentials")
    second = OAuthClient.register(b, name="b", grant_type="client-credentials")
    auth = base64.b64encode(f"{first.client.client_id}:{first.secret}".encode()).decode()
    token = Client().post("/scim/v2/oauth/token/", {"grant_type": "client_credentials"},
                          HTTP_AUTHORIZATION=f"Basic {auth}").json()["access_token"]
    other = base64.b64encode(f"{second.client.client_id}:{second.secret}".encode()).decode()
    revoke = Client().post("/scim/v2/oauth/revoke/", {"token": token}, HTTP_AUTHORIZATION=f"Basic {other}")
    assert revoke.status_code == 200  # RFC 7009: no disclosure, but nothing revoked
    assert ScimClient(token).get("ServiceProviderConfig").status_code == 200
