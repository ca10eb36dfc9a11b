"""A portal group named like an IdP group: 409 that says what to do, or adoption when the integration allows it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from scim_portal.models import IdentityProvider, ScimGroup, ScimUser

pytestmark = pytest.mark.django_db

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def group_body(name: str, *member_ids: str) -> dict:
    return {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in member_ids]}


def user_id(scim, user_name: str) -> str:
    response = scim.post("Users", {"schemas": [USER], "userName": user_name, "name": {"givenName": "A",
                                   "familyName": "B"}, "emails": [{"value": user_name, "primary": True}]})
    assert response.status_code == 201, response.json_body
    return response.json_body["id"]


def found(scim, name: str) -> list:
    return scim.get(f'Groups?filter=displayName eq "{name}"').json_body["Resources"]


@pytest.fixture
def engineering(db) -> Group:
    group = Group.objects.create(name="Engineering")
    group.user_set.add(get_user_model().objects.create_user(email="local@example.com"))
    return group


def test_without_adoption_the_409_says_what_to_do(engineering, make_integration, scim_for):
    scim = scim_for(make_integration(IdentityProvider.OKTA))
    response = scim.post("Groups", group_body("Engineering"))
    assert response.status_code == 409
    assert response.json_body["scimType"] == "uniqueness"
    detail = response.json_body["detail"]
    assert "no integration manages it" in detail and "adopt_existing_groups" in detail
    assert not ScimGroup.objects.exists()
    assert found(scim, "Engineering") == []


def test_with_adoption_the_portal_group_is_taken_over(engineering, make_integration, scim_for):
    scim = scim_for(make_integration(IdentityProvider.OKTA, adopt_existing_groups=True))
    alice = user_id(scim, "alice@example.com")
    response = scim.post("Groups", group_body("Engineering", alice))
    assert response.status_code == 201, response.json_body
    scim_group = ScimGroup.objects.get(scim_id=response.json_body["id"])
    assert scim_group.group_id == engineering.pk  # the same group, not a second one
    members = set(engineering.user_set.values_list("email", flat=True))
    assert members == {"local@example.com", "alice@example.com"}  # the portal's own member stays
    assert [g["id"] for g in found(scim, "Engineering")] == [response.json_body["id"]]
    assert [m["value"] for m in scim.get(f"Groups/{scim_group.scim_id}").json_body["members"]] == [alice]
    assert Group.objects.count() == 1


def test_adoption_never_takes_a_group_another_integration_manages(make_integration, scim_for):
    a = scim_for(make_integration(IdentityProvider.OKTA))
    b = scim_for(make_integration(IdentityProvider.ENTRA, adopt_existing_groups=True))
    a_member = user_id(a, "alice@example.com")
    created = a.post("Groups", group_body("Engineering", a_member)).json_body
    response = b.post("Groups", group_body("Engineering", user_id(b, "bob@example.com")))
    assert response.status_code == 409
    assert "belongs to another integration" in response.json_body["detail"]
    scim_group = ScimGroup.objects.get()
    assert str(scim_group.scim_id) == created["id"] and scim_group.integration.provider == "okta"
    user = ScimUser.objects.get(scim_id=a_member).user
    assert list(scim_group.group.user_set.all()) == [user]  # A's group is untouched
    assert found(b, "Engineering") == []


def test_the_same_integration_creating_its_group_again_gets_the_plain_409(make_integration, scim_for):
    scim = scim_for(make_integration(IdentityProvider.OKTA, adopt_existing_groups=True))
    assert scim.post("Groups", group_body("Engineering")).status_code == 201
    response = scim.post("Groups", group_body("Engineering"))
    assert response.status_code == 409
    assert response.json_body["detail"] == "A group named Engineering already exists."


def test_adoption_never_takes_another_integration_s_default_group(engineering, make_integration, scim_for):
    """B's IdP could rename or delete a group it adopted: A would lose the group its new accounts join."""
    a = make_integration(IdentityProvider.OKTA)
    a.default_groups.add(engineering)
    b = scim_for(make_integration(IdentityProvider.ENTRA, adopt_existing_groups=True))
    response = b.post("Groups", group_body("Engineering"))
    assert response.status_code == 409 and response.json_body["scimType"] == "uniqueness"
    assert "default group of another integration" in response.json_body["detail"]
    assert not ScimGroup.objects.exists() and list(a.default_groups.all()) == [engineering]


def test_adoption_takes_the_integration_s_own_default_group(engineering, make_integration, scim_for):
    integration = make_integration(IdentityProvider.OKTA, adopt_existing_groups=True)
    integration.default_groups.add(engineering)
    response = scim_for(integration).post("Groups", group_body("Engineering"))
    assert response.status_code == 201, response.json_body
    assert ScimGroup.objects.get().group_id == engineering.pk
