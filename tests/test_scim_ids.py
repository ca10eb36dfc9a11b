"""SCIM ids are text: ours are UUIDs, ids kept from another service provider (django-scim2's
``"42"``) work the same way, and migration 0008 keeps every existing id."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from scim_portal.models import ScimGroup, ScimUser
from scim_portal.resources import parse_scim_id
from tests.protocol import USER, patch_body

BEFORE, AFTER = ("scim_portal", "0007_drop_full_page_indexes"), ("scim_portal", "0008_scim_ids_as_text")


def migrate(target: tuple[str, str]):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_the_ids_clients_know():
    old = migrate(BEFORE)
    try:
        account = old.get_model(*get_user_model()._meta.label.split(".")).objects.create(email="kept@example.com")
        integration = old.get_model("scim_portal", "Integration").objects.create(
            name="Okta", slug="okta", provider="okta", service_account=account)
        issued = uuid.uuid4()
        old.get_model("scim_portal", "ScimUser").objects.create(
            scim_id=issued, integration=integration, user=account, user_name="kept@example.com",
            user_name_key="kept@example.com")
        migrate(AFTER)
    finally:
        latest()  # every later migration again, so the tests after this one see the whole schema
    assert ScimUser.objects.get().scim_id == str(issued)


def latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_parse_scim_id():
    issued = uuid.uuid4()
    assert parse_scim_id(str(issued).upper()) == str(issued)
    assert parse_scim_id(issued.hex) == str(issued)
    assert parse_scim_id("42") == "42"
    assert parse_scim_id("") is None and parse_scim_id("x" * 255) is None and parse_scim_id(None) is None
    assert parse_scim_id("4\x002") is None


@pytest.mark.django_db
@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_an_id_with_a_nul_character_is_not_found_on_every_database(scim, resource):
    """PostgreSQL refuses NUL in a query parameter: such an id (``%00`` in the path, or a
    member value) is one no resource has, never a database error."""
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "value": {"active": False}}]}
    for response in (scim.get(f"{resource}/a%00b"), scim.patch(f"{resource}/a%00b", patch),
                     scim.delete(f"{resource}/a%00b")):
        assert response.status_code == 404, response.json_body
        assert response.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    group = scim.post("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"})
    add = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "add", "path": "members", "value": [{"value": "a\u0000b"}]}]}
    response = scim.patch(f"Groups/{group.json_body['id']}", add)
    assert response.status_code < 500, response.json_body


@pytest.fixture
def kept(integration):
    """A user and a group whose ids came from django-scim2 (primary keys as text)."""
    from django.contrib.auth.models import Group

    account = get_user_model().objects.create_user(email="kept@example.com")
    user = ScimUser.objects.create(scim_id="42", integration=integration, user=account, user_name="kept@example.com",
                                   email_key="kept@example.com")
    group = ScimGroup.objects.create(scim_id="7", integration=integration, group=Group.objects.create(name="Team"),
                                     display_name="Team")
    return user, group


@pytest.mark.django_db
def test_kept_ids_are_read_patched_filtered_and_members(scim, kept):
    assert scim.get("Users/42").json_body["id"] == "42"
    assert scim.get('Users?filter=id eq "42"').json_body["totalResults"] == 1
    response = scim.patch("Users/42", patch_body({"op": "replace", "path": "name.givenName", "value": "Kept"}))
    assert response.status_code == 200, response.json_body
    added = scim.patch("Groups/7", patch_body({"op": "add", "path": "members", "value": [{"value": "42"}]}))
    assert added.status_code in (200, 204), added.json_body
    assert [m["value"] for m in scim.get("Groups/7").json_body["members"]] == ["42"]
    assert scim.get("Users/43").status_code == 404


@pytest.mark.django_db
def test_new_resources_still_get_uuids(scim):
    created = scim.post("Users", {"schemas": [USER], "userName": "new@example.com"}).json_body
    assert str(uuid.UUID(created["id"])) == created["id"]
    assert scim.get(f"Users/{created['id'].upper()}").status_code == 200
