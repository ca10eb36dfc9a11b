"""meta.created and meta.lastModified of a new resource are the same instant."""

from __future__ import annotations

import pytest

from scim_portal.models import ScimUser

pytestmark = pytest.mark.django_db

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kim@example.com"}


def test_a_new_user_was_last_modified_when_created(scim):
    meta = scim.post("Users", USER).json_body["meta"]
    assert meta["created"] == meta["lastModified"]


def test_an_update_moves_last_modified_and_keeps_created(scim):
    created = scim.post("Users", USER).json_body
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "displayName", "value": "Kim"}]}
    meta = scim.patch(f"Users/{created['id']}", patch).json_body["meta"]
    assert meta["created"] == created["meta"]["created"]
    assert meta["lastModified"] > meta["created"]
    stored = ScimUser.objects.get(scim_id=created["id"])
    assert stored.last_modified > stored.created
