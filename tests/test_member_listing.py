"""A group's member listing shows the integration's own live members, whoever else the host group holds.

A portal group can hold people the integration does not manage: added in the portal, by
another integration's group rules, or a member the IdP deleted (the default policy keeps
the account and its groups).  The IdP must see only the members it can also read.
"""

from __future__ import annotations

import pytest

from scim_portal.conf import app_settings
from scim_portal.models import IdentityProvider, ScimGroup, ScimUser
from tests.protocol import create_group, create_user

pytestmark = pytest.mark.django_db


def listed(client, group_id: str) -> dict[str, list[str]]:
    """The group's member ids as its GET and the group list answer them."""
    one = client.get(f"Groups/{group_id}").json_body
    page = client.get("Groups").json_body["Resources"]
    (in_page,) = [g for g in page if g["id"] == group_id]
    return {"get": sorted(m["value"] for m in one.get("members", [])),
            "list": sorted(m["value"] for m in in_page.get("members", []))}


def join(scim_user_id: str, group_id: str) -> None:
    """Put a person in the portal group directly, as the portal (not this IdP) would."""
    user = ScimUser.objects.get(scim_id=scim_user_id).user
    group = ScimGroup.objects.get(scim_id=group_id).group
    getattr(user, app_settings.USER_GROUPS_FIELD).add(group)


def test_another_integrations_people_in_the_group_are_not_listed(generic, make_integration, scim_for):
    other = scim_for(make_integration(IdentityProvider.GENERIC))
    mine = create_user(generic, "mine@example.com")["id"]
    theirs = create_user(other, "theirs@example.com")["id"]
    group = create_group(generic, "Shared", members=[mine])["id"]
    join(theirs, group)
    assert listed(generic, group) == {"get": [mine], "list": [mine]}


def test_a_member_the_idp_deleted_is_not_listed(generic):
    kept = create_user(generic, "kept@example.com")["id"]
    gone = create_user(generic, "gone@example.com")["id"]
    group = create_group(generic, "Team", members=[kept, gone])["id"]
    assert generic.delete(f"Users/{gone}").status_code == 204
    still_in = getattr(ScimUser.objects.get(scim_id=gone).user, app_settings.USER_GROUPS_FIELD)
    assert still_in.filter(pk=ScimGroup.objects.get(scim_id=group).group_id).exists()  # the portal keeps it
    assert listed(generic, group) == {"get": [kept], "list": [kept]}
